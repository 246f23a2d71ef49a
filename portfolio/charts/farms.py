"""A farm's production per day, in its own time zone, by the rules of portfolio/production.py.

The source is the farm's production-meter register when it has one (a day's energy is its
highest reading minus the day before's; left out after a gap or when the register went down),
else its production-meter power, else its inverters' AC power (each hour's average W times one
hour, summed over the sensors). The database rolls the readings up to one row per local hour
(added up over the power sensors, per sensor for a register); the hours are then added up into
local days here: a year is 8,760 rows, whatever the number of readings.
"""

from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from portfolio.charts.sensors import latest_of_sensors
from portfolio.charts.sql import bucket_sql, db_moment, quoted_table
from portfolio.choices import SensorType
from portfolio.models import Observation, Sensor
from portfolio.production import WH_PER_KWH

__all__ = ["SOURCES", "farm_production", "production_source"]

HOUR = 3600
# Which sensors give a farm's production, the first the farm has.
SOURCES = (
    (
        SensorType.PRODUCTION_METER_ENERGY,
        "the production meter's register: a day's highest reading minus the day before's",
    ),
    (SensorType.PRODUCTION_METER_POWER, "the production meter's power: each hour's average times one hour"),
    (SensorType.AC_POWER, "the inverters' AC power: each hour's average times one hour, added up"),
)


def production_source(farm):
    """(sensor type, words, sensors) of the sensors the farm's production comes from, or (None, None, [])."""
    sensors = Sensor.objects.filter(equipment__farm=farm)
    present = set(sensors.values_list("sensor_type", flat=True).distinct())
    for sensor_type, words in SOURCES:
        if sensor_type in present:
            return sensor_type, words, list(sensors.filter(sensor_type=sensor_type).order_by("pk"))
    return None, None, []


def farm_production(farm, chart_range):
    """The bar chart of the farm's kWh per local day over the days ``chart_range`` touches."""
    zone = ZoneInfo(str(farm.timezone))
    first = chart_range.start.astimezone(zone).date()
    last = (chart_range.end - timedelta(microseconds=1)).astimezone(zone).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    sensor_type, words, sensors = production_source(farm)
    notes = [f"Days in the farm's time zone, {zone.key}."]
    energy = {}
    if sensors:
        notes.insert(0, f"Energy from {words}.")
        if sensor_type == SensorType.PRODUCTION_METER_ENERGY:
            energy, gaps = _register_days(sensors, days, zone)
            if gaps:
                left_out = "1 day is" if gaps == 1 else f"{gaps:,} days are"
                notes.append(f"{left_out} left out: no reading the day before, or the register went down.")
        else:
            energy = _power_days(sensors, days, zone)
    else:
        notes.insert(0, "This farm has no production meter or inverter AC power sensor to measure production by.")
    values = [energy.get(day) for day in days]
    empty = all(value is None for value in values)
    result = {
        "kind": "bars",
        "range": chart_range.as_json(),
        "labels": [f"{day:%Y-%m-%d}" for day in days],
        "series": [{"label": "energy produced", "unit": "kWh", "values": values, "tone": "primary"}],
        "notes": notes,
        "empty": empty,
    }
    if empty and sensors:
        result["latest_ms"] = latest_of_sensors(Sensor.objects.filter(pk__in=[s.pk for s in sensors]))
    return result


def _midnight(day, zone):
    return datetime.combine(day, time.min, tzinfo=zone)


def _phase(zone, moment):
    """Seconds past the UTC hour at which the zone's hours start (1800 in India, 2700 in Nepal)."""
    return int(moment.utcoffset().total_seconds()) % HOUR


def _register_hours(sensors, start, end, zone):
    """[(sensor pk, local hour start in epoch seconds, the hour's highest reading)].

    Epoch seconds, not local times, as keys: the hour repeated when the clocks turn back is two
    hours with one local name.
    """
    placeholders = ", ".join(["%s"] * len(sensors))
    bucket = bucket_sql("observed_at", HOUR, _phase(zone, start))
    statement = f"""
        SELECT sensor_id, {bucket} AS bucket, max(value)
        FROM {quoted_table(Observation)}
        WHERE sensor_id IN ({placeholders}) AND observed_at >= %s AND observed_at < %s
        GROUP BY 1, 2
    """
    with connection.cursor() as cursor:
        cursor.execute(statement, [*(s.pk for s in sensors), db_moment(start), db_moment(end)])
        return cursor.fetchall()


def _power_days(sensors, days, zone):
    start, end = _midnight(days[0], zone), _midnight(days[-1] + timedelta(days=1), zone)
    energy = defaultdict(float)
    for second, watts in _power_hours(sensors, start, end, zone):
        energy[datetime.fromtimestamp(second, zone).date()] += watts / WH_PER_KWH  # W for one hour = Wh
    return dict(energy)


def _power_hours(sensors, start, end, zone):
    """[(local hour start in epoch seconds, each sensor's average W in that hour, added up)].

    The database adds the sensors up, so a year is 8,760 rows whatever the number of inverters.
    An average is sum / count, as avg() computes it.
    """
    phase = _phase(zone, start)
    if connection.vendor == "postgresql":
        # date_bin is integer arithmetic where the epoch expression is floating point.
        hour, epoch = (
            f"date_bin('1 hour', observed_at, to_timestamp({phase}))",
            "date_part('epoch', hours.start)::bigint",
        )
    else:
        hour, epoch = bucket_sql("observed_at", HOUR, phase), "hours.start"
    # One sensor per branch: each aggregates into a hash table of one sensor's hours, small
    # enough for the CPU's cache, and PostgreSQL's parallel workers take branches whole (Parallel
    # Append). Over a year of 9 inverters' 5-minute power this is 2-3 times faster than one
    # grouping by sensor and hour (README, bench/admin_observations.py).
    one_sensor = f"""
        SELECT {hour} AS start, sum(value) AS total, count(*) AS readings
        FROM {quoted_table(Observation)}
        WHERE sensor_id = %s AND observed_at >= %s AND observed_at < %s
        GROUP BY 1
    """
    statement = f"""
        SELECT {epoch}, sum(hours.total / hours.readings)
        FROM ({" UNION ALL ".join([one_sensor] * len(sensors))}) AS hours
        GROUP BY 1
    """
    parameters = [value for sensor in sensors for value in (sensor.pk, db_moment(start), db_moment(end))]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # No JIT: compiling it costs more than it saves on a query of well under a second.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(statement, parameters)
        return cursor.fetchall()


def _register_days(sensors, days, zone):
    """{day: kWh} from each register's daily highest reading, and how many sensor-days were left out."""
    before = days[0] - timedelta(days=1)
    start, end = _midnight(before, zone), _midnight(days[-1] + timedelta(days=1), zone)
    highest = defaultdict(dict)  # sensor → day → highest Wh
    for sensor, second, wh in _register_hours(sensors, start, end, zone):
        day = datetime.fromtimestamp(second, zone).date()
        highest[sensor][day] = max(wh, highest[sensor].get(day, wh))
    energy, gaps = {}, 0
    for by_day in highest.values():
        for day in days:
            if day not in by_day:
                continue
            previous = by_day.get(day - timedelta(days=1))
            if previous is None or by_day[day] < previous:
                gaps += 1
                continue
            energy[day] = energy.get(day, 0.0) + (by_day[day] - previous) / WH_PER_KWH
    return energy, gaps
