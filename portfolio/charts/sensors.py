"""A sensor's readings over a range, as a chart draws them: the readings themselves when they are
few, else the lowest, average and highest of each bucket; and the 15-minute roll-up that is
uploaded to Raptor Maps.

The roll-up's rule is the domain's (``choices.SENSOR_TYPES``: average, or maximum for a
cumulative register), which the uploader (uploads/raptormaps/csvfile.py) reads too; it is
computed here again in SQL, so portfolio needs nothing of uploads. Its buckets are UTC quarter
hours, which are the farm's own quarter hours in every zone in use (all offsets are whole
quarter hours). One difference with the CSV: when the clocks turn back, the CSV in local time
folds the repeated hour into one row per quarter hour, where the chart keeps the two hours apart.
"""

from django.db import connection
from django.db.models import Max, OuterRef, Subquery

from portfolio.charts.ranges import MAX_POINTS, bucket_for, bucket_words, milliseconds
from portfolio.charts.sql import bucket_sql, db_moment, quoted_table
from portfolio.choices import SENSOR_TYPES, Aggregation, SensorType
from portfolio.models import Observation

__all__ = ["ROLLUP_SECONDS", "latest_of_sensors", "rollup", "sensor_readings"]

ROLLUP_SECONDS = 15 * 60


def sensor_readings(sensor, chart_range):
    """The line chart of ``sensor`` over ``chart_range`` (see portfolio/charts/__init__.py)."""
    unit = sensor.unit if sensor.sensor_type in SensorType.values else ""
    readings = Observation.objects.filter(
        sensor=sensor, observed_at__gte=chart_range.start, observed_at__lt=chart_range.end
    ).order_by("observed_at")
    # At most one more than the cap, through the index: enough to know whether to bucket.
    raw = list(readings.values_list("observed_at", "value")[: MAX_POINTS + 1])
    notes, series = [], []
    if len(raw) <= MAX_POINTS:
        series.append(
            {"label": "readings", "unit": unit, "style": "line", "points": [[milliseconds(t), v] for t, v in raw]}
        )
    else:
        size = bucket_for(chart_range.span)
        buckets = _buckets(sensor, chart_range, size)
        words = bucket_words(size)
        series.append(
            {
                "label": f"readings, average per {words}",
                "unit": unit,
                "style": "line",
                "points": [[start * 1000, mean] for start, _low, mean, _high, _count in buckets],
            }
        )
        series.append(
            {
                "label": f"lowest to highest per {words}",
                "unit": unit,
                "style": "band",
                "points": [[start * 1000, low, high] for start, low, _mean, high, _count in buckets],
            }
        )
        notes.append(f"Too many readings to draw one by one: each point is one bucket of {words}.")
    series.append(_rollup_series(sensor, chart_range, unit, notes))
    empty = not raw
    result = {"kind": "line", "range": chart_range.as_json(), "series": series, "notes": notes, "empty": empty}
    if empty:
        result["latest_ms"] = _latest(sensor)
    return result


def rollup_aggregation(sensor):
    spec = SENSOR_TYPES.get(sensor.sensor_type)
    return spec.aggregation if spec else Aggregation.AVERAGE


def rollup(sensor, chart_range):
    """[(quarter-hour start, epoch seconds), value, readings] as the upload rolls them up, in time order."""
    aggregate = "max" if rollup_aggregation(sensor) == Aggregation.MAXIMUM else "avg"
    bucket = bucket_sql("observed_at", ROLLUP_SECONDS)
    statement = f"""
        SELECT {bucket} AS bucket, {aggregate}(value), count(*)
        FROM {quoted_table(Observation)}
        WHERE sensor_id = %s AND observed_at >= %s AND observed_at < %s
        GROUP BY 1 ORDER BY 1
    """
    return _fetch(statement, [sensor.pk, db_moment(chart_range.start), db_moment(chart_range.end)])


def _rollup_series(sensor, chart_range, unit, notes):
    aggregation = rollup_aggregation(sensor)
    label = f"15-minute roll-up as uploaded ({Aggregation(aggregation).label.lower()})"
    if chart_range.span.total_seconds() / ROLLUP_SECONDS > MAX_POINTS:
        days = MAX_POINTS * ROLLUP_SECONDS // 86400
        notes.append(f"The 15-minute roll-up is drawn for ranges up to {days} days; choose a shorter range to see it.")
        return {"label": label, "unit": unit, "style": "step", "points": []}
    points = [[start * 1000, value] for start, value, _count in rollup(sensor, chart_range)]
    return {"label": label, "unit": unit, "style": "step", "points": points}


def _buckets(sensor, chart_range, size):
    bucket = bucket_sql("observed_at", size)
    statement = f"""
        SELECT {bucket} AS bucket, min(value), avg(value), max(value), count(*)
        FROM {quoted_table(Observation)}
        WHERE sensor_id = %s AND observed_at >= %s AND observed_at < %s
        GROUP BY 1 ORDER BY 1
    """
    return _fetch(statement, [sensor.pk, db_moment(chart_range.start), db_moment(chart_range.end)])


def _fetch(statement, parameters):
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        return cursor.fetchall()


def _latest(sensor):
    """When the sensor last read, in epoch ms (None when never): the chart offers to go there."""
    latest = Observation.objects.filter(sensor=sensor).aggregate(latest=Max("observed_at"))["latest"]
    return milliseconds(latest) if latest else None


def latest_of_sensors(sensors):
    """The latest reading time of any of ``sensors`` (a queryset), one index probe per sensor."""
    newest = Observation.objects.filter(sensor=OuterRef("pk")).order_by("-observed_at").values("observed_at")[:1]
    latest = sensors.annotate(latest=Subquery(newest)).values_list("latest", flat=True)
    moments = [moment for moment in latest if moment]
    return milliseconds(max(moments)) if moments else None
