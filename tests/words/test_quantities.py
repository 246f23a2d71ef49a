"""Numbers for people: grouped, rounded, with their unit (10,257.48 kWh), in lists and on pages."""

import pytest
from django.urls import reverse

from portfolio.choices import EnergyUnit, SensorType
from portfolio.quantities import byte_size, count, quantity
from tests.factories import FarmFactory, IntervalReadingFactory, ObservationFactory, SensorFactory
from tests.uploads.admin_helpers import make_run, token_integration


def test_a_quantity_is_grouped_rounded_and_has_its_unit():
    assert quantity(10257.484999999999, "kWh") == "10,257.48 kWh"
    assert quantity(5000, "kW") == "5,000.00 kW"
    assert quantity(812.25, "W/m^2", places=1) == "812.2 W/m²"
    assert quantity(-0.001, "W") == "0.00 W"  # never "-0.00"
    assert quantity(-73.9, "") == "-73.90"
    assert quantity(None, "kWh") == "-"
    assert count(12345) == "12,345" and count(3, "rows") == "3 rows"
    assert byte_size(1_572_864) == "1.5\xa0MB" and byte_size(None) == "-"  # a space that never breaks


@pytest.mark.django_db
def test_lists_show_capacity_readings_and_energy_with_units(admin_client):
    FarmFactory(farm_id="BIG", dc_capacity_kw=10257.484999999999)
    sensor = SensorFactory(sensor_type=SensorType.IRRADIANCE_POA, equipment__equipment_type="weather_station")
    ObservationFactory(sensor=sensor, value=812.3456789)
    IntervalReadingFactory(quantity=1.2345678, unit=EnergyUnit.THERM)

    farms = admin_client.get(reverse("admin:portfolio_farm_changelist")).text
    assert "10,257.48 kW" in farms and "10257.48" not in farms and "10,257.484" not in farms
    observations = admin_client.get(reverse("admin:portfolio_observation_changelist")).text
    assert "812.35 W/m²" in observations and "812.345" not in observations
    intervals = admin_client.get(reverse("admin:portfolio_intervalreading_changelist")).text
    assert "1.23 therm" in intervals and "36.18 kWh" in intervals  # 1.2345678 therm at 29.3071 kWh a therm


@pytest.mark.django_db
def test_an_interval_readings_page_shows_its_energy_rounded(admin_client):
    reading = IntervalReadingFactory(quantity=10257.484999999999)
    page = admin_client.get(reverse("admin:portfolio_intervalreading_change", args=[reading.pk])).text
    assert "10,257.48 kWh" in page and "10,257.484999" not in page


@pytest.mark.django_db
def test_upload_runs_show_rows_bytes_and_call_durations_with_units(admin_client):
    run = make_run(token_integration(), rows=1_234_567, bytes=1_572_864, attempts=1, parts=1)
    runs = admin_client.get(reverse("admin:uploads_uploadrun_changelist")).text
    assert "1,234,567" in runs and "1.5\xa0MB" in runs
    page = admin_client.get(reverse("admin:uploads_uploadrun_change", args=[run.pk])).text
    assert "1,234 ms</td>" in page and "64.0\xa0KB" in page
