"""Portfolio objects as WattCarbon takes them: JSON bodies, CSV files, fingerprints (uploads/wattcarbon/payloads.py)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.factories import AssetFactory, DemandResponseEventFactory, MeterFactory
from uploads.wattcarbon import payloads

pytestmark = pytest.mark.django_db


def test_a_meter_by_address_in_parts():
    meter = MeterFactory(
        name="Head office gas",
        meter_type="gas",
        address="",
        street="606 Ellis St",
        city="San Francisco",
        state="CA",
        postal_code="94109",
        country="US",
    )
    assert payloads.meter_payload(meter) == {
        "name": "Head office gas",
        "apiProvider": "manual",
        "meterType": "gas",
        "location": {
            "street": "606 Ellis St",
            "city": "San Francisco",
            "state": "CA",
            "country": "US",
            "postalCode": "94109",
        },
    }


def test_locations_one_line_and_coordinates():
    assert payloads.location(MeterFactory(address="60 Greene St Riverside IA")) == "60 Greene St Riverside IA"
    by_coordinates = MeterFactory(address="", latitude=32.9479, longitude=-112.7168)
    assert payloads.location(by_coordinates) == {"latitude": 32.9479, "longitude": -112.7168}


def test_a_solar_asset_carries_its_kind_fields_in_camel_case():
    asset = AssetFactory(solar=True, custom_id="SP123", name="My asset", commenced_operation_date=date(2022, 8, 1))
    meter = MeterFactory(portfolio=asset.portfolio)
    assert payloads.asset_payload(asset, {meter: 999}) == {
        "name": "My asset",
        "customId": "SP123",
        "kind": "solar",
        "location": "60 Greene St Riverside IA",
        "utility": "ABC Utility",
        "meterIds": [999],
        "commencedOperationDate": "2022-08-01",
        "nameplateCapacityKw": 123.0,
        "inverterDataId": "1234",
        "inverterDataSource": "enphase",
        "externalRegistryName": "GATS",
        "externalRegistryAssetId": "45678",
    }


def test_an_electrification_asset_and_a_demand_response_asset():
    heat_pump = AssetFactory(electrification=True, utility="")
    assert payloads.asset_payload(heat_pump, {}) == {
        "name": heat_pump.name,
        "customId": heat_pump.custom_id,
        "kind": "electrification_eemetered",
        "location": "60 Greene St Riverside IA",
        "meterIds": [],
        "areaSqft": 1500,
        "previousFuel": "gas",
        "buildingType": "single_family_attached",
        "replacementType": "furnace_only",
        "yearBuilt": 1990,
        "numberOfStories": 2,
    }
    demand_response = AssetFactory(demand_response=True)
    meters = {MeterFactory(portfolio=demand_response.portfolio): id_ for id_ in (1002, 1001)}
    payload = payloads.asset_payload(demand_response, meters)
    assert payload["kind"] == "demand_response_eemetered"
    assert payload["meterIds"] == [1001, 1002]  # sorted: the fingerprint does not depend on query order


def test_problems_name_the_missing_field_and_meters_not_yet_sent():
    asset = AssetFactory(solar=True)
    asset.inverter_data_id = ""  # as saved under an older rule, or by a bulk update
    meter = MeterFactory(portfolio=asset.portfolio, name="Warehouse")
    assert payloads.asset_problems(asset, {meter: None}) == [
        "inverter data ID: Required for directly measured solar assets.",
        "meters: not on WattCarbon yet (Warehouse).",
    ]
    assert payloads.asset_problems(AssetFactory(solar=True), {meter: 1001}) == []


def test_changed_fields_sends_changes_and_nulls_for_removed_fields():
    before = {"name": "A", "utility": "X", "meterIds": [1], "externalRegistryName": "GATS"}
    after = {"name": "B", "utility": "X", "meterIds": [1, 2]}
    assert payloads.changed_fields(before, after) == {"name": "B", "meterIds": [1, 2], "externalRegistryName": None}
    assert payloads.changed_fields(after, after) == {}


def test_fingerprints_are_stable_and_order_free():
    assert payloads.fingerprint({"a": 1, "b": [1, 2]}) == payloads.fingerprint({"b": [1, 2], "a": 1})
    assert payloads.fingerprint({"a": 1}) != payloads.fingerprint({"a": 1.5})
    assert payloads.fingerprint(b"x") == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"


def test_intervals_and_bills_csv():
    eastern = ZoneInfo("America/New_York")
    content = payloads.intervals_csv(
        [(datetime(2024, 1, 1, tzinfo=UTC), 1.5), (datetime(2024, 1, 1, 1, tzinfo=eastern), 1e-05)]
    )
    assert content == (b"start_datetime,energy_kwh\n2024-01-01T00:00:00+00:00,1.5\n2024-01-01T06:00:00+00:00,0.00001\n")
    bills = payloads.bills_csv([(date(2026, 1, 1), date(2026, 2, 1), 10257.485)])
    assert bills == b"start_date,end_date,energy_kwh\n2026-01-01,2026-02-01,10257.485\n"


def test_events_across_the_end_of_daylight_saving_carry_their_own_offsets():
    asset = AssetFactory(demand_response=True, timezone="America/Chicago")
    central = ZoneInfo("America/Chicago")
    # Daylight saving time ends on 3 November 2024 at 02:00 in Chicago.
    before = DemandResponseEventFactory(
        asset=asset, start=datetime(2024, 11, 1, 17, tzinfo=central), end=datetime(2024, 11, 1, 20, tzinfo=central)
    )
    overnight = DemandResponseEventFactory(
        asset=asset, start=datetime(2024, 11, 3, 0, tzinfo=central), end=datetime(2024, 11, 3, 4, tzinfo=central)
    )
    after = DemandResponseEventFactory(
        asset=asset, start=datetime(2024, 11, 5, 16, tzinfo=central), end=datetime(2024, 11, 5, 18, tzinfo=central)
    )
    document = payloads.events_document(asset, [(e.start, e.end) for e in (before, overnight, after)])
    assert document.decode() == (
        "Event Start Time,Event End Time\n"
        "2024-11-01 17:00:00-05:00,2024-11-01 20:00:00-05:00\n"
        "2024-11-03 00:00:00-05:00,2024-11-03 04:00:00-06:00\n"
        "2024-11-05 16:00:00-06:00,2024-11-05 18:00:00-06:00\n"
    )


def test_pending_events_only_when_they_changed():
    asset = AssetFactory(demand_response=True)
    assert payloads.pending_events(asset, "") is None  # never had events: nothing to say
    DemandResponseEventFactory(asset=asset)
    document, digest, count = payloads.pending_events(asset, "")
    assert (document.count(b"\n"), count) == (2, 1)
    assert payloads.pending_events(asset, digest) is None
    asset.events.all().delete()
    assert payloads.pending_events(asset, digest) is None  # WattCarbon refuses an empty document
