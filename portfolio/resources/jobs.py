"""Spreadsheets above the interactive row limit: their preview and their import run in a worker.

The admin keeps the file (a ``SpreadsheetPreview`` in the private directory), records a
queued ``ImportRecord`` whose ``upload`` names that file, and queues
``run_spreadsheet_import``; the record's page follows the worker (the same page and progress
script as readings imports). A dry run that finds nothing wrong ends "previewed", and the
page offers its owner the confirmation; the confirmation is a second record and task.
"""

import logging
from pathlib import Path

from django.core.files.storage import default_storage

from portfolio.ingest.heartbeat import Heartbeat
from portfolio.ingest.jobs import finish_with_failure, send_to_worker, start_record
from portfolio.models import ImportRecord, SpreadsheetPreview
from portfolio.resources import RESOURCES
from portfolio.resources.importing import Upload, import_spreadsheet
from portfolio.resources.previews import discard_preview, storage_name

__all__ = ["queue_spreadsheet_import", "run_spreadsheet_import"]

logger = logging.getLogger(__name__)

# The worker entry point (portfolio/tasks.py), by name as django-q2 wants it.
TASK = "portfolio.tasks.import_spreadsheet"


def queue_spreadsheet_import(preview, *, dry_run):
    """Record the preview's file as a queued import (or, with ``dry_run``, a queued preview) and queue it."""
    record = ImportRecord.objects.create(
        kind=ImportRecord.Kind.SPREADSHEET,
        target=preview.target,
        source=ImportRecord.Source.ADMIN,
        user=preview.user,
        file_name=preview.file_name,
        file_size=preview.file_size,
        sha256=preview.sha256,
        upload=storage_name(preview),
        options={"dry_run": dry_run, "in_worker": True},
        status=ImportRecord.Status.QUEUED,
    )
    if dry_run:
        SpreadsheetPreview.objects.filter(pk=preview.pk).update(record=record)
    what = "preview" if dry_run else "import"
    return send_to_worker(record, TASK, f"{what} spreadsheet #{record.pk} {record.file_name}")


def _release_file(record, dry_run):
    """After the run: a confirmed import's file is deleted; a preview's stays with the preview, if it passed."""
    name = record.upload.name
    ImportRecord.objects.filter(pk=record.pk).update(upload="")
    if not name:
        return
    preview = SpreadsheetPreview.objects.filter(record=record).first() if dry_run else None
    if preview is None:
        default_storage.delete(name)
    elif record.status != ImportRecord.Status.PREVIEWED:
        discard_preview(preview)  # nothing to confirm


def run_spreadsheet_import(record_id):
    """Run a queued spreadsheet preview or import (the worker's job) and record its outcome."""
    record = ImportRecord.objects.get(pk=record_id)
    if record.is_finished:
        logger.warning("Spreadsheet import #%s is already %s; not running it again", record.pk, record.status)
        return record.status
    dry_run = bool(record.options.get("dry_run"))
    try:
        start_record(record)
        with Heartbeat(record):  # one long transaction reports no progress: the thread says it lives
            path = Path(record.upload.path)
            upload = Upload(record.file_name, path.stat().st_size, path.read_bytes)
            import_spreadsheet(
                RESOURCES[record.target](),
                upload,
                source=ImportRecord.Source.ADMIN,
                user=record.user,
                dry_run=dry_run,
                record=record,
            )
    except BaseException as exc:  # the worker's timeout is a SystemExit; record it too
        record.refresh_from_db()
        if not record.is_finished:
            finish_with_failure(record, exc)
        raise
    finally:
        _release_file(record, dry_run)
    return record.status
