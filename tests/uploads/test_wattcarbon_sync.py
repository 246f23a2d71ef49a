"""WattCarbon syncs end to end: the service → HTTP → the sandbox's WattCarbon on 127.0.0.1.

The sandbox checks tokens, bodies and CSV files strictly and keeps what it accepted, so the
sandbox's state is what WattCarbon would hold. Expected values come from the database.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from portfolio.choices import EquipmentType, SensorType
from portfolio.models import Asset, BillReading, DemandResponseEvent, IntervalReading, Meter, Observation
from sandbox import wattcarbon as sandbox_defaults
from tests.factories import AssetFactory, DemandResponseEventFactory, EquipmentFactory, MeterFactory, SensorFactory
from tests.uploads.accounts import make_account
from uploads.models import (
    Attempt,
    RunTrigger,
    SyncRun,
    SyncState,
    SyncStatus,
    WattCarbonAccount,
    WattCarbonAssetLink,
    WattCarbonMeterLink,
)
from uploads.runs.leases import LeaseHolder
from uploads.wattcarbon.service import enqueue_sync, lease_name, queue_sync, run_sync
from uploads.wattcarbon.state import asset_states, meter_states, overall

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quick_retries")]

WC = "wattcarbon"


def synced(account, **kwargs):
    run = run_sync(account, **kwargs)
    assert run.status == SyncStatus.SYNCED, f"{run.status}: {run.error}\n{run.log}"
    return run


def remote_meters(account):
    return {link.meter.name: link.remote_id for link in WattCarbonMeterLink.objects.filter(account=account)}


def remote_assets(sandbox):
    return {asset["customId"]: asset for asset in sandbox.wattcarbon()["assets"]}


def utc_text(moment):
    return moment.astimezone(UTC).isoformat()


def write_operations(sandbox):
    return [call["operation"] for call in sandbox.write_calls()]


# -- a full sync ---------------------------------------------------------------------------------------


def test_a_full_sync_of_the_demo_portfolio_field_by_field(demo_account, sandbox):
    run = synced(demo_account)

    meters = {meter["name"]: meter for meter in sandbox.wattcarbon()["meters"]}
    ids = remote_meters(demo_account)
    assert {name: meter["id"] for name, meter in meters.items()} == ids
    assert {name: (meter["apiProvider"], meter["meterType"], meter["location"]) for name, meter in meters.items()} == {
        "Piedmont Triad production": ("manual", "electricity", {"latitude": 36.1, "longitude": -79.95}),
        "Head office gas": (
            "manual",
            "gas",
            {"street": "233 S Wacker Dr", "city": "Chicago", "state": "IL", "country": "US", "postalCode": "60606"},
        ),
        "Riverside warehouse": ("manual", "electricity", "60 Greene St Riverside IA"),
    }

    # Interval readings, value by value, in kWh; the production meter's are the derived hours.
    for name in ("Riverside warehouse", "Piedmont Triad production"):
        stored = IntervalReading.objects.filter(meter__name=name).order_by("start")
        assert stored.count() > 40
        assert sandbox.wattcarbon_intervals(ids[name]) == [
            {"start_datetime": utc_text(reading.start), "energy_kwh": pytest.approx(reading.energy_kwh)}
            for reading in stored
        ]
    # Gas bills read in therms arrive in kWh (29.3071 kWh per therm).
    bills = BillReading.objects.filter(meter__name="Head office gas").order_by("start_date")
    assert [bill.unit for bill in bills] == ["therm"] * 12
    assert sandbox.wattcarbon_bills(ids["Head office gas"]) == [
        {
            "start_date": bill.start_date.isoformat(),
            "end_date": bill.end_date.isoformat(),
            "energy_kwh": pytest.approx(bill.quantity * 29.3071),
        }
        for bill in bills
    ]

    assets = remote_assets(sandbox)
    assert set(assets) == {"SP-NC-01", "HP-IL-01", "DR-IA-01"}
    expected = {
        "SP-NC-01": {
            "name": "Piedmont Triad Solar",
            "kind": "solar",
            "location": {"latitude": 36.1, "longitude": -79.95},
            "utility": "Duke Energy Carolinas",
            "meterIds": [ids["Piedmont Triad production"]],
            "commencedOperationDate": "2021-04-01",
            "nameplateCapacityKw": 3900.0,
            "inverterDataId": "PT-ULTRA-1500",
            "inverterDataSource": "abb",
            "externalRegistryName": "GATS",
            "externalRegistryAssetId": "NON123456",
        },
        "HP-IL-01": {
            "name": "Head office heat pump",
            "kind": "electrification_eemetered",
            "location": "233 S Wacker Dr Chicago IL 60606",
            "utility": "Peoples Gas",
            "meterIds": [ids["Head office gas"]],
            "commencedOperationDate": "2025-10-01",
            "areaSqft": 12000,
            "previousFuel": "gas",
            "buildingType": "commercial",
            "replacementType": "furnace_only",
            "yearBuilt": 1962,
            "numberOfStories": 4,
        },
        "DR-IA-01": {
            "name": "Riverside warehouse demand response",
            "kind": "demand_response_eemetered",
            "location": "60 Greene St Riverside IA",
            "utility": "MidAmerican Energy",
            "meterIds": [ids["Riverside warehouse"]],
        },
    }
    for custom_id, fields in expected.items():
        assert {key: assets[custom_id].get(key) for key in fields} == fields, custom_id
        link = WattCarbonAssetLink.objects.get(account=demo_account, asset__custom_id=custom_id)
        assert link.remote_id == str(assets[custom_id]["id"])
    [document] = assets["DR-IA-01"]["documents"]
    assert document["type"] == "demand_response_events"
    assert document["events"] == [
        ["2026-07-14 17:00:00-05:00", "2026-07-14 20:00:00-05:00"],
        ["2026-07-21 16:00:00-05:00", "2026-07-21 18:00:00-05:00"],
        ["2026-08-04 17:00:00-05:00", "2026-08-04 20:00:00-05:00"],
    ]

    derived = IntervalReading.objects.filter(meter__name="Piedmont Triad production").count()
    assert (run.meters_created, run.assets_created, run.assets_updated, run.documents) == (3, 3, 0, 1)
    assert (run.interval_rows, run.bill_rows, run.derived_rows) == (14 * 24 + derived, 12, derived)
    assert run.write_calls == 10 == len(sandbox.write_calls())
    # Every call is an attempt of this sync, the token included.
    assert Attempt.objects.filter(sync_run=run).count() == len(sandbox.calls(service=WC))
    states = {**meter_states(Meter.objects.all()), **asset_states(Asset.objects.prefetch_related("meters", "events"))}
    assert {overall(item) for item in states.values()} == {SyncState.SYNCED}


def test_a_second_sync_with_nothing_changed_makes_no_calls_at_all(demo_account, sandbox):
    synced(demo_account)
    calls_before = len(sandbox.calls(service=WC))

    quiet = run_sync(demo_account)

    assert quiet.status == SyncStatus.NOTHING
    assert quiet.write_calls == 0
    assert len(sandbox.calls(service=WC)) == calls_before  # not even a token: the cached one is still good
    assert "Nothing changed since the last sync." in quiet.log


def test_changing_one_asset_updates_only_that_asset_with_only_the_changed_field(demo_account, sandbox):
    synced(demo_account)
    writes_before = len(sandbox.write_calls())
    Asset.objects.filter(custom_id="HP-IL-01").update(area_sqft=13000)

    run = synced(demo_account)

    new_calls = sandbox.write_calls()[writes_before:]
    assert [(call["operation"], call["method"]) for call in new_calls] == [("update_asset", "PATCH")]
    assert new_calls[0]["path"].endswith(f"/assets/{remote_assets(sandbox)['HP-IL-01']['id']}")
    assert remote_assets(sandbox)["HP-IL-01"]["areaSqft"] == 13000
    assert (run.assets_updated, run.write_calls) == (1, 1)
    assert "Updated asset HP-IL-01: areaSqft." in run.log


def test_new_and_edited_readings_send_only_those_rows(demo_account, sandbox):
    synced(demo_account)
    warehouse = Meter.objects.get(name="Riverside warehouse")
    meter_id = remote_meters(demo_account)["Riverside warehouse"]
    last = IntervalReading.objects.filter(meter=warehouse).latest("start")
    IntervalReading.objects.create(meter=warehouse, start=last.end, end=last.end + timedelta(hours=1), quantity=7.5)
    edited = IntervalReading.objects.filter(meter=warehouse).earliest("start")
    edited.quantity = 99.25
    edited.save()
    uploads_before = len(sandbox.wattcarbon()["uploads"])

    run = synced(demo_account)

    [upload] = sandbox.wattcarbon()["uploads"][uploads_before:]
    assert (upload["meterId"], upload["kind"], upload["received"], upload["inserted"], upload["updated"]) == (
        meter_id,
        "intervals",
        2,
        1,
        1,
    )
    received = {row["start_datetime"]: row["energy_kwh"] for row in sandbox.wattcarbon_intervals(meter_id)}
    assert received[utc_text(edited.start)] == 99.25
    assert received[utc_text(last.end)] == 7.5
    assert (run.interval_rows, run.write_calls) == (2, 1)


def test_readings_go_in_chunks_of_the_accounts_size(demo_account, sandbox):
    WattCarbonAccount.objects.filter(pk=demo_account.pk).update(chunk_rows=50)
    demo_account.refresh_from_db()
    plan = run_sync(demo_account, dry_run=True)
    assert "Would upload 336 interval row(s) of Riverside warehouse in 7 file(s)." in plan.log

    # The first upload to arrive is retried (which meter's it is depends on which file got there
    # first: files go up several at a time).
    sandbox.fault("upload_intervals", service=WC, status=503)
    run = synced(demo_account)

    assert [call["status"] for call in sandbox.calls("upload_intervals", service=WC)].count(503) == 1
    meter_id = remote_meters(demo_account)["Riverside warehouse"]
    calls = [call for call in sandbox.calls("upload_intervals", service=WC) if f"/meters/{meter_id}/" in call["path"]]
    assert [call["status"] for call in calls if call["status"] != 503] == [200] * 7
    assert len(sandbox.wattcarbon_intervals(meter_id)) == 336
    assert run.log.count("Uploaded 50 interval row(s) of Riverside warehouse.") == 6
    assert "Uploaded 36 interval row(s) of Riverside warehouse." in run.log


def test_a_refused_chunk_keeps_the_watermark_of_the_chunks_before_it(sandbox):
    account = make_account(base_url=sandbox.url, chunk_rows=50)
    meter = MeterFactory(portfolio=account.portfolio, name="Warehouse")
    start = datetime(2025, 1, 1, tzinfo=UTC)

    def add_readings(hours):
        for hour in hours:
            IntervalReading.objects.create(
                meter=meter, start=start + timedelta(hours=hour), end=start + timedelta(hours=hour + 1), quantity=hour
            )

    add_readings(range(120))
    synced(account)  # creates the meter, sends 3 chunks
    link = WattCarbonMeterLink.objects.get(meter=meter)
    add_readings(range(120, 240))
    plan = run_sync(account, dry_run=True)
    assert "Would upload 120 interval row(s) of Warehouse in 3 file(s)." in plan.log

    sandbox.fault("upload_intervals", service=WC, status=422, after=1)  # the second new chunk is refused
    refused = run_sync(account)

    assert refused.status == SyncStatus.PARTIAL
    assert len(sandbox.wattcarbon_intervals(link.remote_id)) == 170
    link.refresh_from_db()
    assert "upload_intervals: HTTP 422" in link.error
    fiftieth = IntervalReading.objects.filter(meter=meter).order_by("ingested_at", "id")[169]
    assert (link.intervals_through_at, link.intervals_through_id) == (fiftieth.ingested_at, fiftieth.pk)

    fine = synced(account)
    assert fine.interval_rows == 70
    assert len(sandbox.wattcarbon_intervals(link.remote_id)) == 240
    link.refresh_from_db()
    assert (link.error, link.error_at) == ("", None)  # a clean sync clears the old error


# -- failures ------------------------------------------------------------------------------------------


def test_the_token_expiring_mid_sync_is_renewed_once_and_the_call_repeated(demo_account, sandbox):
    sandbox.fault("create_asset", mode="expire_token", service=WC)

    run = synced(demo_account)

    assert len(remote_assets(sandbox)) == 3
    operations = [(call["operation"], call["status"]) for call in sandbox.calls(service=WC)]
    assert operations.count(("token", 200)) == 2
    assert operations.count(("create_asset", 401)) == 1
    assert operations.count(("create_asset", 201)) == 3
    refused = Attempt.objects.get(sync_run=run, status_code=401)
    assert refused.outcome == "retry" and "renewing it" in refused.error


def test_a_lost_answer_after_an_asset_was_created_ends_with_exactly_one_asset(demo_account, sandbox):
    sandbox.fault("create_asset", mode="reset_after", service=WC)

    run = synced(demo_account)

    assets = sandbox.wattcarbon()["assets"]
    assert sorted(asset["customId"] for asset in assets) == ["DR-IA-01", "HP-IL-01", "SP-NC-01"]
    first = Asset.objects.order_by("custom_id").first()  # the one whose answer was lost
    link = WattCarbonAssetLink.objects.get(asset=first)
    assert link.remote_id == str(remote_assets(sandbox)[first.custom_id]["id"])
    assert [call["operation"] for call in sandbox.calls(service=WC)].count("find_assets") == 1
    assert f"Found asset {first.custom_id} by its customId; linked it." in run.log
    assert run.assets_created == 2  # the third was found, not created


def test_a_502_on_an_asset_create_waits_as_asked_looks_it_up_then_creates_it_once(demo_account, sandbox):
    # A gateway's 502: the asset may or may not have been made.
    sandbox.fault("create_asset", service=WC, status=502, retry_after=1)

    run = synced(demo_account)

    assert len(remote_assets(sandbox)) == 3
    statuses = [call["status"] for call in sandbox.calls("create_asset", service=WC)]
    assert statuses == [502, 201, 201, 201]
    operations = [call["operation"] for call in sandbox.calls(service=WC)]
    assert operations.count("find_assets") == 1
    assert operations.index("find_assets") == operations.index("create_asset") + 1  # looked before creating again
    assert "WattCarbon asked to wait 1 s (Retry-After); waited, then tried again." in run.log
    assert "is not on WattCarbon; creating it again." in run.log


def test_a_503_on_an_asset_create_is_sent_again_it_was_not_carried_out(demo_account, sandbox):
    sandbox.fault("create_asset", service=WC, status=503)

    run = synced(demo_account)

    assert [call["status"] for call in sandbox.calls("create_asset", service=WC)] == [503, 201, 201, 201]
    assert "find_assets" not in [call["operation"] for call in sandbox.calls(service=WC)]
    assert run.assets_created == 3


def test_a_503_with_retry_after_on_a_meter_create_is_retried_in_the_same_sync(demo_account, sandbox):
    sandbox.fault("create_meter", service=WC, status=503, retry_after=1)

    run = synced(demo_account)

    assert [call["status"] for call in sandbox.calls("create_meter", service=WC)] == [503, 201, 201, 201]
    names = sorted(meter["name"] for meter in sandbox.wattcarbon()["meters"])
    assert names == ["Head office gas", "Piedmont Triad production", "Riverside warehouse"]  # one each
    assert sorted(remote_meters(demo_account).values()) == sorted(
        meter["id"] for meter in sandbox.wattcarbon()["meters"]
    )
    waited = Attempt.objects.get(sync_run=run, status_code=503)
    assert (waited.outcome, waited.retry_in_seconds) == ("retry", 1)
    assert run.meters_created == 3 and run.problems == 0


def test_a_502_on_a_meter_create_is_tried_again_in_the_same_sync_and_says_what_it_risks(demo_account, sandbox):
    sandbox.fault("create_meter", service=WC, status=502)

    run = synced(demo_account)

    assert [call["status"] for call in sandbox.calls("create_meter", service=WC)] == [502, 201, 201, 201]
    assert len(sandbox.wattcarbon()["meters"]) == 3
    assert "WattCarbon cannot look meters up: if the first create was carried out after all" in run.log
    assert WattCarbonMeterLink.objects.filter(remote_id=None).count() == 0


def test_a_wait_asked_over_the_limit_leaves_the_create_for_the_next_sync_and_says_why(demo_account, sandbox, settings):
    settings.UPLOADS_RETRY_AFTER_MAX_SECONDS = 5
    sandbox.fault("create_asset", service=WC, status=502, retry_after=60)

    run = run_sync(demo_account)

    assert run.status == SyncStatus.PARTIAL
    link = WattCarbonAssetLink.objects.get(asset=Asset.objects.order_by("custom_id").first())
    assert "WattCarbon asked to wait 60 s (Retry-After) before trying again, more than the 5 s limit" in link.error
    assert "(UPLOADS_RETRY_AFTER_MAX_SECONDS); the next sync tries again." in link.error
    assert len(sandbox.calls("create_asset", service=WC)) == 3  # that one once, the others once each
    synced(demo_account)
    assert len(remote_assets(sandbox)) == 3


def test_a_429_over_the_limit_on_a_meter_create_stops_the_sync_and_says_why(demo_account, sandbox, settings):
    settings.UPLOADS_RETRY_AFTER_MAX_SECONDS = 5
    sandbox.fault("create_meter", service=WC, status=429, retry_after=60)

    run = run_sync(demo_account)

    assert run.status == SyncStatus.FAILED
    assert "create_meter: HTTP 429: the service asked to wait 60 s (Retry-After), more than the 5 s limit" in run.error
    assert not sandbox.wattcarbon()["meters"]
    synced(demo_account)
    assert len(sandbox.wattcarbon()["meters"]) == 3


def test_a_custom_id_already_on_wattcarbon_is_linked_and_brought_in_line(demo_account, sandbox):
    session = requests.Session()
    session.headers["User-Agent"] = "tests"
    token = session.post(
        f"{sandbox.url}/auth/token",
        data={
            "grant_type": "password",
            "username": sandbox_defaults.DEFAULT_EMAIL,
            "password": sandbox_defaults.DEFAULT_API_KEY,
        },
    ).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    existing = session.post(
        f"{sandbox.url}/accounts/{sandbox_defaults.DEFAULT_ACCOUNT_ID}/assets",
        json={
            "name": "Old name",
            "customId": "DR-IA-01",
            "location": "Somewhere",
            "meterIds": [],
            "kind": "storage_direct",
        },
    )
    assert existing.status_code == 201

    run = synced(demo_account)

    assets = [asset for asset in sandbox.wattcarbon()["assets"] if asset["customId"] == "DR-IA-01"]
    assert len(assets) == 1
    assert assets[0]["id"] == existing.json()["id"]
    assert (assets[0]["name"], assets[0]["kind"], assets[0]["location"]) == (
        "Riverside warehouse demand response",
        "demand_response_eemetered",
        "60 Greene St Riverside IA",
    )
    assert "Asset DR-IA-01 already exists on WattCarbon; linked it." in run.log
    assert run.assets_created == 2 and run.assets_updated == 1
    assert len(assets[0]["documents"]) == 1  # and its events went to the linked asset


def test_an_invalid_asset_is_reported_and_not_sent_while_the_rest_sync(demo_account, sandbox):
    Asset.objects.filter(custom_id="SP-NC-01").update(nameplate_capacity_kw=None)  # as an old import left it

    run = run_sync(demo_account)

    assert run.status == SyncStatus.PARTIAL
    assert run.problems == 1
    assert run.error == "Could not sync asset SP-NC-01; their sync state and the log say why."
    assert sorted(remote_assets(sandbox)) == ["DR-IA-01", "HP-IL-01"]
    link = WattCarbonAssetLink.objects.get(asset__custom_id="SP-NC-01")
    assert link.error == "Not sent: nameplate capacity (kW): Required for directly measured solar assets."
    assert link.remote_id == ""
    [state] = asset_states(Asset.objects.filter(custom_id="SP-NC-01").prefetch_related("meters", "events"))[
        link.asset_id
    ]
    assert (state.state, state.detail) == (SyncState.ERROR, link.error)

    Asset.objects.filter(custom_id="SP-NC-01").update(nameplate_capacity_kw=3900)
    fixed = synced(demo_account)
    assert fixed.assets_created == 1
    link.refresh_from_db()
    assert (link.error, link.error_at) == ("", None)


def test_a_service_that_stays_down_stops_the_sync_and_the_next_one_goes_on(demo_account, sandbox):
    sandbox.fault("upload_intervals", service=WC, status=503, times=20)

    failed = run_sync(demo_account)

    assert failed.status == SyncStatus.FAILED
    assert "upload_intervals: HTTP 503 after 5 attempts" in failed.error
    assert WattCarbonMeterLink.objects.exclude(remote_id=None).count() == 3  # the meters it made are kept
    assert not remote_assets(sandbox)  # it stopped before the assets

    sandbox.clear_faults()
    synced(demo_account)
    assert len(sandbox.wattcarbon()["meters"]) == 3  # no meter made twice
    assert len(remote_assets(sandbox)) == 3


def test_no_secret_is_recorded_anywhere(demo_account, sandbox):
    sandbox.fault("create_meter", service=WC, status=422)
    run = run_sync(demo_account)
    demo_account.refresh_from_db()
    secrets = [sandbox_defaults.DEFAULT_API_KEY, demo_account.access_token.reveal()]
    assert all(secrets)
    records = [run.log, run.error]
    for attempt in Attempt.objects.filter(sync_run=run):
        records += [attempt.url, attempt.error, attempt.response_excerpt]
    records += list(WattCarbonMeterLink.objects.values_list("error", flat=True))
    assert not [record for record in records for secret in secrets if secret in record]


def test_one_sync_per_account_at_a_time(demo_account, sandbox):
    holder = LeaseHolder(lease_name(demo_account))
    assert holder.acquire()
    try:
        skipped = run_sync(demo_account)
    finally:
        holder.release()
    assert skipped.status == SyncStatus.SKIPPED
    assert "Not started:" in skipped.log
    assert not sandbox.calls(service=WC)


# -- derived intervals and events ------------------------------------------------------------------------


def test_derived_intervals_from_a_register_with_a_reset_and_a_gap(sandbox):
    account = make_account(base_url=sandbox.url)
    farm_meter = EquipmentFactory(equipment_type=EquipmentType.METER, farm__portfolio=account.portfolio)
    register = SensorFactory(equipment=farm_meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    MeterFactory(portfolio=account.portfolio, name="Production", source_equipment=farm_meter)
    day = datetime(2025, 6, 1, tzinfo=UTC)
    wh = {0: 1000, 1: 2000, 2: 3000, 3: 0, 4: 1000, 6: 3000, 7: 4000}  # reset at 03:00, nothing 05:00-06:00
    Observation.objects.bulk_create(
        Observation(sensor=register, observed_at=day + timedelta(hours=hour, minutes=15 * q), value=first + 250 * q)
        for hour, first in wh.items()
        for q in range(4)
    )
    Observation.objects.create(sensor=register, observed_at=day + timedelta(hours=8), value=5000)

    run = synced(account)

    meter_id = WattCarbonMeterLink.objects.get().remote_id
    assert sandbox.wattcarbon_intervals(meter_id) == [
        {"start_datetime": f"2025-06-01T0{hour}:00:00+00:00", "energy_kwh": 1.0} for hour in (1, 2, 4, 7)
    ]
    assert "2025-06-01 03:00 UTC: the register went down (a reset?)" in run.log
    assert "2025-06-01 06:00 UTC: no register reading in the hour before (a gap)" in run.log


def test_demand_response_events_across_a_dst_change_and_only_when_they_change(sandbox):
    account = make_account(base_url=sandbox.url)
    asset = AssetFactory(portfolio=account.portfolio, demand_response=True, timezone="America/Chicago", custom_id="DR")
    central = ZoneInfo("America/Chicago")
    for day, hour in ((date(2024, 11, 1), 17), (date(2024, 11, 5), 16)):
        start = datetime(day.year, day.month, day.day, hour, tzinfo=central)
        DemandResponseEventFactory(asset=asset, start=start, end=start + timedelta(hours=2))

    synced(account)
    [document] = remote_assets(sandbox)["DR"]["documents"]
    assert document["events"] == [
        ["2024-11-01 17:00:00-05:00", "2024-11-01 19:00:00-05:00"],
        ["2024-11-05 16:00:00-06:00", "2024-11-05 18:00:00-06:00"],
    ]

    assert run_sync(account).status == SyncStatus.NOTHING  # same events: no new document
    DemandResponseEvent.objects.filter(asset=asset).order_by("start").last().delete()
    synced(account)
    documents = remote_assets(sandbox)["DR"]["documents"]
    assert [len(document["events"]) for document in documents] == [2, 1]


def test_an_asset_whose_events_are_all_deleted_sends_no_empty_document_and_says_so_once(sandbox):
    account = make_account(base_url=sandbox.url)
    asset = AssetFactory(portfolio=account.portfolio, demand_response=True, custom_id="DR")
    start = datetime(2024, 7, 1, 17, tzinfo=UTC)
    DemandResponseEventFactory(asset=asset, start=start, end=start + timedelta(hours=2))
    synced(account)

    asset.events.all().delete()
    told = run_sync(account)

    assert [len(document["events"]) for document in remote_assets(sandbox)["DR"]["documents"]] == [1]
    assert len(sandbox.calls("upload_document", service=WC)) == 1  # the first only
    assert "DR has no events now. WattCarbon refuses an events document without events" in told.log
    link = WattCarbonAssetLink.objects.get(asset=asset)
    assert (link.events_fingerprint, link.error) == ("no events", "")
    # Said once: the next sync has nothing to do, and the asset is not shown as changed.
    again = run_sync(account)
    assert again.status == SyncStatus.NOTHING
    assert "has no events now" not in again.log
    # New events go up again.
    DemandResponseEventFactory(asset=asset, start=start + timedelta(days=1), end=start + timedelta(days=1, hours=1))
    synced(account)
    assert [len(document["events"]) for document in remote_assets(sandbox)["DR"]["documents"]] == [1, 1]


def test_a_sync_queued_from_the_admin_runs_in_the_worker(
    demo_account, sandbox, sync_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        queued = enqueue_sync(demo_account, RunTrigger.ADMIN)
    queued.refresh_from_db()
    assert queued.status == SyncStatus.SYNCED, queued.error
    assert queued.task_id
    assert SyncRun.objects.count() == 1
    assert BillReading.objects.count() == 12


# -- more ways it goes wrong ------------------------------------------------------------------------------


def test_a_meter_create_without_an_answer_is_reported_and_created_again_by_the_next_sync(demo_account, sandbox):
    sandbox.fault("create_meter", mode="reset_after", service=WC, after=1)  # the second: Piedmont Triad's

    first = run_sync(demo_account)

    assert first.status == SyncStatus.PARTIAL
    lost = WattCarbonMeterLink.objects.get(meter__name="Piedmont Triad production")
    assert lost.remote_id is None
    assert "The next sync creates it again (WattCarbon cannot look meters up)." in lost.error
    # The solar asset waits for its meter; the others went.
    assert sorted(remote_assets(sandbox)) == ["DR-IA-01", "HP-IL-01"]
    assert (
        "meters: not on WattCarbon yet (Piedmont Triad production)."
        in WattCarbonAssetLink.objects.get(asset__custom_id="SP-NC-01").error
    )

    synced(demo_account)
    lost.refresh_from_db()
    assert lost.remote_id and not lost.error
    assert sorted(remote_assets(sandbox)) == ["DR-IA-01", "HP-IL-01", "SP-NC-01"]
    # The meter the lost answer was about stays on WattCarbon, linked to nothing (documented).
    names = [meter["name"] for meter in sandbox.wattcarbon()["meters"]]
    assert names.count("Piedmont Triad production") == 2


def test_a_sync_left_running_by_a_dead_worker_is_marked_interrupted_by_the_next(demo_account, sandbox):
    dead = queue_sync(demo_account, "schedule")
    dead.status = SyncStatus.RUNNING
    dead.save()

    run = synced(demo_account)

    dead.refresh_from_db()
    assert dead.status == SyncStatus.ABANDONED
    assert f"found by #{run.pk}" in dead.log
    assert f"#{dead.pk} had been interrupted: its worker stopped." in run.log


def test_an_api_key_the_keys_cannot_open_fails_the_sync_and_says_what_to_do(demo_account, sandbox, settings):
    settings.SECRETS_ENCRYPTION_KEYS = ["a key that did not encrypt it"]
    demo_account = WattCarbonAccount.objects.get(pk=demo_account.pk)

    run = run_sync(demo_account)

    assert run.status == SyncStatus.FAILED
    assert "API key cannot be decrypted" in run.error and "nter it again" in run.error
    assert sandbox.calls(service=WC) == []
