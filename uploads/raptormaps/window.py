"""What a run sends: per farm, the readings ingested after its watermark and up to a safe horizon."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from portfolio.models import ImportRecord
from uploads.models import UploadWatermark

__all__ = ["farm_windows", "ingestion_horizon"]

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


def farm_windows(integration, farms):
    """farm pk → the watermark (exclusive lower bound on ingested_at), None for a farm never sent."""
    marks = dict(
        UploadWatermark.objects.filter(integration=integration, farm__in=farms).values_list(
            "farm_id", "ingested_through"
        )
    )
    return {farm.pk: marks.get(farm.pk) for farm in farms}
