"""How far an upload may read: rows ingested up to a horizon that trails now and waits for running imports.

Raptor Maps uploads and WattCarbon syncs both send what was ingested after a watermark; both
stop at this horizon, so a row committed late never falls behind a watermark that passed it.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from portfolio.models import ImportRecord

__all__ = ["ingestion_horizon"]

# An import stuck in "running" longer than this is taken to be dead and no longer holds the horizon back.
STUCK_IMPORT_AFTER = timedelta(hours=6)


def ingestion_horizon(now=None):
    """The newest ``ingested_at`` a run may treat as complete, and why.

    Rows become visible when their transaction commits, which can be well after the
    ``ingested_at`` they carry (an import stamps its rows when it starts writing). So the
    horizon trails now by a safety lag, and never passes the start of an import still running.
    """
    now = now or timezone.now()
    horizon = now - timedelta(seconds=settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS)
    reason = f"{settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS:g} s safety lag"
    running = ImportRecord.objects.filter(
        status=ImportRecord.Status.RUNNING,
        kind=ImportRecord.Kind.READINGS,
        started_at__gt=now - STUCK_IMPORT_AFTER,
    ).aggregate(first=Min("started_at"))["first"]
    if running is not None and running < horizon:
        horizon = running
        reason = "a readings import still running since then"
    return horizon, reason
