"""Farms, sensors and readings for the Raptor Maps CSV tests, the CSV's rows read back, and the
rows it should hold, rolled up here independently of the generator."""

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from portfolio.choices import SENSOR_TYPES, Aggregation
from portfolio.models import Equipment, Observation, Sensor
from tests.factories import FarmFactory, PortfolioFactory

INGESTED = datetime(2025, 1, 1, tzinfo=UTC)
UNTIL = datetime(2025, 6, 1, tzinfo=UTC)


def at(*args):
    return datetime(*args, tzinfo=UTC)


def make_farm(**fields):
    fields.setdefault("portfolio", PortfolioFactory(slug="csv"))
    return FarmFactory(**fields)


def make_sensor(farm, sensor_type="ac_power", *, equipment_id="INV-1", equipment_name=None, sensor_id=None, name=""):
    """A sensor on the farm's equipment ``equipment_id`` (made, of a type that may carry the sensor, if new)."""
    equipment_type = SENSOR_TYPES[sensor_type].equipment_types[0]
    equipment, _ = Equipment.objects.get_or_create(
        farm=farm,
        equipment_id=equipment_id,
        defaults={"name": equipment_name or f"Equipment {equipment_id}", "equipment_type": equipment_type},
    )
    return Sensor.objects.create(
        equipment=equipment,
        sensor_id=sensor_type if sensor_id is None else sensor_id,
        name=name,
        sensor_type=sensor_type,
    )


@dataclass(frozen=True)
class Reading:
    sensor: Sensor
    observed_at: datetime
    value: float
    ingested_at: datetime


def record(sensor, start, step, values, ingested_at=INGESTED):
    """Store ``values`` for the sensor at ``start``, ``start + step``, ...; return them as Readings."""
    readings = [Reading(sensor, start + n * step, float(value), ingested_at) for n, value in enumerate(values)]
    Observation.objects.bulk_create(
        Observation(sensor=r.sensor, observed_at=r.observed_at, value=r.value, ingested_at=r.ingested_at)
        for r in readings
    )
    return readings


MINUTE = timedelta(minutes=1)


def label(moment, zone):
    """The bucket a reading belongs to, as the CSV writes its time: its zone's wall clock, floored to 15 minutes."""
    local = moment.astimezone(zone)
    return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0).strftime("%Y-%m-%d %H:%M:%S")


def rollup(readings, time_basis="local"):
    """{(sensor pk, observation_time): (value, readings)}: average, or maximum for the energy register."""
    groups = defaultdict(list)
    for reading in sorted(readings, key=lambda r: (r.sensor.pk, r.observed_at)):
        farm = reading.sensor.equipment.farm
        zone = ZoneInfo(farm.timezone if time_basis == "local" else "UTC")
        groups[reading.sensor.pk, label(reading.observed_at, zone)].append(reading.value)
    rows = {}
    for key, values in groups.items():
        sensor = next(r.sensor for r in readings if r.sensor.pk == key[0])
        if SENSOR_TYPES[sensor.sensor_type].aggregation == Aggregation.MAXIMUM:
            rows[key] = (max(values), len(values))
        else:
            rows[key] = (sum(values) / len(values), len(values))
    return rows


def part_lines(build):
    """Every part's rows as lists of cells (the header rows included)."""
    parts = []
    for part in build.parts:
        with part.path.open(newline="", encoding="utf-8") as stream:
            parts.append(list(csv.reader(stream)))
    return parts


def data_rows(build):
    """The data rows of all parts as dicts by header."""
    return [dict(zip(lines[0], row, strict=True)) for lines in part_lines(build) for row in lines[1:]]


def by_sensor_and_time(build):
    """{(sensor_id, sensor_type, observation_time): measured_value as float}; fails on a repeated key."""
    found = {}
    for row in data_rows(build):
        key = (row["equipment_id"], row["sensor_id"], row["sensor_type"], row["observation_time"])
        assert key not in found, f"repeated row {key}"
        found[key] = float(row["measured_value"])
    return found


def keyed(expected):
    """``rollup`` output keyed like ``by_sensor_and_time``."""
    sensors = {s.pk: s for s in Sensor.objects.filter(pk__in={pk for pk, _ in expected})}
    return {
        (sensors[pk].equipment.equipment_id, sensors[pk].sensor_id, sensors[pk].sensor_type, time): value
        for (pk, time), (value, _) in expected.items()
    }
