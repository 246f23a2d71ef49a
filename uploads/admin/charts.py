"""The uploads' charts (portfolio/admin/charts.py draws them): a meter's intervals next to what was
sent to WattCarbon, on the meter's page; upload volume per day above the upload runs; attempts
by outcome above the attempt log. What was sent is uploads' knowledge (the meter links'
watermarks), hence here and not in portfolio.
"""

from datetime import UTC, timedelta

from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import TruncDay, TruncHour

from portfolio.admin.charts import ChartsAdminMixin
from portfolio.charts.ranges import bucket_for, bucket_words
from portfolio.charts.sql import bucket_sql, db_moment, quoted_table
from portfolio.models import IntervalReading
from uploads.models import Attempt, AttemptOutcome, UploadPart, WattCarbonMeterLink

__all__ = ["AttemptChartsMixin", "MeterChartsMixin", "UploadRunChartsMixin"]

# Ranges up to this long are counted per hour, longer ones per day.
HOURLY_UP_TO = timedelta(days=3)
BYTES_PER_MB = 1_000_000
OUTCOME_TONES = {AttemptOutcome.OK: "ok", AttemptOutcome.RETRY: "warning", AttemptOutcome.GAVE_UP: "error"}


def meter_intervals(meter, chart_range):
    """kWh per bucket of the meter's intervals (by start), and of those sent to each WattCarbon account.

    Sent: at or before the link's watermark on (ingested_at, id), the keyset a sync sends in. A
    reading changed since is counted as not sent: its new value is not on WattCarbon yet.
    """
    # Hours at least: an hourly interval in a quarter-hour bucket would read as that quarter's energy.
    size = bucket_for(chart_range.span, smallest=3600)
    links = list(WattCarbonMeterLink.objects.filter(meter=meter).select_related("account").order_by("account__name"))
    sent_columns, parameters = [], []
    for link in links:
        if link.intervals_through_at is None:
            sent_columns.append("NULL")
            continue
        sent_columns.append("sum(CASE WHEN ingested_at < %s OR (ingested_at = %s AND id <= %s) THEN energy_kwh END)")
        through = db_moment(link.intervals_through_at)
        parameters += [through, through, link.intervals_through_id]
    columns = "".join(f", {column}" for column in sent_columns)
    statement = f"""
        SELECT {bucket_sql("start", size)} AS bucket, sum(energy_kwh){columns}
        FROM {quoted_table(IntervalReading)}
        WHERE meter_id = %s AND start >= %s AND start < %s
        GROUP BY 1 ORDER BY 1
    """
    parameters += [meter.pk, db_moment(chart_range.start), db_moment(chart_range.end)]
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        rows = cursor.fetchall()
    words = bucket_words(size)
    series = [
        {
            "label": f"intervals, kWh per {words} of their start",
            "unit": "kWh",
            "style": "step",
            "points": [[row[0] * 1000, row[1]] for row in rows],
        }
    ]
    notes = []
    for index, link in enumerate(links, start=2):
        points = [[row[0] * 1000, row[index]] for row in rows if row[index] is not None]
        series.append(
            {"label": f"sent to WattCarbon ({link.account.name})", "unit": "kWh", "style": "area", "points": points}
        )
        if link.intervals_through_at is None:
            notes.append(f"Nothing sent to {link.account.name} yet: the next sync sends every interval.")
    if not links:
        notes.append("No WattCarbon account has synced this meter: nothing was sent.")
    return {"kind": "line", "range": chart_range.as_json(), "series": series, "notes": notes, "empty": not rows}


def _periods(chart_range):
    """(Trunc function, label format, the period starts the range touches) for per-hour or per-day counts."""
    hourly = chart_range.span <= HOURLY_UP_TO
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    first = chart_range.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if not hourly:
        first = first.replace(hour=0)
    starts = []
    moment = first
    while moment < chart_range.end:
        starts.append(moment)
        moment += step
    return (TruncHour if hourly else TruncDay), ("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d"), starts


def upload_volume(chart_range):
    """Rows and megabytes of the CSV parts uploaded to Raptor Maps, per day (per hour for short ranges)."""
    trunc, label, starts = _periods(chart_range)
    rows = (
        UploadPart.objects.filter(
            status=UploadPart.Status.UPLOADED, uploaded_at__gte=chart_range.start, uploaded_at__lt=chart_range.end
        )
        .annotate(period=trunc("uploaded_at", tzinfo=UTC))
        .values("period")
        .annotate(rows=Sum("rows"), bytes=Sum("bytes"))
    )
    by_period = {row["period"]: row for row in rows}
    period_words = "hour" if trunc is TruncHour else "day"
    return {
        "kind": "bars",
        "range": chart_range.as_json(),
        "labels": [f"{start:{label}}" for start in starts],
        "series": [
            {
                "label": f"CSV rows uploaded per {period_words}",
                "unit": "rows",
                "values": [by_period.get(start, {}).get("rows", 0) for start in starts],
                "tone": "primary",
            },
            {
                "label": f"MB uploaded per {period_words}",
                "unit": "MB",
                "axis": "right",
                "values": [by_period.get(start, {}).get("bytes", 0) / BYTES_PER_MB for start in starts],
                "tone": "secondary",
            },
        ],
        "notes": [
            f"Times in UTC. Parts uploaded (dry runs left out), counted in the {period_words} their upload finished."
        ],
        "empty": not by_period,
    }


def attempt_outcomes(chart_range):
    """Calls to Raptor Maps and WattCarbon per day (per hour for short ranges), stacked by outcome."""
    trunc, label, starts = _periods(chart_range)
    counts = (
        Attempt.objects.filter(started_at__gte=chart_range.start, started_at__lt=chart_range.end)
        .annotate(period=trunc("started_at", tzinfo=UTC))
        .values("period", "outcome")
        .annotate(calls=Count("id"))
    )
    by_key = {(row["period"], row["outcome"]): row["calls"] for row in counts}
    series = [
        {
            "label": outcome.label,
            "unit": "calls",
            "values": [by_key.get((start, outcome.value), 0) for start in starts],
            "tone": OUTCOME_TONES[outcome],
        }
        for outcome in AttemptOutcome
    ]
    period_words = "hour" if trunc is TruncHour else "day"
    return {
        "kind": "bars",
        "stacked": True,
        "range": chart_range.as_json(),
        "labels": [f"{start:{label}}" for start in starts],
        "series": series,
        "notes": [f"Calls per {period_words}, times in UTC, by when each call started."],
        "empty": not by_key,
    }


class MeterChartsMixin(ChartsAdminMixin):
    change_form_template = "admin/uploads/meter_change_form.html"
    object_charts = {"intervals": meter_intervals}
    chart_default_range = "7d"


class UploadRunChartsMixin(ChartsAdminMixin):
    """Above the list (templates/admin/uploads/uploadrun/change_list.html)."""

    list_charts = {"volume": upload_volume}
    chart_default_range = "30d"


class AttemptChartsMixin(ChartsAdminMixin):
    """Above the list (templates/admin/uploads/attempt/change_list.html)."""

    list_charts = {"outcomes": attempt_outcomes}
    chart_default_range = "7d"
