"""django-q2 entry points: thin wrappers that hand the work to a service."""

import logging

from portfolio.sqlite import said_plainly_when_locked
from uploads import reaper
from uploads.models import (
    RaptorMapsIntegration,
    RunStatus,
    RunTrigger,
    SyncRun,
    UploadRun,
    WattCarbonAccount,
)
from uploads.raptormaps.service import run_upload
from uploads.wattcarbon.service import run_sync

logger = logging.getLogger(__name__)


def upload_raptormaps(integration_id, run_id=None):
    """One upload run of an integration: a queued run (``run_id``) or a scheduled one."""
    integration = RaptorMapsIntegration.objects.filter(pk=integration_id).first()
    run = UploadRun.objects.filter(pk=run_id).first() if run_id else None
    if integration is None:
        logger.warning("Raptor Maps integration %s no longer exists; nothing to upload.", integration_id)
        if run is not None:
            run.status, run.error = RunStatus.FAILED, "The integration was deleted before the run started."
            run.save()
        return None
    if run is None and not integration.enabled:
        logger.info("Raptor Maps integration %s is disabled; the scheduled run does nothing.", integration)
        return None
    with said_plainly_when_locked(f"The Raptor Maps upload of {integration}", logger):
        result = run_upload(integration, run=run, trigger=RunTrigger.SCHEDULE)
    return f"run #{result.pk}: {result.get_status_display()}"


def sync_wattcarbon(account_id, run_id=None):
    """One sync of an account: a queued one (``run_id``: "Sync now", "Retry") or a scheduled one."""
    account = WattCarbonAccount.objects.filter(pk=account_id).select_related("portfolio").first()
    run = SyncRun.objects.filter(pk=run_id).first() if run_id else None
    if account is None:
        # A deleted account takes its syncs with it; only the log is left to tell.
        logger.warning("WattCarbon account %s no longer exists; nothing to sync.", account_id)
        return None
    if run is None and not account.enabled:
        logger.info("WattCarbon account %s is disabled; the scheduled sync does nothing.", account)
        return None
    with said_plainly_when_locked(f"The WattCarbon sync of {account}", logger):
        result = run_sync(account, run=run, trigger=RunTrigger.SCHEDULE)
    return f"sync #{result.pk}: {result.get_status_display()}"


def reap_interrupted_runs():
    """Mark upload runs and syncs whose worker stopped as interrupted (scheduled every minute by migration 0005)."""
    reaped = reaper.reap_interrupted_runs()
    return f"{len(reaped)} run(s) without a worker marked interrupted" + (
        f": {', '.join(f'{type(run).__name__} #{run.pk}' for run in reaped)}" if reaped else ""
    )
