"""Honest status: a run says what it left for later, and one follow-up run sends it once it is due.

Real database, real HTTP to the sandbox on 127.0.0.1, the django-q2 task functions the schedules
call. Time moves by settings (no safety lag) or by ``now=``, never by sleeping.
"""

import ast
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django.utils.html import escape
from django.utils.module_loading import import_string
from django_q.models import Schedule

from portfolio.choices import EquipmentType, SensorType
from portfolio.models import ImportRecord, IntervalReading, Observation, Sensor
from tests.factories import EquipmentFactory, MeterFactory, SensorFactory
from tests.uploads.accounts import make_account
from tests.uploads.admin_helpers import page_text, url
from uploads import tasks
from uploads.models import RaptorMapsIntegration, RunStatus, SyncStatus, UploadRun
from uploads.raptormaps.service import run_upload
from uploads.runs.schedules import (
    RAPTORMAPS_TASK,
    WATTCARBON_TASK,
    raptormaps_follow_up_name,
    raptormaps_schedule_name,
    wattcarbon_follow_up_name,
    wattcarbon_schedule_name,
)
from uploads.wattcarbon.service import run_sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries")]

LAG = 60


@pytest.fixture
def lag(settings):
    settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS = LAG
    return settings


def said(moment):
    """A time as the runs write when something is due: to the second, rounded up, with its zone."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def regular_run_in(name, delta):
    """Move the regular schedule (made when the integration or account was saved) ``delta`` from now."""
    assert Schedule.objects.filter(name=name).update(next_run=timezone.now() + delta) == 1


def follow_ups(task):
    return list(Schedule.objects.filter(func=task, schedule_type=Schedule.ONCE))


def fire(schedule):
    """What django-q2 does when the schedule is due: call its function with its arguments."""
    return import_string(schedule.func)(*ast.literal_eval(schedule.args))


def fresh_observations(integration, count, ingested_at):
    sensor = Sensor.objects.get(equipment__farm__in=integration.covered_farms(), sensor_type="ac_power")
    start = datetime(2024, 6, 1, 14, tzinfo=UTC)
    Observation.objects.bulk_create(
        Observation(
            sensor=sensor, observed_at=start + timedelta(minutes=5 * n), value=2000.0 + n, ingested_at=ingested_at
        )
        for n in range(count)
    )


# -- Raptor Maps ------------------------------------------------------------------------------------------


def test_readings_inside_the_safety_lag_are_said_and_sent_by_one_follow_up(integration, sandbox, sync_worker, lag):
    regular_run_in(raptormaps_schedule_name(integration.pk), timedelta(hours=1))
    older = Observation.objects.count()
    fresh_at = timezone.now() - timedelta(seconds=10)
    fresh_observations(integration, 12, fresh_at)

    tasks.upload_raptormaps(integration.pk)
    run = UploadRun.objects.latest("pk")

    assert run.status == RunStatus.UPLOADED, run.error
    assert run.readings == older  # the older data went
    due = fresh_at + timedelta(seconds=LAG)
    assert f"12 readings wait for the 60 s safety lag, until {said(due)}" in run.waiting
    assert run.waiting.startswith(f"Sent up to {run.window_end:%Y-%m-%d %H:%M:%S} UTC; ")
    assert run.waiting in run.log
    [follow_up] = follow_ups(RAPTORMAPS_TASK)
    assert follow_up.name == raptormaps_follow_up_name(integration.pk)
    assert follow_up.next_run == due + timedelta(seconds=5)
    assert f"A follow-up run is scheduled for {said(follow_up.next_run)}." in run.waiting
    assert (follow_up.args, follow_up.repeats) == (f"({integration.pk},)", -1)

    # Another run meanwhile leaves the same one follow-up, not a second.
    again = run_upload(integration)
    assert again.status == RunStatus.NOTHING
    assert "12 readings wait" in again.waiting
    assert [schedule.pk for schedule in follow_ups(RAPTORMAPS_TASK)] == [follow_up.pk]

    # Time passes: the follow-up sends them, and leaves nothing behind.
    lag.UPLOADS_INGEST_SAFETY_LAG_SECONDS = 0
    fire(follow_up)
    last = UploadRun.objects.latest("pk")
    assert last.status == RunStatus.UPLOADED, last.error
    assert last.readings == 12
    assert last.waiting == ""
    assert follow_ups(RAPTORMAPS_TASK) == []


def test_no_follow_up_when_the_regular_run_comes_first(integration, sandbox, sync_worker, lag):
    regular_run_in(raptormaps_schedule_name(integration.pk), timedelta(seconds=20))
    fresh_observations(integration, 3, timezone.now() - timedelta(seconds=10))

    run = run_upload(integration)

    assert run.status == RunStatus.UPLOADED, run.error
    next_run = Schedule.objects.get(name=raptormaps_schedule_name(integration.pk)).next_run
    assert run.waiting.endswith(f"The next scheduled run, at {said(next_run)}, sends them.")
    assert follow_ups(RAPTORMAPS_TASK) == []


def test_readings_held_by_a_running_import_wait_for_it_without_a_follow_up(integration, sandbox, sync_worker, lag):
    started = timezone.now() - timedelta(minutes=5)
    ImportRecord.objects.create(
        kind=ImportRecord.Kind.READINGS,
        target="readings",
        source=ImportRecord.Source.ADMIN,
        file_name="inverters-june.csv",
        status=ImportRecord.Status.RUNNING,
        started_at=started,
        heartbeat_at=timezone.now(),
    )
    fresh_observations(integration, 4, timezone.now() - timedelta(minutes=2))

    run = run_upload(integration)

    assert run.status == RunStatus.UPLOADED, run.error
    assert run.window_end == started
    assert (
        f"4 readings wait for the import of inverters-june.csv (running since {said(started)}) to finish" in run.waiting
    )
    assert run.waiting.endswith("The next scheduled run sends them once they are due.")
    assert follow_ups(RAPTORMAPS_TASK) == []


def test_a_dry_run_says_what_waits_and_schedules_nothing(integration, sandbox, sync_worker, lag, tmp_path):
    fresh_observations(integration, 2, timezone.now() - timedelta(seconds=10))
    run = run_upload(integration, dry_run_dir=tmp_path)
    assert run.status == RunStatus.DRY_RUN
    assert run.waiting.startswith("Dry run up to ")
    assert "2 readings wait for the 60 s safety lag" in run.waiting
    assert follow_ups(RAPTORMAPS_TASK) == []


def test_a_disabled_integration_run_from_the_command_line_gets_no_follow_up(integration, sandbox, sync_worker, lag):
    integration.enabled = False
    integration.save()
    fresh_observations(integration, 2, timezone.now() - timedelta(seconds=10))
    run = run_upload(integration)
    assert run.status == RunStatus.UPLOADED, run.error
    assert run.waiting.endswith("Nothing is scheduled: the Raptor Maps integration is disabled.")
    assert follow_ups(RAPTORMAPS_TASK) == []


# -- WattCarbon ---------------------------------------------------------------------------------------------


def quarter_hours(sensor, hour, first_wh, ingested_at):
    """Four register readings in the hour, 250 Wh apart (1 kWh an hour)."""
    Observation.objects.bulk_create(
        Observation(
            sensor=sensor,
            observed_at=hour + timedelta(minutes=15 * q),
            value=first_wh + 250 * q,
            ingested_at=ingested_at,
        )
        for q in range(4)
    )


def interval_readings(meter, first, count, ingested_at):
    IntervalReading.objects.bulk_create(
        IntervalReading(
            meter=meter,
            start=first + timedelta(hours=n),
            end=first + timedelta(hours=n + 1),
            quantity=1.5,
            ingested_at=ingested_at,
        )
        for n in range(count)
    )


def test_a_sync_says_what_waits_for_the_lag_and_the_hour_not_over_and_its_follow_up_sends_them(sandbox, lag):
    # The sync's clock: half past an hour, a few hours ago (so the follow-up can be "hours later").
    now = timezone.now().astimezone(UTC).replace(minute=30, second=0, microsecond=0) - timedelta(hours=5)
    this_hour = now.replace(minute=0)
    fresh_at = now - timedelta(seconds=10)
    account = make_account(base_url=sandbox.url)
    regular_run_in(wattcarbon_schedule_name(account.pk), timedelta(hours=1))
    warehouse = MeterFactory(portfolio=account.portfolio, name="Warehouse")
    interval_readings(warehouse, datetime(2025, 1, 1, tzinfo=UTC), 5, ingested_at=now - timedelta(hours=1))
    interval_readings(warehouse, datetime(2025, 1, 2, tzinfo=UTC), 3, ingested_at=fresh_at)
    farm_meter = EquipmentFactory(equipment_type=EquipmentType.METER, farm__portfolio=account.portfolio)
    register = SensorFactory(equipment=farm_meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    production = MeterFactory(portfolio=account.portfolio, name="Production", source_equipment=farm_meter)
    for n, hour in enumerate((3, 2, 1)):
        quarter_hours(register, this_hour - timedelta(hours=hour), 1000 * (n + 1), now - timedelta(minutes=20))
    # The reading that completes the last hour came in 10 s ago, inside the safety lag.
    Observation.objects.create(sensor=register, observed_at=this_hour, value=4000, ingested_at=fresh_at)

    run = run_sync(account, now=now)

    assert run.status == SyncStatus.SYNCED, f"{run.error}\n{run.log}"
    # The older readings, and the one complete derived hour (the first has no hour before it).
    assert (run.interval_rows, run.derived_rows) == (5 + 1, 1)
    due = fresh_at + timedelta(seconds=LAG)
    assert run.waiting.startswith(f"Synced up to {now - timedelta(seconds=LAG):%Y-%m-%d %H:%M:%S} UTC; ")
    assert f"4 readings wait for the 60 s safety lag, until {said(due)}" in run.waiting
    assert "1 derived hour waits for a reading after its end: " in run.waiting
    assert (
        f"Production from {said(this_hour)} to {said(this_hour + timedelta(hours=1))} (1 reading so far)" in run.waiting
    )
    [follow_up] = follow_ups(WATTCARBON_TASK)
    assert follow_up.name == wattcarbon_follow_up_name(account.pk)
    assert follow_up.next_run == due + timedelta(seconds=5)  # the readings first; the hour is due later
    assert f"A follow-up sync is scheduled for {said(follow_up.next_run)}." in run.waiting

    # A second sync meanwhile keeps the one follow-up.
    run_sync(account, now=now)
    assert [schedule.pk for schedule in follow_ups(WATTCARBON_TASK)] == [follow_up.pk]

    # Two hours on: the hour that was not over has its next reading, and the follow-up runs.
    later = now + timedelta(hours=2)
    Observation.objects.create(sensor=register, observed_at=this_hour + timedelta(hours=1), value=5000, ingested_at=now)
    followed = run_sync(account, now=later)

    assert followed.status == SyncStatus.SYNCED, f"{followed.error}\n{followed.log}"
    assert followed.derived_rows == 2  # the hour the lag held back and the hour that was not over
    assert followed.interval_rows == 3 + 2
    derived = IntervalReading.objects.filter(meter=production).order_by("start")
    assert [reading.start for reading in derived] == [this_hour - timedelta(hours=n) for n in (2, 1, 0)]
    # Only the newest hour is left, its end long past: said, with no follow-up for it.
    assert "safety lag" not in followed.waiting
    assert f"Production from {said(this_hour + timedelta(hours=1))}" in followed.waiting
    assert followed.waiting.endswith("The next scheduled sync sends them once they are due.")
    assert follow_ups(WATTCARBON_TASK) == []

    # Hours later and still no reading: the meter stopped reporting; nothing is said to wait for it.
    stopped = run_sync(account, now=later + timedelta(hours=3))
    assert "Production from" not in stopped.waiting


def test_a_sync_with_nothing_waiting_says_nothing_and_cancels_a_pending_follow_up(sandbox, lag):
    account = make_account(base_url=sandbox.url)
    meter = MeterFactory(portfolio=account.portfolio, name="Warehouse")
    interval_readings(meter, datetime(2025, 1, 1, tzinfo=UTC), 2, ingested_at=timezone.now() - timedelta(hours=1))
    Schedule.objects.create(
        name=wattcarbon_follow_up_name(account.pk),
        func=WATTCARBON_TASK,
        args=f"({account.pk},)",
        schedule_type=Schedule.ONCE,
        next_run=timezone.now() + timedelta(minutes=1),
    )
    tasks.sync_wattcarbon(account.pk)
    run = account.syncs.latest("pk")
    assert run.status == SyncStatus.SYNCED, run.error
    assert run.waiting == ""
    assert follow_ups(WATTCARBON_TASK) == []


# -- where people read it ------------------------------------------------------------------------------


def test_the_admin_and_the_command_say_what_waits_next_to_the_status(
    integration, sandbox, sync_worker, lag, admin_client
):
    regular_run_in(raptormaps_schedule_name(integration.pk), timedelta(hours=1))
    fresh_observations(integration, 7, timezone.now() - timedelta(seconds=10))

    out = io.StringIO()
    call_command("upload_raptormaps", stdout=out, stderr=io.StringIO())
    run = UploadRun.objects.latest("pk")
    lines = out.getvalue().splitlines()
    status_line = next(n for n, line in enumerate(lines) if f"run #{run.pk} uploaded" in line)
    assert lines[status_line + 1] == f"  Still waiting: {run.waiting}"
    assert out.getvalue().count("7 readings wait") == 1

    runs = page_text(admin_client.get(url(UploadRun, "changelist")))
    assert "more waiting" in runs and "7 readings wait for the 60 s safety lag" in runs  # the mark, its hover
    page = page_text(admin_client.get(url(UploadRun, "change", run.pk)))
    assert "Still waiting" in page and escape(run.waiting) in page
    integrations = page_text(admin_client.get(url(RaptorMapsIntegration, "changelist")))
    assert "more waiting" in integrations
    detail = page_text(admin_client.get(url(RaptorMapsIntegration, "change", integration.pk)))
    assert "A follow-up run" in detail and "for the readings the last one left waiting" in detail
