"""`manage.py wattcarbon_account` and `sync_wattcarbon`, and the schedule every enabled account gets."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule

from tests.factories import AssetFactory, MeterFactory
from tests.uploads.accounts import make_account
from tests.uploads.integrations import make_portfolio
from uploads.models import SyncRun, SyncStatus, WattCarbonAccount, WattCarbonMeterLink
from uploads.runs.schedules import WATTCARBON_TASK, sync_all_schedules, wattcarbon_schedule_name
from uploads.secrets import Secret

BASE = ["--name", "Ops", "--email", "ops@example.com", "--account-id", "acct-7", "--portfolio", "north"]


def run(command, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


@pytest.mark.django_db
def test_creates_an_account_with_the_key_from_the_environment(monkeypatch):
    make_portfolio("north")
    monkeypatch.setenv("WC_KEY", "key-from-the-env-123")
    output = run("wattcarbon_account", *BASE, "--api-key-env", "WC_KEY", "--base-url", "https://wc.example.com")
    account = WattCarbonAccount.objects.get(name="Ops")
    assert account.api_key.reveal() == "key-from-the-env-123"
    assert (account.email, account.account_id, account.base_url) == (
        "ops@example.com",
        "acct-7",
        "https://wc.example.com",
    )
    assert (account.portfolio.slug, account.sync_interval_seconds, account.enabled) == ("north", 3600, True)
    assert "key-from-the-env-123" not in output
    assert output.startswith("Created WattCarbon account 'Ops'")


@pytest.mark.django_db
def test_updates_by_name_and_a_new_key_drops_the_cached_token(monkeypatch):
    make_portfolio("north")
    monkeypatch.setenv("WC_KEY", "first-key-abc")
    run("wattcarbon_account", *BASE, "--api-key-env", "WC_KEY")
    WattCarbonAccount.objects.filter(name="Ops").update(
        access_token=Secret("cached-token"), access_token_expires_at=timezone.now() + timedelta(hours=20)
    )
    monkeypatch.setenv("WC_KEY2", "second-key-abc")
    output = run(
        "wattcarbon_account", "--name", "Ops", "--api-key-env", "WC_KEY2", "--interval", "900", "--disable",
        "--upload-concurrency", "2",
    )  # fmt: skip
    account = WattCarbonAccount.objects.get()
    assert account.api_key.reveal() == "second-key-abc"
    assert (not account.access_token, account.access_token_expires_at) == (True, None)
    assert (account.sync_interval_seconds, account.enabled, account.upload_concurrency) == (900, False, 2)
    assert output.startswith("Updated")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "New"], "To create an account, give --email, --api-key-env, --account-id, --portfolio."),
        ([*BASE, "--api-key-env", "UNSET_VAR"], "The environment variable UNSET_VAR is not set or is empty."),
        ([*BASE[:-1], "nowhere", "--api-key-env", "WC_KEY"], "No portfolio with slug 'nowhere'."),
        ([*BASE, "--api-key-env", "WC_KEY", "--interval", "5"], "sync_interval_seconds:"),
        ([*BASE, "--api-key-env", "WC_KEY", "--upload-concurrency", "0"], "upload_concurrency:"),
        (["--name", "Ops", "--email", "not-an-email", *BASE[4:], "--api-key-env", "WC_KEY"], "email: Enter a valid"),
    ],
)
def test_refusals_say_what_is_wrong(monkeypatch, args, message):
    make_portfolio("north")
    monkeypatch.setenv("WC_KEY", "k-abcdef")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    with pytest.raises(CommandError) as refused:
        run("wattcarbon_account", *args)
    assert message in str(refused.value)
    assert not WattCarbonAccount.objects.exists()


@pytest.mark.django_db
def test_a_dry_run_prints_the_plan_and_calls_nobody():
    # The base URL is a closed port: any call would fail the sync.
    account = make_account(name="Dry", base_url="http://127.0.0.1:9")
    meter = MeterFactory(portfolio=account.portfolio, name="Warehouse")
    asset = AssetFactory(portfolio=account.portfolio, custom_id="ST-1")
    asset.meters.add(meter)

    output = run("sync_wattcarbon", "--account", "Dry", "--dry-run")

    assert "Would create meter Warehouse (electricity)." in output
    assert "Would create asset ST-1 (storage_direct)." in output
    assert "dry run (nothing sent)" in output
    run_record = SyncRun.objects.get()
    assert (run_record.status, run_record.write_calls, run_record.attempts.count()) == (SyncStatus.DRY_RUN, 0, 0)
    assert not WattCarbonMeterLink.objects.exists()  # a dry run writes nothing either


@pytest.mark.django_db
def test_sync_command_errors():
    with pytest.raises(CommandError, match=r"No enabled WattCarbon account\."):
        run("sync_wattcarbon")
    make_account(name="Known")
    with pytest.raises(CommandError, match=r"No WattCarbon account named 'Other' \(known: Known\)."):
        run("sync_wattcarbon", "--account", "Other")


@pytest.mark.django_db(transaction=True)  # schedules follow saves on commit
def test_each_enabled_account_has_a_schedule_that_follows_it():
    account = make_account(sync_interval_seconds=1800)
    schedule = Schedule.objects.get(name=wattcarbon_schedule_name(account.pk))
    assert (schedule.func, schedule.args, schedule.minutes) == (WATTCARBON_TASK, f"({account.pk},)", 30)

    account.sync_interval_seconds = 7200
    account.save()
    assert Schedule.objects.get(name=wattcarbon_schedule_name(account.pk)).minutes == 120

    account.enabled = False
    account.save()
    assert not Schedule.objects.filter(func=WATTCARBON_TASK).exists()

    account.enabled = True
    account.save()
    Schedule.objects.create(name=wattcarbon_schedule_name(999), func=WATTCARBON_TASK, args="(999,)")
    assert sync_all_schedules() == 1  # the stale one
    pk = account.pk
    account.delete()
    assert not Schedule.objects.filter(name=wattcarbon_schedule_name(pk)).exists()
