"""Readings imports as recorded jobs: queue an uploaded file, run it in a worker, record the outcome.

The admin page queues (``queue_readings_import``) and a django-q2 worker runs
(``run_readings_import``); the ``import_observations`` command runs its own records with the
same ``start_record`` / ``progress_recorder`` / ``finish_*`` steps. Every outcome ends in one
of the finished states, so no record is left "running" by a run that returned or raised.
"""

import hashlib
import logging
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.utils import timezone
from django_q.tasks import async_task

from portfolio.ingest.errors import ReadingsFileError, unknown_sensors_summary
from portfolio.ingest.heartbeat import Heartbeat
from portfolio.ingest.importer import ImportResult, Progress, import_readings
from portfolio.models import ImportRecord, Portfolio
from portfolio.models.imports import MAX_PROBLEMS

logger = logging.getLogger(__name__)

# Read and hash files in pieces this big: memory stays flat whatever the file's size.
CHUNK_SIZE = 1024 * 1024

# The worker entry point (portfolio/tasks.py), by name as django-q2 wants it.
TASK = "portfolio.tasks.import_readings"

# Errors files of admin imports, below MEDIA_ROOT (never served): downloaded through the
# import record's page, by who ran the import or an administrator.
ERRORS_DIR = "private/errors"


class HashingFile(File):
    """An uploaded file that computes its SHA-256 while the storage copies it, in one pass."""

    def __init__(self, file, name):
        super().__init__(file, name)
        self.sha256 = hashlib.sha256()
        self.bytes_hashed = 0

    def chunks(self, chunk_size=None):
        for chunk in super().chunks(chunk_size or CHUNK_SIZE):
            self.sha256.update(chunk)
            self.bytes_hashed += len(chunk)
            yield chunk


