"""How far an upload may read: rows ingested up to a horizon that trails now and waits for running imports.

Raptor Maps uploads and WattCarbon syncs both send what was ingested after a watermark; both
stop at this horizon, so a row committed late never falls behind a watermark that passed it.
A running import holds it back until it ends or the reaper marks it failed: one whose worker
stopped (no heartbeat for IMPORT_STALE_AFTER_SECONDS) never commits, and the horizon check reaps
it first. Staleness alone does not release it: on SQLite a live import cannot beat while its
final transaction holds the write lock, and passing it then would put its rows behind a
watermark; the reaper cannot mark it failed meanwhile either (it needs the same lock).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Min
from django.utils import timezone

from portfolio.ingest.reaper import reap_stale_imports
from portfolio.models import ImportRecord

__all__ = ["ingestion_horizon"]

logger = logging.getLogger(__name__)


def ingestion_horizon(now=None):
    """The newest ``ingested_at`` a run may treat as complete, and why.

    Rows become visible when their transaction commits, which can be well after the
    ``ingested_at`` they carry (an import stamps its rows when it starts writing). So the
    horizon trails now by a safety lag, and never passes the start of an import still running.
    """
    now = now or timezone.now()
    horizon = now - timedelta(seconds=settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS)
    reason = f"{settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS:g} s safety lag"
    _reap()
    running = ImportRecord.objects.filter(
        status=ImportRecord.Status.RUNNING, kind=ImportRecord.Kind.READINGS
    ).aggregate(first=Min("started_at"))["first"]
    if running is not None and running < horizon:
        horizon = running
        reason = "a readings import still running since then"
    return horizon, reason


def _reap():
    """Mark imports whose worker died as failed now rather than at the next scheduled reaping.

    Cheap (one indexed query, usually empty) and best effort: an import it cannot reap (inside
    a caller's transaction, whose rollback would leave the files deleted and the records
    running, or a database error) keeps holding the horizon until the scheduled reaper does.
    """
    if transaction.get_connection().in_atomic_block:
        return
    try:
        reap_stale_imports()
    except DatabaseError:
        logger.exception("Stale imports could not be reaped; the scheduled reaper will try again")
