"""Upload runs, WattCarbon syncs and HTTP attempts of the last 24 hours: failures first.

Each kind is counted per outcome, failures first, each count a link to the list it counts; the
runs and syncs that failed are listed with their error and a link to their attempts. Syncs also
say how many of their write calls succeeded and how many failed.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote

from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from uploads.admin.display import readable
from uploads.admin.runs import attempts_url
from uploads.models import Attempt, AttemptOutcome, RunStatus, SyncRun, SyncStatus, UploadRun

__all__ = ["FAILURES_SHOWN", "WINDOW", "Activity", "Failure", "OutcomeCount", "recent_activity"]

WINDOW = timedelta(hours=24)
FAILURES_SHOWN = 10
ERROR_CHARS = 240

FAILED_RUNS = (RunStatus.FAILED, RunStatus.ABANDONED)
FAILED_SYNCS = (SyncStatus.FAILED, SyncStatus.ABANDONED, SyncStatus.PARTIAL)
FAILED_ATTEMPTS = (AttemptOutcome.GAVE_UP, AttemptOutcome.RETRY)


@dataclass
class OutcomeCount:
    value: str
    label: str
    count: int
    failed: bool
    url: str  # the changelist filtered to these, from the window's start


@dataclass
class Failure:
    kind: str  # "upload run", "WattCarbon sync"
    record: object  # the UploadRun or SyncRun
    owner: str
    status: str
    error: str
    attempts: int

    @property
    def url(self):
        return reverse(f"admin:uploads_{self.record._meta.model_name}_change", args=[self.record.pk])

    @property
    def attempts_url(self):
        return attempts_url(self.record)


@dataclass
class Kind:
    """One kind of record in the window: its counts per outcome and its failures."""

    name: str
    url: str  # its changelist
    counts: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    failed: int = 0
    total: int = 0


@dataclass
class Activity:
    since: object
    runs: Kind = None
    syncs: Kind = None
    attempts: Kind = None
    write_calls: int = 0
    failed_write_calls: int = 0

    @property
    def kinds(self):
        return [kind for kind in (self.runs, self.syncs, self.attempts) if kind is not None]

    @property
    def failures(self):
        """The failed runs and syncs, the latest first."""
        found = [*(self.runs.failures if self.runs else []), *(self.syncs.failures if self.syncs else [])]
        return sorted(found, key=lambda failure: failure.record.queued_at, reverse=True)


def recent_activity(now, runs=True, syncs=True, attempts=True):
    """An :class:`Activity` of the last 24 hours for the kinds asked for (what the user may view)."""
    since = now - WINDOW
    activity = Activity(since=since)
    # With its offset: a naive time in a filter would be read as local time, and warned about.
    after = timezone.localtime(since).isoformat(timespec="seconds")
    if runs:
        activity.runs = _kind(
            "Upload runs", "uploadrun", UploadRun, RunStatus, FAILED_RUNS, "queued_at", since, after, "status"
        )
        activity.runs.failures = _failures(
            UploadRun.objects.filter(queued_at__gte=since, status__in=FAILED_RUNS).select_related("integration"),
            "upload run",
            "integration",
            RunStatus,
        )
    if syncs:
        activity.syncs = _kind(
            "WattCarbon syncs", "syncrun", SyncRun, SyncStatus, FAILED_SYNCS, "queued_at", since, after, "status"
        )
        activity.syncs.failures = _failures(
            SyncRun.objects.filter(queued_at__gte=since, status__in=FAILED_SYNCS).select_related("account"),
            "WattCarbon sync",
            "account",
            SyncStatus,
        )
        calls = SyncRun.objects.filter(queued_at__gte=since).aggregate(
            ok=Sum("write_calls"), failed=Sum("failed_write_calls")
        )
        activity.write_calls, activity.failed_write_calls = calls["ok"] or 0, calls["failed"] or 0
    if attempts:
        activity.attempts = _kind(
            "HTTP attempts", "attempt", Attempt, AttemptOutcome, FAILED_ATTEMPTS, "started_at", since, after, "outcome"
        )
    return activity


def _kind(name, model_name, model, choices, failed, moment, since, after, status_field):
    rows = (
        model.objects.filter(**{f"{moment}__gte": since})
        .order_by()
        .values_list(status_field)
        .annotate(count=Count("pk"))
    )
    found = dict(rows)
    kind = Kind(name=name, url=reverse(f"admin:uploads_{model_name}_changelist"))
    # The failures first, worst first (in the order ``failed`` gives them), then the others as declared.
    order = [*failed, *(value for value in choices.values if value not in failed)]
    for value in sorted(found, key=order.index):
        url = f"{kind.url}?{status_field}__exact={value}&{moment}__gte={quote(after, safe='')}"
        label = choices(value).label
        kind.counts.append(OutcomeCount(value, label, found[value], value in failed, url))
    kind.failed = sum(count.count for count in kind.counts if count.failed)
    kind.total = sum(found.values())
    return kind


def _failures(queryset, kind, owner, choices):
    records = queryset.annotate(attempt_count=Count("attempts")).order_by("-queued_at")[:FAILURES_SHOWN]
    return [
        Failure(
            kind=kind,
            record=record,
            owner=str(getattr(record, owner)),
            status=choices(record.status).label,
            error=Truncator(" ".join(readable(record.error).split())).chars(ERROR_CHARS) or "no error recorded",
            attempts=record.attempt_count,
        )
        for record in records
    ]