def file_sha256(path):
    """The SHA-256 (hex) and size of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def readings_options(*, portfolio=None, time_basis="local", skip_invalid=False):
    """How the worker reads the file, as stored in ``ImportRecord.options`` (JSON)."""
    return {
        "portfolio": portfolio.slug if portfolio is not None else None,
        "time_basis": time_basis,
        "skip_invalid": bool(skip_invalid),
    }


def queue_readings_import(uploaded_file, *, user, options):
    """Keep an uploaded file of readings, record it as queued, and hand it to a worker.

    ``options`` comes from ``readings_options``. Returns the record; its ``task_id`` names
    the django-q2 task.
    """
    record = ImportRecord(
        kind=ImportRecord.Kind.READINGS,
        target="readings",
        source=ImportRecord.Source.ADMIN,
        user=user,
        file_name=Path(uploaded_file.name).name[: ImportRecord._meta.get_field("file_name").max_length],
        options=options,
        status=ImportRecord.Status.QUEUED,
    )
    # Not the uploaded file itself: Django would move its temporary file without reading it.
    content = HashingFile(uploaded_file.file, name=record.file_name)
    record.upload.save(record.file_name, content, save=False)
    record.sha256 = content.sha256.hexdigest()
    record.file_size = content.bytes_hashed
    record.save()

    def refused(exc):
        finish_with_failure(record, exc)
        _discard_upload(record)

    return send_to_worker(record, TASK, f"import readings #{record.pk} {record.file_name}", on_refused=refused)


def send_to_worker(record, task, task_name, *, on_refused=None):
    """Queue ``task(record.pk)`` for a worker and note its task id on the record.

    If the broker refuses, the record is finished as failed (``on_refused(exc)`` instead, when
    given) and the error is raised again; in sync mode the task has already recorded its outcome.
    """
    try:
        task_id = async_task(task, record.pk, task_name=task_name[:100])
    except Exception as exc:
        record.refresh_from_db()
        if not record.is_finished:
            (on_refused or (lambda error: finish_with_failure(record, error)))(exc)
        raise
    # Only this column: a worker may already be writing the record's progress.
    ImportRecord.objects.filter(pk=record.pk).update(task_id=task_id)
    record.task_id = task_id
    return record


def start_record(record):
    """Mark the record running, with its first heartbeat (``portfolio.ingest.heartbeat``)."""
    record.status = ImportRecord.Status.RUNNING
    record.started_at = record.heartbeat_at = timezone.now()
    record.save(update_fields=["status", "started_at", "heartbeat_at"])


def progress_recorder(record, min_interval=1.0):
    """A ``progress`` callback for ``import_readings`` that writes the record's progress columns.

    At most once per ``min_interval`` seconds (and whenever the phase changes), and only
    while the record is running, so a late call can never overwrite the final counts. Each
    write is also a heartbeat: the worker is alive.
    """
    last_write = -float("inf")
    last_phase = None

    def record_progress(progress: Progress):
        nonlocal last_write, last_phase
        now = time.monotonic()
        if now - last_write < min_interval and progress.phase == last_phase:
            return
        last_write, last_phase = now, progress.phase
        record.bytes_read, record.rows_read = progress.bytes_read, progress.rows_read
        ImportRecord.objects.filter(pk=record.pk, status=ImportRecord.Status.RUNNING).update(
            bytes_read=progress.bytes_read, rows_read=progress.rows_read, heartbeat_at=timezone.now()
        )

    return record_progress


def _count(number, singular, plural=None):
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def summary(result: ImportResult):
    """The outcome in one sentence, like '1,000 rows (long format): 990 new, 10 updated, 0 unchanged.'"""
    sentence = (
        f"{_count(result.rows_read, 'row')} ({result.file_format}): {result.rows_new:,} new, "
        f"{result.rows_updated:,} updated, {result.rows_unchanged:,} unchanged"
    )
    if result.rows_merged:
        sentence += f", {result.rows_merged:,} merged (a sensor and time given again with the same value)"
    if result.rows_skipped:
        sentence += f", {result.rows_skipped:,} invalid skipped (listed in the errors file)"
    created = [
        _count(count, singular, plural)
        for count, singular, plural in (
            (result.farms_created, "farm", None),
            (result.equipment_created, "piece of equipment", "pieces of equipment"),
            (result.sensors_created, "sensor", None),
        )
        if count
    ]
    if created:
        sentence += f"; created {', '.join(created)}"
    unknown = unknown_sensors_summary(result.unknown_sensor_rows, result.unknown_sensors)
    sentence += f". {unknown}." if unknown else "."
    if result.retries:
        times = "once" if result.retries == 1 else f"{result.retries} times"
        sentence += f" Written again {times}: another import held the same rows."
    return sentence


def _problem_dicts(problems):
    return [problem.as_dict() for problem in problems[:MAX_PROBLEMS]]


def _media_name(path):
    """The storage name of a file under MEDIA_ROOT, or None for a file elsewhere."""
    path = Path(path).resolve()
    media_root = Path(settings.MEDIA_ROOT).resolve()
    return path.relative_to(media_root).as_posix() if path.is_relative_to(media_root) else None


def _store_errors_file(record, errors_path):
    """Point the record at the errors file, copying it into MEDIA_ROOT when it lies elsewhere
    (a command-line import), so the admin can offer it for download."""
    if name := _media_name(errors_path):
        record.errors_file.name = name
        return
    errors_path = Path(errors_path)
    with errors_path.open("rb") as stream:
        # Storage never overwrites: a second file of the same name gets a suffix.
        record.errors_file.save(f"{record.pk}-{errors_path.name}", File(stream, name=errors_path.name), save=False)


def finish_with_result(record, result: ImportResult):
    record.status = ImportRecord.Status.IMPORTED
    record.rows_read = result.rows_read
    if record.file_size:
        record.bytes_read = record.file_size
    record.rows_new = result.rows_new
    record.rows_updated = result.rows_updated
    record.rows_unchanged = result.rows_unchanged
    record.rows_merged = result.rows_merged
    record.rows_skipped = result.rows_skipped
    record.rows_invalid = result.rows_skipped
    record.problems = _problem_dicts(result.problems)
    record.message = summary(result)
    if result.errors_path and result.rows_skipped and Path(result.errors_path).exists():
        _store_errors_file(record, result.errors_path)
    record.finished_at = timezone.now()
    record.save()


def finish_with_refusal(record, error: ReadingsFileError):
    record.status = ImportRecord.Status.REFUSED
    record.rows_read = error.rows_read
    record.rows_invalid = error.problem_count
    record.problems = _problem_dicts(error.problems)
    if error.problem_count == 1:
        record.message = f"Refused, nothing imported: {error.problems[0]}"
    else:
        record.message = f"Refused, nothing imported: {error.problem_count:,} problems (the first are listed)."
    unknown = unknown_sensors_summary(error.unknown_sensor_rows, error.unknown_sensors)
    if unknown:
        record.message += f" {unknown}."
    record.finished_at = timezone.now()
    record.save()


def finish_with_failure(record, exc):
    """Record an unexpected error: the class and text for the page, the traceback for the log."""
    logger.exception(
        "%s import #%s (%s) failed", record.get_kind_display().capitalize(), record.pk, record.file_name, exc_info=exc
    )
    record.status = ImportRecord.Status.FAILED
    text = str(exc).strip()
    record.message = f"Failed, nothing imported: {type(exc).__name__}" + (f": {text}" if text else "")
    record.finished_at = timezone.now()
    record.save(update_fields=["status", "message", "finished_at"])


def _portfolio(slug):
    return Portfolio.objects.get(slug=slug) if slug else None


def _errors_path(record):
    """Where this import's errors file goes: its own name (the record's id and a random part), never
    derived from the uploaded file's name, so two imports of ``june.csv`` never share one."""
    directory = Path(settings.MEDIA_ROOT) / ERRORS_DIR
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory / f"{record.pk}-{secrets.token_hex(8)}.errors.csv"


