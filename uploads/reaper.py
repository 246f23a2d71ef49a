"""The reaper of interrupted runs: an upload run or a sync whose worker died is marked interrupted.

A run holds its integration's (or account's) lease while it works and renews it at least every
third of ``UPLOADS_LEASE_SECONDS`` (uploads/runs/leases.py). A worker killed mid-run (SIGKILL, out of
memory, its machine gone) stops renewing, and its run would read "running" until the next run
of that integration started and took the lease over: a day later for a daily schedule. The
reaper, scheduled every minute (migration uploads/0005), marks such runs interrupted as soon as
their lease has lapsed.

It frees the lapsed lease in the same transaction, as the next run would take it: one locked
row, so a run whose worker renewed in time is never marked, and a worker that was only silent
for too long (not dead) finds its lease gone at its next renewal and stops (``LeaseLost``)
before it moves a watermark. The work of an interrupted run is done by the next run: Raptor
Maps watermarks did not move, so it sends the same readings again; a sync goes on from what
was saved (docs/raptormaps-uploads.md and docs/wattcarbon-sync.md, "When a worker is killed").
"""

import logging
import shutil
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from portfolio.timefmt import time_text
from uploads.models import RunStatus, SyncRun, SyncStatus, UploadRun
from uploads.raptormaps import service as raptormaps
from uploads.runs import lifecycle
from uploads.runs.leases import free_if_lapsed
from uploads.wattcarbon import service as wattcarbon

__all__ = ["reap_interrupted_runs"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Kind:
    model: type
    owner: str  # the field naming what it runs for
    noun: str
    interrupted: str
    lease_name: object  # owner → lease name
    consequence: str
    work_dir: object = None  # run → its files on the worker's machine, deleted (if on this one)


_KINDS = (
    _Kind(
        UploadRun,
        "integration",
        "Upload run",
        RunStatus.ABANDONED,
        raptormaps.lease_name,
        raptormaps.INTERRUPTED_CONSEQUENCE,
        raptormaps.work_dir,
    ),
    _Kind(
        SyncRun,
        "account",
        "WattCarbon sync",
        SyncStatus.ABANDONED,
        wattcarbon.lease_name,
        wattcarbon.INTERRUPTED_CONSEQUENCE,
    ),
)


def reap_interrupted_runs(now=None):
    """Mark every run and sync whose lease lapsed as interrupted; return them."""
    now = now or timezone.now()
    reaped = []
    for kind in _KINDS:
        running = kind.model.objects.filter(status=lifecycle.RUNNING, started_at__lt=now).select_related(kind.owner)
        owners = {getattr(run, f"{kind.owner}_id"): getattr(run, kind.owner) for run in running}
        for owner in owners.values():
            reaped += _reap(kind, owner, now)
    return reaped


def _reap(kind, owner, now):
    with transaction.atomic():
        lapsed_at = free_if_lapsed(kind.lease_name(owner), now)
        if lapsed_at is None:
            return []  # held and renewed: its worker is alive
        lapsed = time_text(lapsed_at, "UTC", precision="seconds")
        how = f"its lease lapsed at {lapsed} without a sign of life; found by the reaper"
        stale = kind.model.objects.filter(**{kind.owner: owner}, status=lifecycle.RUNNING, started_at__lt=now)
        reaped = [run for run in stale if lifecycle.interrupt(run, kind.interrupted, how, kind.consequence, now)]
    for run in reaped:
        logger.warning(
            "%s #%s of %s: its worker stopped (lease lapsed at %s, no sign of life since). Marked interrupted; "
            "the next run does its work.",
            kind.noun,
            run.pk,
            owner,
            lapsed_at.isoformat(),
        )
        if kind.work_dir is not None:
            shutil.rmtree(kind.work_dir(run), ignore_errors=True)
    return reaped
