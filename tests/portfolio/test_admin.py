"""The admin, as operations staff use it: every page renders, lists cost a fixed number of
queries whatever their length, big tables never count themselves, forms explain what is wrong."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portfolio.admin import deletion
from portfolio.admin.large_tables import CappedCountPaginator
from portfolio.choices import AssetKind, EquipmentType, SensorType
from portfolio.demo import load_demo_portfolio
from portfolio.models import (
    Asset,
    BillReading,
    DemandResponseEvent,
    Equipment,
    Farm,
    ImportRecord,
    IntervalReading,
    Meter,
    Observation,
    Portfolio,
    Sensor,
    SpreadsheetPreview,
    UserPreference,
)
from tests.factories import (
    AssetFactory,
    BillReadingFactory,
    DemandResponseEventFactory,
    EquipmentFactory,
    FarmFactory,
    IntervalReadingFactory,
    MeterFactory,
    ObservationFactory,
    PortfolioFactory,
    SensorFactory,
)
from tests.portfolio.admin_forms import errors_of, form_data

pytestmark = pytest.mark.django_db

PORTFOLIO_MODELS = [
    Portfolio,
    Farm,
    Equipment,
    Sensor,
    Observation,
    Meter,
    IntervalReading,
    BillReading,
    Asset,
    DemandResponseEvent,
]
NOW = datetime(2026, 3, 8, 18, 0, tzinfo=UTC)


def url(model, view, *args):
    return reverse(f"admin:portfolio_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def demo():
    load_demo_portfolio(now=NOW, reading_span=timedelta(hours=2))


def test_every_portfolio_model_is_in_the_admin():
    # A spreadsheet preview lives an hour and holds its confirmation token: never on a page.
    # A user's preferences are edited on their own page (Preferences), by that user only.
    internal = {SpreadsheetPreview, UserPreference}
    assert set(apps.get_app_config("portfolio").get_models()) == {*PORTFOLIO_MODELS, ImportRecord, *internal}
    for model in [*PORTFOLIO_MODELS, ImportRecord]:
        assert admin.site.is_registered(model), model
    assert not any(admin.site.is_registered(model) for model in internal)


@pytest.mark.parametrize("model", PORTFOLIO_MODELS, ids=lambda model: model.__name__)
def test_every_page_of_every_model_renders(admin_client, demo, model):
    obj = model.objects.order_by("pk").first()
    assert obj is not None, f"the demo portfolio has no {model.__name__}"
    pages = [
        url(model, "changelist"),
        url(model, "changelist") + "?q=DEMO",
        url(model, "add"),
        url(model, "change", obj.pk),
        url(model, "delete", obj.pk),
        url(model, "history", obj.pk),
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page


# One builder per changelist: `rows(n)` makes n list rows, each with the related data its
# computed columns read, so an N+1 would show as more queries for the longer list.
def _farms(n):
    for farm in FarmFactory.create_batch(n):
        ObservationFactory(sensor__equipment__farm=farm)


def _equipment(n):
    for equipment in EquipmentFactory.create_batch(n):
        ObservationFactory(sensor__equipment=equipment)


def _sensors(n):
    for sensor in SensorFactory.create_batch(n):
        ObservationFactory(sensor=sensor)


def _meters(n):
    for meter in MeterFactory.create_batch(n):
        IntervalReadingFactory(meter=meter)
        BillReadingFactory(meter=meter)
        AssetFactory(portfolio=meter.portfolio).meters.add(meter)


def _assets(n):
    for asset in AssetFactory.create_batch(n, demand_response=True):
        DemandResponseEventFactory(asset=asset)
        asset.meters.add(MeterFactory(portfolio=asset.portfolio))


ROW_BUILDERS = {
    Portfolio: lambda n: [FarmFactory(portfolio=PortfolioFactory()) for _ in range(n)],
    Farm: _farms,
    Equipment: _equipment,
    Sensor: _sensors,
    Observation: lambda n: ObservationFactory.create_batch(n),
    Meter: _meters,
    IntervalReading: lambda n: IntervalReadingFactory.create_batch(n),
    BillReading: lambda n: BillReadingFactory.create_batch(n),
    Asset: _assets,
    DemandResponseEvent: lambda n: DemandResponseEventFactory.create_batch(n),
}

# Queries per changelist page: session, user, count(s), the rows, and each related
# filter's list of choices. Pinned: a change here is a change in cost.
CHANGELIST_QUERIES = {
    Portfolio: 5,
    Farm: 7,
    Equipment: 7,
    Sensor: 7,
    Observation: 5,
    Meter: 6,
    IntervalReading: 5,
    BillReading: 5,
    Asset: 7,
    DemandResponseEvent: 9,
}


def _changelist_queries(client, model):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(model, "changelist"))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", PORTFOLIO_MODELS, ids=lambda model: model.__name__)
def test_changelist_queries_do_not_grow_with_the_page(admin_client, model):
    ROW_BUILDERS[model](3)
    short_page = _changelist_queries(admin_client, model)
    ROW_BUILDERS[model](9)
    long_page = _changelist_queries(admin_client, model)
    assert model.objects.count() >= 12
    assert (short_page, long_page) == (CHANGELIST_QUERIES[model], CHANGELIST_QUERIES[model])


@pytest.mark.parametrize("model", [Observation, IntervalReading, BillReading], ids=lambda model: model.__name__)
def test_big_tables_are_never_counted_in_full(admin_client, model):
    ROW_BUILDERS[model](5)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url(model, "changelist"))
    assert response.status_code == 200
    table = model._meta.db_table
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and table in q["sql"]]
    assert counts, "the changelist should count (a bounded number of) rows"
    assert all("LIMIT" in sql.upper() for sql in counts), counts


def test_observation_list_past_the_cap_asks_for_a_filter(admin_client, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    ObservationFactory.create_batch(8)
    response = admin_client.get(url(Observation, "changelist"))
    assert "More than 5 observations; filter to narrow the list." in response.text
    response = admin_client.get(url(Observation, "changelist") + "?sensor_id=nothing-matches")
    assert "0 observations" in response.text


def test_observation_filters_narrow_by_farm_equipment_sensor_and_date(admin_client):
    inverter = SensorFactory(sensor_id="AC-1", equipment__equipment_id="INV-7", equipment__farm__farm_id="NORTH")
    other = SensorFactory(sensor_id="AC-2", equipment__equipment_id="INV-8", equipment__farm__farm_id="SOUTH")
    t0 = datetime(2025, 5, 1, tzinfo=UTC)
    for day in range(3):
        ObservationFactory(sensor=inverter, observed_at=t0 + timedelta(days=day))
        ObservationFactory(sensor=other, observed_at=t0 + timedelta(days=day))

    def listed(query):
        response = admin_client.get(url(Observation, "changelist") + query)
        assert response.status_code == 200
        return {(obs.sensor.sensor_id, obs.observed_at.day) for obs in response.context["cl"].result_list}

    north = inverter.equipment.farm
    assert listed(f"?sensor__equipment__farm__id__exact={north.pk}") == {("AC-1", 1), ("AC-1", 2), ("AC-1", 3)}
    assert listed("?equipment_id=INV-8") == {("AC-2", 1), ("AC-2", 2), ("AC-2", 3)}
    day_two = "observed_at__gte=2025-05-02+00:00:00%2B00:00&observed_at__lt=2025-05-03+00:00:00%2B00:00"
    assert listed(f"?sensor_id=AC-1&{day_two}") == {("AC-1", 2)}
    assert listed(f"?sensor__id__exact={other.pk}&observed_at__gte=2025-05-03+00:00:00%2B00:00") == {("AC-2", 3)}


def test_observations_are_listed_per_sensor_newest_first(admin_client):
    sensor = SensorFactory()
    for hour in (3, 1, 2):
        ObservationFactory(sensor=sensor, observed_at=datetime(2025, 1, 1, hour, tzinfo=UTC))
    response = admin_client.get(url(Observation, "changelist") + f"?sensor__id__exact={sensor.pk}")
    assert [obs.observed_at.hour for obs in response.context["cl"].result_list] == [3, 2, 1]


def test_farm_delete_confirmation_counts_observations_without_loading_them(admin_client):
    farm = FarmFactory()
    sensor = SensorFactory(equipment__farm=farm)
    ObservationFactory.create_batch(30, sensor=sensor)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url(Farm, "delete", farm.pk))
    assert response.status_code == 200
    assert "Observations: 30" in response.text
    loads = [q["sql"] for q in queries if '"portfolio_observation"."value"' in q["sql"]]
    assert loads == []

    response = admin_client.post(url(Farm, "delete", farm.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Farm.objects.filter(pk=farm.pk).exists()
    assert not Observation.objects.filter(sensor_id=sensor.pk).exists()


def test_farm_delete_confirmation_stops_counting_at_the_cap(admin_client, monkeypatch):
    # The page counts at most the cap and one more (10,000 by default), as the observation list does.
    monkeypatch.setattr(deletion, "COUNT_CAP", 20)
    farm = FarmFactory()
    for sensor in SensorFactory.create_batch(2, equipment__farm=farm):
        ObservationFactory.create_batch(15, sensor=sensor)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url(Farm, "delete", farm.pk))
    assert "Observations: more than 20" in response.text
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"] and '"portfolio_observation"' in q["sql"]]
    assert counts and all("LIMIT 21" in sql for sql in counts)

    farm_readings = Observation.objects.filter(sensor__equipment__farm=farm)
    Observation.objects.filter(pk__in=list(farm_readings.values_list("pk", flat=True)[:10])).delete()
    assert "Observations: 20" in admin_client.get(url(Farm, "delete", farm.pk)).text


def test_sensor_list_shows_unit_and_last_observation(admin_client):
    sensor = SensorFactory(sensor_type=SensorType.DC_VOLTAGE)
    ObservationFactory(sensor=sensor, observed_at=datetime(2025, 2, 3, 4, 5, tzinfo=UTC))
    ObservationFactory(sensor=sensor, observed_at=datetime(2025, 2, 1, tzinfo=UTC))
    response = admin_client.get(url(Sensor, "changelist"))
    row = response.context["cl"].result_list[0]
    assert row.last_observation == datetime(2025, 2, 3, 4, 5, tzinfo=UTC)
    assert '<td class="field-unit">V</td>' in response.text


def test_farm_and_equipment_lists_count_sensors_and_find_the_newest_observation(admin_client):
    farm = FarmFactory()
    first, second = EquipmentFactory.create_batch(2, farm=farm)
    for equipment, day in ((first, 1), (second, 9)):
        sensor = SensorFactory(equipment=equipment)
        ObservationFactory(sensor=sensor, observed_at=datetime(2025, 4, day, tzinfo=UTC))
    SensorFactory(equipment=second)

    farm_row = admin_client.get(url(Farm, "changelist")).context["cl"].result_list[0]
    assert (farm_row.equipment_count, farm_row.sensor_count) == (2, 3)
    assert farm_row.last_observation == datetime(2025, 4, 9, tzinfo=UTC)
    rows = {row.pk: row for row in admin_client.get(url(Equipment, "changelist")).context["cl"].result_list}
    assert (rows[first.pk].sensor_count, rows[second.pk].sensor_count) == (1, 2)
    assert rows[first.pk].last_observation == datetime(2025, 4, 1, tzinfo=UTC)


def test_a_sensor_type_the_equipment_may_not_have_is_refused_inline(admin_client):
    equipment = EquipmentFactory(equipment_type=EquipmentType.INVERTER)
    data = form_data(admin_client.get(url(Equipment, "change", equipment.pk)))
    data.update(
        {"sensors-TOTAL_FORMS": "1", "sensors-0-sensor_type": SensorType.IRRADIANCE_POA, "sensors-0-sensor_id": "P1"}
    )
    response = admin_client.post(url(Equipment, "change", equipment.pk), data)
    assert response.status_code == 200
    assert errors_of(response) == [
        "'irradiance_poa' is not a sensor type of an inverter; allowed: dc_voltage, dc_current_amp, ac_power, dc_power."
    ]
    assert not Sensor.objects.exists()


def test_new_equipment_and_its_sensors_are_checked_together(admin_client):
    farm = FarmFactory()
    data = form_data(admin_client.get(url(Equipment, "add")))
    data.update(
        {
            "farm": str(farm.pk),
            "equipment_id": "WS-1",
            "name": "Weather station",
            "equipment_type": EquipmentType.WEATHER_STATION,
            "sensors-TOTAL_FORMS": "2",
            "sensors-0-sensor_type": SensorType.IRRADIANCE_POA,
            "sensors-1-sensor_type": SensorType.AC_POWER,
        }
    )
    response = admin_client.post(url(Equipment, "add"), data)
    assert errors_of(response) == [
        "'ac_power' is not a sensor type of a weather station/pyranometer; allowed: irradiance_poa, irradiance_ghi."
    ]
    data["sensors-1-sensor_type"] = SensorType.IRRADIANCE_GHI
    response = admin_client.post(url(Equipment, "add"), data)
    assert response.status_code == 302, errors_of(response)
    equipment = Equipment.objects.get(equipment_id="WS-1")
    assert sorted(equipment.sensors.values_list("sensor_type", flat=True)) == ["irradiance_ghi", "irradiance_poa"]


def test_asset_form_names_the_missing_kind_field(admin_client):
    portfolio = PortfolioFactory()
    data = form_data(admin_client.get(url(Asset, "add")))
    data.update(
        {
            "portfolio": str(portfolio.pk),
            "custom_id": "SP123",
            "name": "My asset",
            "kind": AssetKind.SOLAR,
            "timezone": "America/Chicago",
            "address": "60 Greene St Riverside IA",
            "inverter_data_id": "1234",
            "inverter_data_source": "enphase",
        }
    )
    response = admin_client.post(url(Asset, "add"), data)
    assert errors_of(response) == ["Required for directly measured solar assets."]
    assert 'class="errorlist' in response.text and "field-nameplate_capacity_kw" in response.text
    data["nameplate_capacity_kw"] = "123"
    response = admin_client.post(url(Asset, "add"), data)
    assert response.status_code == 302, errors_of(response)
    assert Asset.objects.get(custom_id="SP123").nameplate_capacity_kw == 123


def test_asset_form_refuses_meters_of_another_portfolio(admin_client):
    asset = AssetFactory()
    foreign = MeterFactory(name="Foreign meter")
    data = form_data(admin_client.get(url(Asset, "change", asset.pk)))
    data["meters"] = [str(foreign.pk)]
    response = admin_client.post(url(Asset, "change", asset.pk), data)
    assert errors_of(response) == ["These meters belong to another portfolio: Foreign meter."]
    assert not asset.meters.exists()


def test_asset_page_shows_and_reads_event_times_in_the_asset_time_zone(admin_client):
    asset = AssetFactory(demand_response=True, timezone="America/Chicago")
    DemandResponseEventFactory(
        asset=asset, start=datetime(2021, 1, 1, 22, tzinfo=UTC), end=datetime(2021, 1, 2, 1, tzinfo=UTC)
    )
    response = admin_client.get(url(Asset, "change", asset.pk))
    assert "Times on this page are in America/Chicago." in response.text
    assert 'name="events-0-start_1" value="16:00:00"' in response.text
    with timezone.override(ZoneInfo("America/Chicago")):
        data = form_data(response)

    data.update({"events-TOTAL_FORMS": "2", "events-1-start_0": "2021-01-05", "events-1-start_1": "16:00"})
    data.update({"events-1-end_0": "2021-01-05", "events-1-end_1": "18:00"})
    response = admin_client.post(url(Asset, "change", asset.pk), data)
    assert response.status_code == 302, errors_of(response)
    added = asset.events.order_by("start").last()
    assert (added.start, added.end) == (datetime(2021, 1, 5, 22, tzinfo=UTC), datetime(2021, 1, 6, 0, tzinfo=UTC))


def test_events_submitted_together_may_not_overlap(admin_client):
    asset = AssetFactory(demand_response=True, timezone="UTC")
    data = form_data(admin_client.get(url(Asset, "change", asset.pk)))
    rows = {0: ("17:00", "20:00"), 1: ("19:00", "21:00")}
    data["events-TOTAL_FORMS"] = "2"
    for index, (start, end) in rows.items():
        data.update({f"events-{index}-start_0": "2021-01-01", f"events-{index}-start_1": start})
        data.update({f"events-{index}-end_0": "2021-01-01", f"events-{index}-end_1": end})
    response = admin_client.post(url(Asset, "change", asset.pk), data)
    assert errors_of(response) == ["The events starting 2021-01-01 17:00 UTC and 2021-01-01 19:00 UTC overlap."]
    assert not asset.events.exists()


def test_events_inline_only_on_assets_that_have_events(admin_client):
    storage = AssetFactory()
    demand_response = AssetFactory(demand_response=True)
    assert admin_client.get(url(Asset, "change", storage.pk)).context["inline_admin_formsets"] == []
    inlines = admin_client.get(url(Asset, "change", demand_response.pk)).context["inline_admin_formsets"]
    assert [inline.formset.prefix for inline in inlines] == ["events"]


def test_time_zone_is_chosen_from_the_tz_database(admin_client):
    response = admin_client.get(url(Farm, "add"))
    assert '<select name="timezone"' in response.text
    assert '<option value="America/New_York">America/New_York</option>' in response.text
