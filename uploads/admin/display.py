"""How the uploads admin shows statuses, times and sizes: one place for the colours and the words."""

import re

from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from portfolio.admin.imports import human_duration
from portfolio.quantities import byte_size
from portfolio.timefmt import time_html, time_text
from uploads.models import Attempt, AttemptOutcome, RunStatus, RunTrigger, SyncState, SyncStatus

__all__ = [
    "OUTCOME_COLOURS",
    "RUN_STATUS_COLOURS",
    "SYNC_STATE_COLOURS",
    "SYNC_STATUS_COLOURS",
    "SYNC_TRIGGER_WORDS",
    "badge",
    "compact",
    "error_line",
    "exact",
    "human_duration",
    "human_interval",
    "operation_words",
    "outcome_badge",
    "readable",
    "run_status_badge",
    "size",
    "sync_state_badge",
    "sync_status_badge",
    "trigger_label",
    "trigger_text",
    "waiting_mark",
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

# A sync's statuses in the colours of the run statuses they mean the same as.
SYNC_STATUS_COLOURS = {
    SyncStatus.QUEUED: RUN_STATUS_COLOURS[RunStatus.QUEUED],
    SyncStatus.RUNNING: RUN_STATUS_COLOURS[RunStatus.RUNNING],
    SyncStatus.SYNCED: RUN_STATUS_COLOURS[RunStatus.UPLOADED],
    SyncStatus.NOTHING: RUN_STATUS_COLOURS[RunStatus.NOTHING],
    SyncStatus.PARTIAL: "#b45309",
    SyncStatus.DRY_RUN: RUN_STATUS_COLOURS[RunStatus.DRY_RUN],
    SyncStatus.SKIPPED: RUN_STATUS_COLOURS[RunStatus.SKIPPED],
    SyncStatus.FAILED: RUN_STATUS_COLOURS[RunStatus.FAILED],
    SyncStatus.ABANDONED: RUN_STATUS_COLOURS[RunStatus.ABANDONED],
}

# Where a meter or asset stands with an account: green is done, amber is waiting, red needs a person.
SYNC_STATE_COLOURS = {
    SyncState.MISSING: "#7f1d1d",
    SyncState.NOT_SYNCED: "#6b7280",
    SyncState.SYNCED: "#15803d",
    SyncState.CHANGED: "#a16207",
    SyncState.ERROR: "#b91c1c",
}

OUTCOME_COLOURS = {
    AttemptOutcome.OK: "#15803d",
    AttemptOutcome.RETRY: "#a16207",
    AttemptOutcome.GAVE_UP: "#b91c1c",
}


# Lists are narrow: a word there, the whole label on hover and on the run's page.
RUN_STATUS_SHORT = {
    RunStatus.NOTHING: "nothing new",
    RunStatus.DRY_RUN: "dry run",
    RunStatus.SKIPPED: "skipped",
    RunStatus.ABANDONED: "interrupted",
}
SYNC_STATUS_SHORT = {
    SyncStatus.NOTHING: "nothing changed",
    SyncStatus.PARTIAL: "with problems",
    SyncStatus.DRY_RUN: "dry run",
    SyncStatus.SKIPPED: "skipped",
    SyncStatus.ABANDONED: "interrupted",
}
TRIGGER_SHORT = {
    RunTrigger.SCHEDULE: "schedule",
    RunTrigger.ADMIN: "upload now",
    RunTrigger.RETRY: "retry",
    RunTrigger.COMMAND: "command",
}
# A sync is started by "Sync now", not "Upload now": (short, whole) where a sync's words differ.
SYNC_TRIGGER_WORDS = {RunTrigger.ADMIN: ("sync now", "admin (sync now)")}


def badge(value, label, colours, css_class, title=""):
    """A coloured label; the class names the value so a page (or a test) can find it."""
    return format_html(
        '<span class="uploads-badge {}-{}" style="background-color: {}" title="{}">{}</span>',
        css_class,
        value,
        colours.get(value, "#6b7280"),
        title or label,
        label,
    )


def run_status_badge(status, short=False):
    label = RunStatus(status).label
    shown = RUN_STATUS_SHORT.get(status, label) if short else label
    return badge(status, shown, RUN_STATUS_COLOURS, "run-status", title=label)


def sync_status_badge(status, short=False):
    label = SyncStatus(status).label
    shown = SYNC_STATUS_SHORT.get(status, label) if short else label
    return badge(status, shown, SYNC_STATUS_COLOURS, "sync-status", title=label)


def sync_state_badge(state, detail=""):
    """A meter's or asset's state with one account; the detail (an error, what changed) on hover."""
    label = SyncState(state).label
    title = f"{label}: {readable(detail)}" if detail else label
    return badge(state, label, SYNC_STATE_COLOURS, "sync-state", title=title)


def trigger_text(trigger, words=None):
    """(a word, the whole label) for how a run was started; ``words`` overrides some (SYNC_TRIGGER_WORDS)."""
    label = RunTrigger(trigger).label
    return (words or {}).get(trigger) or (TRIGGER_SHORT.get(trigger, label), label)


def trigger_label(trigger, words=None):
    """How a run was started, in a word (the whole label on hover)."""
    short, label = trigger_text(trigger, words)
    return format_html('<span class="nowrap" title="{}">{}</span>', label, short)


def waiting_mark(waiting):
    """After a status in a list: that the run left readings for later, what and until when on hover."""
    if not waiting:
        return ""
    return format_html(' <span class="uploads-waiting-mark" title="{}">more waiting</span>', waiting)


def outcome_badge(outcome, label=None):
    return badge(outcome, label or AttemptOutcome(outcome).label, OUTCOME_COLOURS, "attempt-outcome")


def error_line(error):
    """Under a status in a list: the error's first line, cut short, the whole on hover."""
    if not error:
        return ""
    error = readable(error)
    return format_html('<br><span class="truncated quiet" title="{}">{}</span>', error, error.splitlines()[0])


# A call's error and a run's log name the call by its operation's code ("upload_intervals: HTTP 503"):
# the admin says it in words ("upload intervals: HTTP 503"); the stored text keeps the code.
OPERATION_CODE = re.compile(r"\b([a-z]+(?:_[a-z0-9]+)+)(?=: )")


def readable(text):
    """An error, a log or a reason with the operation codes in it said in words."""
    return OPERATION_CODE.sub(lambda match: operation_words(match.group(1)), text or "")


def operation_words(operation):
    """'create asset', 'signed URL': an attempt's operation in words (Attempt.operation_label)."""
    return Attempt(operation=operation).operation_label


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


def exact(moment, milliseconds=False):
    """A time to the second (or millisecond), in the admin's time zone, named (portfolio/timefmt.py)."""
    return time_text(moment, precision="milliseconds" if milliseconds else "seconds")


def compact(moment, seconds=False):
    """A time for a list column, its zone named, the UTC time to the second on hover."""
    return time_html(moment, precision="seconds" if seconds else "minutes")


def when(moment):
    """A time as '12 minutes ago', with the exact time on hover."""
    if moment is None:
        return "-"
    now = timezone.now()
    if abs((now - moment).total_seconds()) < 60:
        words = "just now"
    elif moment > now:
        words = f"in {timesince(now, moment, depth=1)}"
    else:
        words = f"{timesince(moment, depth=1)} ago"
    return format_html('<span class="nowrap" title="{}">{}</span>', exact(moment), words)


def size(value):
    return byte_size(value)
