"""How the uploads admin shows statuses, times and sizes: one place for the colours and the words."""

from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from portfolio.admin.imports import human_duration
from uploads.models import AttemptOutcome, RunStatus

__all__ = [
    "OUTCOME_COLOURS",
    "RUN_STATUS_COLOURS",
    "badge",
    "exact",
    "human_duration",
    "human_interval",
    "outcome_badge",
    "run_status_badge",
    "size",
    "when",
]

RUN_STATUS_COLOURS = {
    RunStatus.QUEUED: "#6b7280",
    RunStatus.RUNNING: "#1d4ed8",
    RunStatus.UPLOADED: "#15803d",
    RunStatus.NOTHING: "#0f766e",
    RunStatus.DRY_RUN: "#7c3aed",
    RunStatus.SKIPPED: "#a16207",
    RunStatus.FAILED: "#b91c1c",
    RunStatus.ABANDONED: "#c2410c",
}

OUTCOME_COLOURS = {
    AttemptOutcome.OK: "#15803d",
    AttemptOutcome.RETRY: "#a16207",
    AttemptOutcome.GAVE_UP: "#b91c1c",
}


def badge(value, label, colours, css_class):
    """A coloured label; the class names the value so a page (or a test) can find it."""
    return format_html(
        '<span class="uploads-badge {}-{}" style="background-color: {}">{}</span>',
        css_class,
        value,
        colours.get(value, "#6b7280"),
        label,
    )


def run_status_badge(status, label=None):
    return badge(status, label or RunStatus(status).label, RUN_STATUS_COLOURS, "run-status")


def outcome_badge(outcome, label=None):
    return badge(outcome, label or AttemptOutcome(outcome).label, OUTCOME_COLOURS, "attempt-outcome")


def human_interval(seconds):
    """'90 s', '15 min', '1 h 30 min', '1 day': an interval in the words people use for one."""
    seconds = round(seconds)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [
        f"{days} day{'s' if days != 1 else ''}" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
        f"{seconds} s" if seconds else "",
    ]
    return " ".join(part for part in parts if part) or "0 s"


def exact(moment):
    """A time to the second, in the admin's time zone, named."""
    if moment is None:
        return "-"
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S %Z}"


def when(moment):
    """A time as '12 minutes ago', with the exact time on hover."""
    if moment is None:
        return "-"
    if moment > timezone.now():
        return format_html('<span title="{}">in {}</span>', exact(moment), timesince(timezone.now(), moment))
    return format_html('<span title="{}">{} ago</span>', exact(moment), timesince(moment))


def size(value):
    return filesizeformat(value) if value is not None else "-"
