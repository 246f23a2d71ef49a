"""Objects WattCarbon no longer has (deleted there, an account reset): marked missing, then brought back.

Against the sandbox's WattCarbon on 127.0.0.1: ``sandbox.reset()`` forgets every meter, asset and
document, so every id kept here answers 404, as after a sandbox reset or a deletion on WattCarbon.
"""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from portfolio.models import Asset, BillReading, IntervalReading, Meter
from tests.factories import AssetFactory
from tests.fixtures.sandbox import WattCarbonClient
from tests.uploads.accounts import make_account
from uploads.models import (
    SyncRun,
    SyncState,
    SyncStatus,
    WattCarbonAssetLink,
    WattCarbonMeterLink,
)
from uploads.wattcarbon.service import run_sync
from uploads.wattcarbon.state import asset_states, meter_states

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quick_retries")]

WC = "wattcarbon"


def synced(account):
    run = run_sync(account)
    assert run.status == SyncStatus.SYNCED, f"{run.status}: {run.error}\n{run.log}"
    return run


def remote_assets(sandbox):
    return {asset["customId"]: asset for asset in sandbox.wattcarbon()["assets"]}


def states():
    meters = meter_states(Meter.objects.all())
    assets = asset_states(Asset.objects.prefetch_related("meters", "events"))
    return {
        **{Meter.objects.get(pk=pk).name: items for pk, items in meters.items()},
        **{Asset.objects.get(pk=pk).custom_id: items for pk, items in assets.items()},
    }


def add_a_reading_to_each_meter():
    """Something new for each meter, so the sync calls its stored id (a sync with nothing new calls nothing)."""
    for meter in Meter.objects.all():
        if meter.bill_readings.exists():
            last = meter.bill_readings.latest("start_date")
            BillReading.objects.create(
                meter=meter, start_date=last.end_date, end_date=last.end_date + timedelta(days=30), quantity=100
            )
        else:
            last = meter.interval_readings.latest("start")
            IntervalReading.objects.create(
                meter=meter, start=last.end, end=last.end + timedelta(hours=1), quantity=1.25
            )


def test_after_an_account_reset_everything_is_marked_missing_then_comes_back_once(
    demo_account,
    sandbox,
    admin_client,
    sync_worker,
    django_capture_on_commit_callbacks,
):
    synced(demo_account)
    old_ids = {link.meter.name: link.remote_id for link in WattCarbonMeterLink.objects.select_related("meter")}
    sandbox.reset()  # WattCarbon forgets every meter, asset and document
    add_a_reading_to_each_meter()

    found = run_sync(demo_account)

    assert found.status == SyncStatus.PARTIAL, found.log
    assert found.problems == 6
    assert {name: [item.state for item in items] for name, items in states().items()} == {
        name: [SyncState.MISSING] for name in states()
    }
    warehouse = WattCarbonMeterLink.objects.get(meter__name="Riverside warehouse")
    assert warehouse.error.startswith(
        f"WattCarbon has no meter {old_ids['Riverside warehouse']} any more (upload_intervals: HTTP 404"
    )
    assert "it was deleted there, or the account was reset" in warehouse.error
    assert 'use "Create again on WattCarbon": all its readings are then sent again' in warehouse.error
    assert warehouse.remote_id == old_ids["Riverside warehouse"]  # kept, to say which one is gone
    gas = WattCarbonMeterLink.objects.get(meter__name="Head office gas")
    assert "(upload_bills: HTTP 404" in gas.error
    dr = WattCarbonAssetLink.objects.get(asset__custom_id="DR-IA-01")
    assert "WattCarbon has no asset" in dr.error and "a sync links it by its customId or creates it again" in dr.error
    assert "meters: missing on WattCarbon (Riverside warehouse)" in dr.error
    assert SyncState.MISSING.label == "missing on WattCarbon"
    page = admin_client.get(reverse("admin:portfolio_meter_change", args=[warehouse.meter_id])).content.decode()
    assert "sync-state-missing" in page and "missing on WattCarbon since" in page
    assert "wattcarbon_create_again" in admin_client.get(reverse("admin:portfolio_meter_changelist")).content.decode()
    # Nothing was created blindly.
    assert sandbox.wattcarbon()["meters"] == [] and sandbox.wattcarbon()["assets"] == []

    # Not a loop of failing calls: the next sync says the same and calls nothing.
    calls = len(sandbox.calls(service=WC))
    again = run_sync(demo_account)
    assert again.status == SyncStatus.PARTIAL
    assert len(sandbox.calls(service=WC)) == calls
    warehouse_again = WattCarbonMeterLink.objects.get(pk=warehouse.pk)
    assert (warehouse_again.error, warehouse_again.missing_at) == (warehouse.error, warehouse.missing_at)

    # A person creates the meters again; the sync the action queues brings everything back.
    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post(
            reverse("admin:portfolio_meter_changelist"),
            {"action": "wattcarbon_create_again", "_selected_action": list(Meter.objects.values_list("pk", flat=True))},
            follow=True,
        )
    assert "Meters to create again on WattCarbon, with all their readings" in " ".join(
        str(message) for message in get_messages(page.wsgi_request)
    )
    back = SyncRun.objects.latest("id")
    assert back.status == SyncStatus.SYNCED, f"{back.error}\n{back.log}"

    state = sandbox.wattcarbon()
    assert sorted(meter["name"] for meter in state["meters"]) == sorted(Meter.objects.values_list("name", flat=True))
    assert sorted(asset["customId"] for asset in state["assets"]) == sorted(
        Asset.objects.values_list("custom_id", flat=True)
    )
    links = {link.meter.name: link for link in WattCarbonMeterLink.objects.select_related("meter")}
    for meter in Meter.objects.all():  # every reading again, each once
        remote_id = links[meter.name].remote_id
        assert len(sandbox.wattcarbon_intervals(remote_id)) == meter.interval_readings.count()
        assert len(sandbox.wattcarbon_bills(remote_id)) == meter.bill_readings.count()
    [document] = remote_assets(sandbox)["DR-IA-01"]["documents"]
    assert len(document["events"]) == 3
    assert {item.state for items in states().values() for item in items} == {SyncState.SYNCED}
    assert not WattCarbonMeterLink.objects.exclude(error="").exists()
    assert not WattCarbonAssetLink.objects.exclude(error="").exists()
    assert "was missing on WattCarbon; no asset has its customId: creating it again." in back.log


