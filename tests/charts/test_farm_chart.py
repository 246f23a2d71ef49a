"""A farm's production per day, in its own time zone, from its register or its power sensors."""

from datetime import UTC, datetime

import pytest

from portfolio.choices import EquipmentType, SensorType
from portfolio.models import Farm, Observation
from tests.charts.helpers import chart, chart_url, viewer
from tests.factories import EquipmentFactory, FarmFactory, SensorFactory

pytestmark = pytest.mark.django_db


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def read(sensor, *moments_and_values):
    Observation.objects.bulk_create(Observation(sensor=sensor, observed_at=t, value=v) for t, v in moments_and_values)


def production(farm, **query):
    return chart(viewer(), chart_url(Farm, "production", farm.pk), **query)


def test_power_gives_each_hours_average_summed_into_local_days():
    farm = FarmFactory(timezone="America/New_York")  # UTC-5 in January
    one = SensorFactory(equipment=EquipmentFactory(farm=farm), sensor_type=SensorType.AC_POWER)
    two = SensorFactory(equipment=EquipmentFactory(farm=farm), sensor_type=SensorType.AC_POWER)
    read(
        one,
        (utc(2026, 1, 10, 15, 0), 1000.0),  # 10:00 local: average 2,000 W → 2 kWh
        (utc(2026, 1, 10, 15, 30), 3000.0),
        (utc(2026, 1, 10, 16, 10), 4000.0),  # 11:00 local: 4 kWh
        (utc(2026, 1, 11, 4, 30), 1000.0),  # 23:30 on the 10th, local: 1 kWh
        (utc(2026, 1, 11, 5, 30), 2000.0),  # 00:30 on the 11th, local: 2 kWh
    )
    read(two, (utc(2026, 1, 10, 17, 0), 500.0))  # 12:00 local: 0.5 kWh
    data = production(farm, **{"from": "2026-01-10", "to": "2026-01-11"})

    # From 2026-01-10 00:00 UTC to 2026-01-12 00:00 UTC: local days 9 to 11.
    assert data["labels"] == ["2026-01-09", "2026-01-10", "2026-01-11"]
    (energy,) = data["series"]
    assert energy["unit"] == "kWh"
    assert energy["values"] == [None, pytest.approx(7.5), pytest.approx(2.0)]
    assert data["notes"][0].startswith("Energy from the inverters' AC power")
    assert "America/New_York" in data["notes"][1]


def test_both_hours_named_one_oclock_count_when_the_clocks_turn_back():
    farm = FarmFactory(timezone="America/New_York")  # 2025-11-02: 01:00 to 02:00 happens twice
    sensor = SensorFactory(equipment=EquipmentFactory(farm=farm), sensor_type=SensorType.AC_POWER)
    read(sensor, (utc(2025, 11, 2, 5, 30), 1000.0), (utc(2025, 11, 2, 6, 30), 3000.0))  # 01:30 EDT, 01:30 EST
    data = production(farm, **{"from": "2025-11-02T12:00", "to": "2025-11-02T13:00"})
    assert data["labels"] == ["2025-11-02"]
    assert data["series"][0]["values"] == [pytest.approx(4.0)]


def test_a_register_gives_each_days_highest_reading_minus_the_day_befores():
    farm = FarmFactory(timezone="UTC")
    inverter = SensorFactory(equipment=EquipmentFactory(farm=farm), sensor_type=SensorType.AC_POWER)
    meter = EquipmentFactory(farm=farm, equipment_type=EquipmentType.METER)
    register = SensorFactory(equipment=meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    read(inverter, (utc(2026, 1, 10, 12), 99_000.0))  # not counted: the register is the farm's meter
    read(
        register,
        (utc(2026, 1, 9, 20), 1000.0),
        (utc(2026, 1, 10, 8), 2000.0),
        (utc(2026, 1, 10, 18), 4000.0),
        (utc(2026, 1, 11, 9), 3500.0),  # went down: a reset, left out
        (utc(2026, 1, 13, 9), 9000.0),  # no reading on the 12th: a gap, left out
    )
    data = production(farm, **{"from": "2026-01-10", "to": "2026-01-13"})
    assert data["labels"] == ["2026-01-10", "2026-01-11", "2026-01-12", "2026-01-13"]
    assert data["series"][0]["values"] == [pytest.approx(3.0), None, None, None]
    assert any("2 days are left out" in note for note in data["notes"])


def test_a_farm_without_production_sensors_or_readings_in_range_is_empty():
    farm = FarmFactory()
    data = production(farm, range="7d")
    assert data["empty"] is True
    assert "no production meter" in data["notes"][0]

    sensor = SensorFactory(equipment=EquipmentFactory(farm=farm), sensor_type=SensorType.AC_POWER)
    read(sensor, (utc(2025, 5, 1, 12), 100.0))
    data = production(farm, range="30d", end="2026-01-01")
    assert data["empty"] is True
    assert data["latest_ms"] == int(utc(2025, 5, 1, 12).timestamp() * 1000)


def test_a_year_is_one_bar_per_day():
    farm = FarmFactory(timezone="Asia/Kolkata")  # hours start at half past the UTC hour
    sensor = SensorFactory(equipment=EquipmentFactory(farm=farm), sensor_type=SensorType.AC_POWER)
    read(sensor, (utc(2025, 6, 30, 18, 29), 1000.0), (utc(2025, 6, 30, 18, 31), 3000.0))  # 23:59 and 00:01 local
    data = production(farm, range="1y", end="2026-01-01")
    assert len(data["labels"]) == 366  # the days the range touches, in Kolkata
    by_day = dict(zip(data["labels"], data["series"][0]["values"], strict=True))
    assert by_day["2025-06-30"] == pytest.approx(1.0)
    assert by_day["2025-07-01"] == pytest.approx(3.0)