def _discard_upload(record, errors_path=None):
    """Delete the uploaded file; the record keeps its name, size and checksum."""
    if errors_path is not None and errors_path.exists() and record.errors_file.name != _media_name(errors_path):
        errors_path.unlink()  # written by the importer but not offered: it lists no rows
    if not record.upload:
        return
    record.upload.delete(save=False)
    ImportRecord.objects.filter(pk=record.pk).update(upload="")


def run_readings_import(record_id):
    """Run a queued readings import (the worker's job) and record its outcome.

    A refused file is an outcome, not an error: the record says why. Anything unexpected
    is recorded as a failure and raised again, so the worker's task shows it too.
    """
    record = ImportRecord.objects.get(pk=record_id)
    if record.is_finished:
        logger.warning("Readings import #%s is already %s; not running it again", record.pk, record.status)
        return record.status
    errors_path = None
    try:
        start_record(record)
        with Heartbeat(record):
            upload_path = Path(record.upload.path)
            if not record.sha256 or record.file_size is None:
                record.sha256, record.file_size = file_sha256(upload_path)
                record.save(update_fields=["sha256", "file_size"])
            options = record.options or {}
            errors_path = _errors_path(record)
            try:
                result = import_readings(
                    upload_path,
                    portfolio=_portfolio(options.get("portfolio")),
                    time_basis=options.get("time_basis", "local"),
                    skip_invalid=bool(options.get("skip_invalid", False)),
                    errors_path=errors_path,
                    progress=progress_recorder(record),
                )
            except ReadingsFileError as error:
                finish_with_refusal(record, error)
            else:
                finish_with_result(record, result)
    except BaseException as exc:  # the worker's timeout is a SystemExit; record it too
        finish_with_failure(record, exc)
        raise
    finally:
        _discard_upload(record, errors_path)
    return record.status


__all__ = [
    "file_sha256",
    "finish_with_failure",
    "finish_with_refusal",
    "finish_with_result",
    "progress_recorder",
    "queue_readings_import",
    "readings_options",
    "run_readings_import",
    "start_record",
    "summary",
]
