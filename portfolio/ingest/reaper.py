"""The reaper: an import whose worker died (killed, out of memory, host gone) is marked failed.

A running import stamps ``ImportRecord.heartbeat_at`` every few seconds
(``portfolio.ingest.heartbeat``). One silent for longer than ``IMPORT_STALE_AFTER_SECONDS``
lost its worker: it is marked failed with a message saying so, its file is released as a
failure's would be, and the upload horizon (``uploads.runs.horizon``) stops waiting for it (the
horizon check runs the reaper first; a stale record it could not reap keeps holding it). Both kinds of import
write in one transaction at the end, which a dead worker never commits: nothing was imported
(docs/readings-import.md, "A worker that dies").
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from portfolio.models import ImportRecord
from portfolio.timefmt import time_text

__all__ = ["live_imports", "reap_stale_imports", "stale_before"]

logger = logging.getLogger(__name__)


def stale_before(now=None):
    """The instant before which a running import's last sign of life means its worker is gone."""
    return (now or timezone.now()) - timedelta(seconds=settings.IMPORT_STALE_AFTER_SECONDS)


def _last_sign_of_life():
    # Records started before heartbeats existed have none: their start is their last sign.
    return Coalesce("heartbeat_at", "started_at", "created_at")


def live_imports(now=None):
    """Running imports whose worker showed a sign of life recently enough to be taken as alive."""
    return (
        ImportRecord.objects.filter(status=ImportRecord.Status.RUNNING)
        .alias(last_seen=_last_sign_of_life())
        .filter(last_seen__gte=stale_before(now))
    )


def _stale_imports(cutoff):
    return (
        ImportRecord.objects.filter(status=ImportRecord.Status.RUNNING)
        .alias(last_seen=_last_sign_of_life())
        .filter(last_seen__lt=cutoff)
    )


def dead_worker_message(record, last_seen):
    """What a person reads on the reaped record: what happened, what became of the file, what to do."""
    since = time_text(last_seen, "UTC", precision="seconds")
    return (
        f"Failed, nothing imported: the worker stopped (no sign of life since {since}, "
        f"more than {settings.IMPORT_STALE_AFTER_SECONDS:g} s, IMPORT_STALE_AFTER_SECONDS). The import writes "
        f"all its rows in one transaction at the end, which a stopped worker never commits, so nothing was "
        f"imported. Import the file again."
    )


def reap_stale_imports(now=None):
    """Mark every running import whose heartbeat is stale as failed and release its file.

    Returns the reaped records. Each record is taken with a conditional update (still
    running, still stale), so a worker that beats at the last moment, or another reaper
    running at the same time, is never overruled.
    """
    now = now or timezone.now()
    cutoff = stale_before(now)
    reaped = []
    for record in _stale_imports(cutoff).annotate(seen=_last_sign_of_life()):
        message = dead_worker_message(record, record.seen)
        taken = (
            ImportRecord.objects.filter(pk=record.pk, status=ImportRecord.Status.RUNNING)
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
            .update(status=ImportRecord.Status.FAILED, message=message, finished_at=now)
        )
        if not taken:
            continue
        record.refresh_from_db()
        logger.warning(
            "%s import #%s (%s): its worker stopped; no sign of life since %s. Marked failed.",
            record.get_kind_display().capitalize(),
            record.pk,
            record.file_name,
            record.seen.isoformat(),
        )
        _release_file(record)
        reaped.append(record)
    return reaped


def _release_file(record):
    """Release the record's file as its job would have after a failure."""
    # The jobs' own release steps (imported here: the jobs import the heartbeat next door).
    from portfolio.ingest.jobs import _discard_upload
    from portfolio.resources.jobs import _release_file as release_spreadsheet

    try:
        if record.kind == ImportRecord.Kind.SPREADSHEET:
            release_spreadsheet(record, bool(record.options.get("dry_run")))
        else:
            _discard_upload(record)
    except OSError:  # the record says what happened; a file left behind is cleaned by hand
        logger.exception("Import #%s: its file %s could not be deleted", record.pk, record.upload.name)
