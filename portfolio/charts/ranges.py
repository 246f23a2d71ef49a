"""The time range a chart shows, read from its query string, and the bucket that keeps it under
``MAX_POINTS`` points.

``?range=7d`` (24h, 7d, 30d, 1y) ends now, or at ``end``; ``?from=...&to=...`` takes ISO dates or
date-times (UTC when they name no zone). Anything else is refused in words (``BadRange``).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

__all__ = ["MAX_POINTS", "PRESETS", "BadRange", "ChartRange", "bucket_for", "bucket_words", "chart_range"]

# What one series may hold: a 1,366-pixel page has no room for more, and the JSON stays small.
MAX_POINTS = 2000
PRESETS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "1y": timedelta(days=365),
}
LONGEST = timedelta(days=5 * 366)
# Bucket sizes a chart may use, in seconds: the smallest that keeps the points under the cap.
BUCKETS = (60, 300, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400)


class BadRange(ValueError):
    """A range the query string asks for that cannot be shown; the message says why, in words."""


@dataclass(frozen=True)
class ChartRange:
    start: datetime  # inclusive, aware (UTC)
    end: datetime  # exclusive

    @property
    def span(self):
        return self.end - self.start

    def as_json(self):
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "from_ms": milliseconds(self.start),
            "to_ms": milliseconds(self.end),
            "words": f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC",
        }


def milliseconds(moment):
    return int(moment.timestamp() * 1000)


def chart_range(query, default="7d", now=None):
    """The ChartRange ``query`` (a QueryDict or dict) asks for; BadRange when it cannot be shown."""
    now = now or timezone.now()
    if query.get("from") or query.get("to"):
        start = _moment(query.get("from"), "from")
        end = _moment(query.get("to"), "to", end_of_day=True)
        if end <= start:
            raise BadRange("The end of the range must come after its start.")
    else:
        name = query.get("range") or default
        if name not in PRESETS:
            raise BadRange(f"Unknown range {name!r}: choose one of {', '.join(PRESETS)}, or give from and to.")
        end = _moment(query.get("end"), "end") if query.get("end") else now
        start = end - PRESETS[name]
    if end - start > LONGEST:
        raise BadRange("A chart shows at most 5 years; choose a shorter range.")
    return ChartRange(start, end)


def _moment(text, name, end_of_day=False):
    if not text:
        raise BadRange(f"Give both ends of the range: {name} is missing.")
    try:
        # A date first: the ISO parser would take "2026-03-08" for its midnight.
        day = parse_date(text)
        moment = None if day else parse_datetime(text)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise BadRange(f"{name} must be a date (2026-03-08) or a date and time (2026-03-08T02:15), not {text!r}.")
    if moment is None:
        # A date alone: the whole day, so "to 2026-03-08" includes that day.
        moment = datetime.combine(day, datetime.min.time()) + (timedelta(days=1) if end_of_day else timedelta())
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def bucket_for(span, smallest=60):
    """Seconds per bucket: the smallest of ``BUCKETS`` (at least ``smallest``) giving at most MAX_POINTS buckets."""
    seconds = span.total_seconds()
    for size in BUCKETS:
        if size >= smallest and seconds / size <= MAX_POINTS:
            return size
    return BUCKETS[-1]


def bucket_words(seconds):
    if seconds % 86400 == 0:
        days = seconds // 86400
        return "day" if days == 1 else f"{days} days"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{seconds // 60} minutes"
