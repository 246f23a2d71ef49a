"""A WattCarbon sync sends its interval and bill files ``upload_concurrency`` at a time, over real HTTP.

What is checked is what the sandbox saw (its request log: when each call started and how long it
took), never a time measured here: calls overlap at the sandbox; a 429 holds every upload back
until its Retry-After, not only the call that met it; a token expired mid-sync is renewed once
for all the threads; and the sandbox ends up holding exactly what a sync sending one file at a
time gives it.
"""

from datetime import UTC, datetime, timedelta

import pytest

from portfolio.models import BillReading, IntervalReading
from tests.factories import MeterFactory
from tests.uploads.accounts import make_account
from tests.uploads.integrations import make_portfolio
from uploads.models import Attempt, AttemptOutcome, SyncStatus, WattCarbonAccount, WattCarbonMeterLink
from uploads.wattcarbon.service import run_sync

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quick_retries")]

WC = "wattcarbon"
METERS = 8
HOURS = 24
START = datetime(2025, 5, 1, tzinfo=UTC)


@pytest.fixture
def account(sandbox):
    portfolio = make_portfolio("at-once")
    for number in range(METERS):
        meter = MeterFactory(portfolio=portfolio, name=f"Meter {number}")
        IntervalReading.objects.bulk_create(
            IntervalReading(
                meter=meter,
                start=START + timedelta(hours=hour),
                end=START + timedelta(hours=hour + 1),
                quantity=number + hour / 8,
            )
            for hour in range(HOURS)
        )
        if number % 3 == 0:
            BillReading.objects.create(
                meter=meter, start_date=START.date(), end_date=START.date() + timedelta(days=30), quantity=100 + number
            )
    return make_account(base_url=sandbox.url, portfolio=portfolio, upload_concurrency=4)


def synced(account):
    run = run_sync(WattCarbonAccount.objects.get(pk=account.pk))
    assert run.status == SyncStatus.SYNCED, f"{run.status}: {run.error}\n{run.log}"
    return run


def uploads(sandbox):
    """The upload calls the sandbox logged, each with its start and end (datetimes)."""
    calls = []
    for call in sandbox.calls(service=WC):
        if call["operation"] in ("upload_intervals", "upload_bills"):
            started = datetime.fromisoformat(call["time"].replace("Z", "+00:00"))
            calls.append({**call, "start": started, "end": started + timedelta(milliseconds=call["duration_ms"])})
    return calls


def most_at_once(calls):
    """The largest number of calls the sandbox was handling at the same moment."""
    edges = sorted([(call["start"], 1) for call in calls] + [(call["end"], -1) for call in calls])
    busy = most = 0
    for _, step in edges:
        busy += step
        most = max(most, busy)
    return most


def held_by_sandbox(sandbox, account):
    """What the sandbox holds, by meter name: its intervals and bills."""
    held = {}
    for link in WattCarbonMeterLink.objects.filter(account=account).select_related("meter"):
        held[link.meter.name] = (sandbox.wattcarbon_intervals(link.remote_id), sandbox.wattcarbon_bills(link.remote_id))
    return held


def test_files_go_up_at_once_and_the_sandbox_holds_what_one_at_a_time_gives(sandbox, account):
    # The first four uploads each take half a second at the sandbox: sent at once, they overlap there.
    sandbox.fault("upload_intervals", "delay", service=WC, times=4, seconds=0.5)
    run = synced(account)
    assert run.interval_rows == METERS * HOURS
    assert run.bill_rows == 3
    assert most_at_once(uploads(sandbox)) == 4
    at_once = held_by_sandbox(sandbox, account)
    assert len(at_once) == METERS and all(len(intervals) == HOURS for intervals, _ in at_once.values())

    # The same portfolio on an empty WattCarbon, one file at a time.
    sandbox.reset()
    WattCarbonMeterLink.objects.filter(account=account).delete()
    WattCarbonAccount.objects.filter(pk=account.pk).update(upload_concurrency=1, access_token_expires_at=None)
    sandbox.fault("upload_intervals", "delay", service=WC, times=4, seconds=0.5)
    synced(account)
    assert most_at_once(uploads(sandbox)) == 1
    assert held_by_sandbox(sandbox, account) == at_once


def test_a_429_holds_every_upload_back_until_its_retry_after(sandbox, account):
    sandbox.fault("upload_intervals", service=WC, status=429, retry_after=1, after=2)
    run = synced(account)
    assert run.interval_rows == METERS * HOURS

    calls = uploads(sandbox)
    [refused] = [call for call in calls if call["status"] == 429]
    after = [call for call in calls if call["start"] > refused["start"]]
    # Calls already on their way when the 429 came back reach the sandbox at once; every later one
    # waited for the Retry-After, the other meters' as well as the retry of the refused one.
    in_flight = refused["end"] + timedelta(seconds=0.25)
    released = refused["end"] + timedelta(seconds=1)
    assert all(call["start"] <= in_flight or call["start"] >= released for call in after), [
        (call["start"], call["operation"]) for call in after
    ]
    held = [call for call in after if call["start"] >= released]
    assert len({call["path"] for call in held}) >= 4  # the refused meter's retry and at least three others
    retried = Attempt.objects.get(sync_run=run, status_code=429)
    assert retried.outcome == AttemptOutcome.RETRY
    assert retried.retry_in_seconds == 1
    assert run.write_calls == len(sandbox.write_calls()) - 1  # the 429 is a failed write call
    assert run.failed_write_calls == 1


def test_a_token_expired_mid_sync_is_renewed_once_for_every_thread(sandbox, account):
    synced(account)  # meters created, files sent, a token cached
    expired = WattCarbonAccount.objects.get(pk=account.pk).access_token.reveal()
    IntervalReading.objects.filter(meter__portfolio=account.portfolio).update(ingested_at=datetime.now(UTC))
    sandbox.clear_faults()
    sandbox.expire_tokens()
    calls_before = len(sandbox.calls(service=WC))

    run = synced(account)
    calls = sandbox.calls(service=WC)[calls_before:]
    assert [call["operation"] for call in calls].count("token") == 1
    assert sum(1 for call in calls if call["status"] == 401) >= 1
    assert run.interval_rows == METERS * HOURS
    # Renewed in a pool thread, saved by the sync's: the next sync starts with it.
    assert WattCarbonAccount.objects.get(pk=account.pk).access_token.reveal() != expired


def test_a_file_refused_is_its_meters_problem_while_the_others_go_up(sandbox, account):
    sandbox.fault("upload_intervals", service=WC, status=422, after=1)
    run = run_sync(account)
    assert run.status == SyncStatus.PARTIAL, run.log
    links = WattCarbonMeterLink.objects.filter(account=account)
    refused = [link for link in links if link.error]
    assert len(refused) == 1 and refused[0].intervals_through_at is None
    assert all(link.intervals_through_at is not None for link in links if not link.error)
    assert run.interval_rows == (METERS - 1) * HOURS