def test_an_asset_gone_from_wattcarbon_is_marked_missing_then_linked_by_its_custom_id(sandbox):
    account = make_account(base_url=sandbox.url)
    asset = AssetFactory(portfolio=account.portfolio, custom_id="ST-1", name="Battery")
    synced(account)
    link = WattCarbonAssetLink.objects.get(asset=asset)
    old_id = link.remote_id
    sandbox.reset()
    Asset.objects.filter(pk=asset.pk).update(name="Battery, renamed")

    found = run_sync(account)

    assert found.status == SyncStatus.PARTIAL
    link.refresh_from_db()
    assert link.missing_at is not None
    assert link.error.startswith(f"WattCarbon has no asset {old_id} any more (update_asset: HTTP 404")
    assert "The next sync looks it up by its customId 'ST-1' and links it, or creates it again." in link.error
    [state] = asset_states(Asset.objects.filter(pk=asset.pk).prefetch_related("meters", "events"))[asset.pk]
    assert (state.state, state.detail) == (SyncState.MISSING, link.error)

    # Meanwhile someone made it again on WattCarbon, by hand: the sync links that one, never a twin.
    by_hand = WattCarbonClient(sandbox.url)  # logged in after the reset
    remote = by_hand.create_asset(meter_ids=[], customId="ST-1", name="Made by hand")
    by_hand.close()
    back = synced(account)

    [only] = sandbox.wattcarbon()["assets"]
    assert only["id"] == remote["id"] and only["name"] == "Battery, renamed"
    link.refresh_from_db()
    assert (link.remote_id, link.missing_at, link.error) == (str(remote["id"]), None, "")
    assert f"found asset {remote['id']} by its customId and linked it." in back.log


def test_an_asset_gone_and_not_found_is_created_again_once(sandbox):
    account = make_account(base_url=sandbox.url)
    asset = AssetFactory(portfolio=account.portfolio, custom_id="ST-2")
    synced(account)
    sandbox.reset()
    Asset.objects.filter(pk=asset.pk).update(utility="Another utility")
    assert run_sync(account).status == SyncStatus.PARTIAL

    back = synced(account)

    assert [remote["customId"] for remote in sandbox.wattcarbon()["assets"]] == ["ST-2"]
    assert remote_assets(sandbox)["ST-2"]["utility"] == "Another utility"
    assert back.assets_created == 1
    assert run_sync(account).status == SyncStatus.NOTHING


def test_create_again_leaves_meters_that_are_not_missing(demo_account, sandbox, admin_client):
    synced(demo_account)
    before = list(WattCarbonMeterLink.objects.order_by("pk").values_list("remote_id", "intervals_through_id"))

    page = admin_client.post(
        reverse("admin:portfolio_meter_changelist"),
        {"action": "wattcarbon_create_again", "_selected_action": list(Meter.objects.values_list("pk", flat=True))},
        follow=True,
    )

    assert "None of these meters is missing on WattCarbon" in page.content.decode()
    assert list(WattCarbonMeterLink.objects.order_by("pk").values_list("remote_id", "intervals_through_id")) == before
    assert SyncRun.objects.count() == 1  # no sync queued
