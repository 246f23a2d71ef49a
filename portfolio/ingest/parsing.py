"""Parse one cell: a number or a time. Every failure is an ``InvalidRow`` that says why."""

import math
import zoneinfo
from datetime import UTC, datetime

from portfolio.ingest.errors import InvalidRow
from portfolio.validators import timezone_names

TIME_EXAMPLE = "YYYY-MM-DD HH:MM:SS"
# Times outside these years are typing mistakes (0001, 9999), and near the ends of what a
# datetime holds a zone conversion or a 15-minute bucket would overflow.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def parse_float(text, column):
    """A finite float written in plain decimal ('1234.5', '-3', '1e3'); nothing else."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or "_" in text:
        stripped = text.strip()
        if not stripped:
            raise InvalidRow("blank; a number is required", column) from None
        hint = " (write numbers without thousands separators, with . as the decimal point)" if "," in text else ""
        raise InvalidRow(f"{stripped!r} is not a number{hint}", column) from None
    if not math.isfinite(value):
        raise InvalidRow(f"{text.strip()!r} is not a finite number", column)
    return value


def parse_optional_float(text, column):
    return parse_float(text, column) if text.strip() else None


def parse_zone(name, column="timezone"):
    name = name.strip()
    if name not in timezone_names():
        raise InvalidRow(f"{name!r} is not an IANA time zone name (for example America/New_York)", column)
    return zoneinfo.ZoneInfo(name)


def parse_datetime(text, column):
    """A date and time: ISO 8601, with or without an offset; a date alone is not enough."""
    stripped = text.strip()
    if not stripped:
        raise InvalidRow(f"blank; a date and time is required ({TIME_EXAMPLE})", column)
    try:
        if len(stripped) < 16 or stripped[10] not in " T":
            raise ValueError
        return datetime.fromisoformat(stripped)
    except ValueError:
        raise InvalidRow(f"{stripped!r} is not a date and time; expected {TIME_EXAMPLE}", column) from None


def to_utc(moment, zone, column, text):
    """An aware UTC datetime from 1900 to 2099; a naive ``moment`` is a wall-clock time in ``zone``.

    A wall-clock time that the zone skips (clocks going forward) is refused. One that
    occurs twice (clocks going back) is read as its first occurrence; files that need the
    second one must give offsets or UTC (docs/readings-import.md).
    """
    if not EARLIEST.year <= moment.year < LATEST.year:
        raise InvalidRow(f"{text.strip()!r} is not in the years {EARLIEST.year} to {LATEST.year - 1}", column)
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    aware = moment.replace(tzinfo=zone).astimezone(UTC)
    if aware.astimezone(zone).replace(tzinfo=None) != moment:
        raise InvalidRow(
            f"{text.strip()!r} does not exist in {zone.key} (the clocks skip it when daylight saving starts)", column
        )
    return aware
