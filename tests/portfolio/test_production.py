"""Hourly kWh derived from a farm's production meter (portfolio/production.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from portfolio.choices import EquipmentType, SensorType
from portfolio.models import IntervalReading, Observation
from portfolio.production import derive_hourly_intervals
from tests.factories import EquipmentFactory, MeterFactory, SensorFactory

pytestmark = pytest.mark.django_db

DAY = datetime(2024, 3, 1, tzinfo=UTC)


def at(hour, minute=0):
    return DAY + timedelta(hours=hour, minutes=minute)


@pytest.fixture
def farm_meter():
    return EquipmentFactory(equipment_type=EquipmentType.METER)


def fed_meter(equipment):
    return MeterFactory(portfolio=equipment.farm.portfolio, source_equipment=equipment)


def observe(sensor, readings, ingested_at=None):
    Observation.objects.bulk_create(
        Observation(sensor=sensor, observed_at=moment, value=value, ingested_at=ingested_at or timezone.now())
        for moment, value in readings
    )


def quarter_hours(hour, first_wh):
    """Four readings in the hour, the register climbing 250 Wh every 15 minutes (1 kWh an hour)."""
    return [(at(hour, 15 * step), first_wh + 250 * step) for step in range(4)]


def derived(meter):
    return {reading.start: reading.quantity for reading in IntervalReading.objects.filter(meter=meter)}


def test_register_differences_skip_a_reset_and_the_hour_after_a_gap(farm_meter):
    register = SensorFactory(equipment=farm_meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    meter = fed_meter(farm_meter)
    observe(
        register,
        quarter_hours(0, 1000)
        + quarter_hours(1, 2000)
        + quarter_hours(2, 3000)
        + quarter_hours(3, 0)  # the register was reset at 03:00
        + quarter_hours(4, 1000)
        # 05:00-06:00: no readings at all
        + quarter_hours(6, 3000)
        + quarter_hours(7, 4000)
        + [(at(8), 5000)],  # hour 8 has begun, so hour 7 is complete; hour 8 is not
    )

    result = derive_hourly_intervals(meter, timezone.now())

    assert derived(meter) == {at(1): 1.0, at(2): 1.0, at(4): 1.0, at(7): 1.0}
    assert [(hour, reason) for hour, reason in result.skipped] == [
        (at(0), "the register's first hour (no earlier reading to subtract)"),
        (at(3), "the register went down (a reset?)"),
        (at(6), "no register reading in the hour before (a gap)"),
    ]
    assert (result.created, result.updated) == (4, 0)
    assert all(reading.end - reading.start == timedelta(hours=1) for reading in IntervalReading.objects.all())
    assert min(derived(meter).values()) >= 0


def test_late_observations_derive_only_the_hours_they_touch(farm_meter):
    register = SensorFactory(equipment=farm_meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    meter = fed_meter(farm_meter)
    first_batch = timezone.now() - timedelta(minutes=10)
    observe(register, quarter_hours(0, 1000) + quarter_hours(1, 2000) + [(at(2), 3000)], ingested_at=first_batch)
    derive_hourly_intervals(meter, first_batch)
    assert derived(meter) == {at(1): 1.0}
    first_stamp = IntervalReading.objects.get().ingested_at
    meter.refresh_from_db()
    assert meter.derived_through == first_batch

    # The rest of hour 2 arrives, and a corrected 01:45 reading (+200 Wh).
    observe(register, [(at(2, 15 * step), 3000 + 250 * step) for step in (1, 2, 3)] + [(at(3), 4000)])
    Observation.objects.filter(sensor=register, observed_at=at(1, 45)).update(value=2950, ingested_at=timezone.now())
    result = derive_hourly_intervals(meter, timezone.now())

    assert derived(meter) == {at(1): pytest.approx(1.2), at(2): pytest.approx(0.8)}
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    assert IntervalReading.objects.get(start=at(1)).ingested_at > first_stamp  # so the change is sent again

    again = derive_hourly_intervals(meter, timezone.now())
    assert (again.created, again.updated) == (0, 0)  # nothing new: nothing written


def test_the_hour_a_derivation_ended_in_is_derived_once_a_later_batch_completes_it(farm_meter):
    # Readings arrive in hourly batches: hour 1 is not complete when its batch is derived, and the
    # next batch starts at 02:00, so nothing fresh falls in hour 1 itself.
    register = SensorFactory(equipment=farm_meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    meter = fed_meter(farm_meter)
    first_batch = timezone.now() - timedelta(minutes=10)
    observe(register, quarter_hours(0, 1000) + quarter_hours(1, 2000), ingested_at=first_batch)
    derive_hourly_intervals(meter, first_batch)
    assert derived(meter) == {}

    observe(register, [*quarter_hours(2, 3000), (at(3), 4000)])
    derive_hourly_intervals(meter, timezone.now())

    assert derived(meter) == {at(1): 1.0, at(2): 1.0}


def test_without_a_register_the_average_power_times_one_hour(farm_meter):
    power = SensorFactory(equipment=farm_meter, sensor_type=SensorType.PRODUCTION_METER_POWER)
    meter = fed_meter(farm_meter)
    observe(power, [(at(10, 15 * step), 1000.0 * (step + 1)) for step in range(4)] + [(at(11), 0.0)])

    derive_hourly_intervals(meter, timezone.now())

    assert derived(meter) == {at(10): 2.5}  # (1000 + 2000 + 3000 + 4000) / 4 W for one hour


def test_the_register_is_preferred_to_the_power_sensor(farm_meter):
    register = SensorFactory(equipment=farm_meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    power = SensorFactory(equipment=farm_meter, sensor_type=SensorType.PRODUCTION_METER_POWER)
    meter = fed_meter(farm_meter)
    observe(register, quarter_hours(0, 0) + quarter_hours(1, 1000) + [(at(2), 2000)])
    observe(power, [(at(1, 15 * step), 9000.0) for step in range(4)] + [(at(2), 0.0)])

    result = derive_hourly_intervals(meter, timezone.now())

    assert result.sensor == register
    assert derived(meter) == {at(1): 1.0}


def test_a_dry_run_writes_nothing(farm_meter):
    register = SensorFactory(equipment=farm_meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    meter = fed_meter(farm_meter)
    observe(register, quarter_hours(0, 0) + quarter_hours(1, 1000) + [(at(2), 2000)])

    result = derive_hourly_intervals(meter, timezone.now(), write=False)

    assert (result.created, result.updated) == (1, 0)
    assert not IntervalReading.objects.exists()
    meter.refresh_from_db()
    assert meter.derived_through is None


def test_a_meter_without_a_source_derives_nothing():
    meter = MeterFactory()
    result = derive_hourly_intervals(meter, timezone.now())
    assert result.sensor is None
    assert result.written == 0
