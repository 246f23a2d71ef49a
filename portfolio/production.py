"""Hourly kWh for a utility meter fed by a farm's production meter, derived from its observations.

From the ``production_meter_energy`` register (Wh, cumulative) an hour's energy is the
difference between its highest reading and the previous hour's. An hour is left out, never
guessed, when the register went down (a reset or a meter swap) or when the hour before has no
reading (a gap: the difference would spread unknown hours over one). Without a register,
``production_meter_power`` gives the average W times one hour.

Derived hours are stored as interval readings of the meter; an hour is written again only when
its value changed, so unchanged hours are not sent again. Only complete hours are derived: an
hour needs a later observation to exist, and the hour a derivation ended in is derived by the next
one that has a later observation. Observations that arrive late are picked up by their ingestion
time, and every hour they touch is derived again.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, timedelta

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from portfolio.choices import EnergyUnit, SensorType
from portfolio.models import IntervalReading, Observation, Sensor

__all__ = ["Derivation", "derive_hourly_intervals", "source_sensor"]

HOUR = timedelta(hours=1)
WH_PER_KWH = 1000.0
# Hours whose value moved less than this are not written again (float noise, not a change).
SAME_KWH = 1e-9


@dataclass
class Derivation:
    sensor: Sensor | None = None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # (hour start, why it was left out), in time order.
    skipped: list = field(default_factory=list)
    stamp: object = None  # the ingested_at given to the rows written (None when none were)

    @property
    def written(self):
        return self.created + self.updated


def source_sensor(meter):
    """The sensor a meter's intervals come from: the register if the farm meter has one, else its power."""
    if meter.source_equipment_id is None:
        return None
    sensors = Sensor.objects.filter(
        equipment_id=meter.source_equipment_id,
        sensor_type__in=(SensorType.PRODUCTION_METER_ENERGY, SensorType.PRODUCTION_METER_POWER),
    )
    # The register first; among sensors of one type, the unnamed one, then by sensor ID.
    return min(sensors, key=lambda s: (s.sensor_type != SensorType.PRODUCTION_METER_ENERGY, s.sensor_id), default=None)


def derive_hourly_intervals(meter, until, *, write=True):
    """Derive the hours touched by observations ingested after ``meter.derived_through`` up to ``until``.

    With ``write=False`` (a dry run) nothing is stored and the watermark stays; the counts say
    what would be written.
    """
    result = Derivation(sensor=source_sensor(meter))
    if result.sensor is None:
        return result
    sensor = result.sensor
    fresh = Observation.objects.filter(sensor=sensor, ingested_at__lte=until)
    if meter.derived_through is not None:
        fresh = fresh.filter(ingested_at__gt=meter.derived_through)
    span = fresh.aggregate(first=Min("observed_at"), last=Max("observed_at"))
    if span["first"] is not None:
        first = _hour(span["first"])
        if meter.derived_through is not None:
            # The hour the last derivation ended in was not complete then; a later reading completes it.
            seen = Observation.objects.filter(sensor=sensor, ingested_at__lte=meter.derived_through)
            last_seen = seen.aggregate(latest=Max("observed_at"))["latest"]
            if last_seen is not None:
                first = min(first, _hour(last_seen))
        hours = _hours(sensor, first, _hour(span["last"]) + HOUR, until)
        _store(meter, hours, result, write)
    if write:
        meter.derived_through = until
        type(meter).objects.filter(pk=meter.pk).update(derived_through=until)
    return result


def _hour(moment):
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hours(sensor, first, last, until):
    """hour start → kWh (or None with a reason) for the hours from ``first`` to ``last``, complete ones only."""
    register = sensor.sensor_type == SensorType.PRODUCTION_METER_ENERGY
    # A register's first hour needs the hour before it.
    start = first - HOUR if register else first
    known = Observation.objects.filter(sensor=sensor, ingested_at__lte=until).aggregate(
        earliest=Min("observed_at"), latest=Max("observed_at")
    )
    earliest, latest = _hour(known["earliest"]), known["latest"]
    values = defaultdict(list)
    rows = Observation.objects.filter(
        sensor=sensor, ingested_at__lte=until, observed_at__gte=start, observed_at__lt=last + HOUR
    ).values_list("observed_at", "value")
    for observed_at, value in rows.iterator(chunk_size=10_000):
        values[_hour(observed_at)].append(value)

    hours = {}
    hour = first
    while hour <= last:
        if hour + HOUR > latest:
            break  # not complete yet: a later observation must exist
        if hour in values:
            if not register:
                hours[hour] = (_average(values[hour]) / WH_PER_KWH, None)
            elif hour == earliest:
                hours[hour] = (None, "the register's first hour (no earlier reading to subtract)")
            else:
                hours[hour] = _register_hour(values, hour)
        hour += HOUR
    return hours


def _register_hour(values, hour):
    before = values.get(hour - HOUR)
    if not before:
        return None, "no register reading in the hour before (a gap)"
    kwh = (max(values[hour]) - max(before)) / WH_PER_KWH
    if kwh < 0:
        return None, "the register went down (a reset?)"
    return kwh, None


def _average(values):
    return math.fsum(values) / len(values)


def _store(meter, hours, result, write):
    if not hours:
        return
    stamp = timezone.now()
    existing = {
        reading.start: reading
        for reading in IntervalReading.objects.filter(meter=meter, start__gte=min(hours), start__lte=max(hours))
    }
    created, updated = [], []
    for hour, (kwh, reason) in sorted(hours.items()):
        if kwh is None:
            result.skipped.append((hour, reason))
            continue
        reading = existing.get(hour)
        if reading is None:
            created.append(
                IntervalReading(
                    meter=meter, start=hour, end=hour + HOUR, quantity=kwh, unit=EnergyUnit.KWH, ingested_at=stamp
                )
            )
        elif abs(reading.quantity - kwh) > SAME_KWH or reading.end != hour + HOUR or reading.unit != EnergyUnit.KWH:
            reading.quantity, reading.end, reading.unit, reading.ingested_at = kwh, hour + HOUR, EnergyUnit.KWH, stamp
            updated.append(reading)
        else:
            result.unchanged += 1
    result.created, result.updated = len(created), len(updated)
    if created or updated:
        result.stamp = stamp  # only rows written carry it
    if write:
        with transaction.atomic():
            IntervalReading.objects.bulk_create(created, batch_size=2000)
            IntervalReading.objects.bulk_update(updated, ["quantity", "end", "unit", "ingested_at"], batch_size=2000)
