"""How a moment is written for people: ``2026-03-08 02:15 MST``, one format everywhere, zone named.

The admin's default zone is the user's preference, else ``ADMIN_TIME_ZONE`` (activated per request
by ``portfolio.preferences.TimeZoneMiddleware``); a farm's or an asset's times are shown in its own
zone. In HTML the UTC time is on hover, so times in different zones can still be compared.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.html import format_html

__all__ = ["DATETIME_FORMAT", "in_zone", "time_html", "time_text", "zone_name", "zone_of"]

# The same format for Django's ``date`` filter and readonly fields (portfolio/formats/en/formats.py).
DATETIME_FORMAT = "Y-m-d H:i T"

_PATTERNS = {
    "minutes": "%Y-%m-%d %H:%M",
    "seconds": "%Y-%m-%d %H:%M:%S",
    "milliseconds": "%Y-%m-%d %H:%M:%S.%f",
}


def zone_of(zone=None):
    """A tzinfo for ``zone`` (a name, a tzinfo, or None for the zone active in this request)."""
    if zone is None or zone == "":
        return timezone.get_current_timezone()
    if isinstance(zone, str):
        return ZoneInfo(zone)
    return zone


def in_zone(moment, zone=None):
    """``moment`` in ``zone``; a naive moment is taken to be UTC (what the database stores)."""
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone_of(zone))


def zone_name(moment):
    """The zone's abbreviation at that moment ('MST', 'EDT', 'UTC'); 'UTC-03' where the zone has none."""
    name = moment.strftime("%Z")
    if not name or name[0] in "+-":
        offset = moment.strftime("%z")
        hours, minutes = offset[:3], offset[3:]
        name = f"UTC{hours}" + (f":{minutes}" if minutes != "00" else "")
    return name


def time_text(moment, zone=None, precision="minutes"):
    """'2026-03-08 02:15 MST': the moment in ``zone`` (default: the active one), its zone named; '-' for None.

    ``precision`` is "minutes", "seconds" or "milliseconds" (for the attempt log).
    """
    if moment is None:
        return "-"
    if not isinstance(moment, datetime):
        return str(moment)
    local = in_zone(moment, zone)
    shown = local.strftime(_PATTERNS[precision])
    if precision == "milliseconds":
        shown = shown[:-3]
    return f"{shown} {zone_name(local)}"


def time_html(moment, zone=None, precision="minutes", shown=None):
    """The moment in ``zone`` as HTML, with the UTC time on hover; ``shown`` replaces the visible text."""
    if moment is None:
        return "-"
    return format_html(
        '<time class="nowrap" datetime="{}" title="{}">{}</time>',
        in_zone(moment, UTC).isoformat(),
        time_text(moment, UTC, precision),
        shown if shown is not None else time_text(moment, zone, precision),
    )
