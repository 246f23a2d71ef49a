"""The record of every import: who brought which file in, when, and what came of it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portfolio.timefmt import time_text

__all__ = ["ImportRecord", "SpreadsheetPreview"]

# How many problems a record keeps; the rest are counted, not listed.
MAX_PROBLEMS = 100


class ImportRecord(models.Model):
    """One import of one file: a spreadsheet of portfolio data, or a file of readings.

    Readings imports from the admin run in a worker, and so do the previews and imports of
    spreadsheets above the interactive row limit; the worker writes progress here so the
    page can show it, and the result when it is done. A worker's spreadsheet preview that
    finds nothing wrong ends "previewed"; its confirmation is a new record.
    """

    class Kind(models.TextChoices):
        SPREADSHEET = "spreadsheet", "spreadsheet"
        READINGS = "readings", "readings"

    class Source(models.TextChoices):
        ADMIN = "admin", "admin"
        COMMAND = "command", "command line"

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        PREVIEWED = "previewed", "previewed (nothing imported yet)"
        IMPORTED = "imported", "imported"
        REFUSED = "refused", "refused (nothing imported)"
        FAILED = "failed", "failed (nothing imported)"

    FINISHED = (Status.PREVIEWED, Status.IMPORTED, Status.REFUSED, Status.FAILED)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    target = models.CharField(max_length=50, help_text="What the file holds: farms, sensors, readings ...")
    source = models.CharField(max_length=16, choices=Source.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    # Where the uploaded file waits for its worker; emptied when the import is done.
    upload = models.FileField(upload_to="imports/%Y/%m/", blank=True, max_length=255)
    options = models.JSONField(default=dict, blank=True, help_text="How the file was read: portfolio, time basis ...")
    task_id = models.CharField("worker task ID", max_length=64, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Stamped by the running worker every few seconds: a record "running" whose heartbeat is
    # older than IMPORT_STALE_AFTER_SECONDS lost its worker (portfolio/ingest/reaper.py).
    heartbeat_at = models.DateTimeField(
        "last sign of life", null=True, blank=True, help_text="When the worker last said it was still at it."
    )

    # Progress, written by the worker while it reads the file.
    bytes_read = models.BigIntegerField(default=0)
    rows_read = models.BigIntegerField(default=0)

    rows_new = models.BigIntegerField(default=0)
    rows_updated = models.BigIntegerField(default=0)
    rows_unchanged = models.BigIntegerField(default=0)
    rows_merged = models.BigIntegerField(
        default=0,
        help_text="Rows that repeat a sensor and time given earlier in the file with the same value: stored once.",
    )
    rows_invalid = models.BigIntegerField(default=0)
    rows_skipped = models.BigIntegerField(
        default=0, help_text="Invalid rows left out on purpose (skip invalid rows), listed in the errors file."
    )

    message = models.TextField(blank=True, help_text="The outcome in a sentence, or why the file was refused.")
    problems = models.JSONField(
        default=list, blank=True, help_text=f"The first {MAX_PROBLEMS} problems: line or row, column, message."
    )
    errors_file = models.FileField(upload_to="imports/%Y/%m/", blank=True, max_length=255)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "status"], name="importrecord_kind_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(status__in=["previewed", "imported", "refused", "failed"]),
                name="importrecord_finished_has_outcome",
            ),
        ]

    def __str__(self):
        return f"{self.file_name} ({self.target}, {time_text(self.created_at)})"

    @property
    def is_finished(self):
        return self.status in self.FINISHED

    @property
    def progress_fraction(self):
        """Share of the file read so far, 0..1, or None when the size is unknown."""
        if not self.file_size:
            return None
        return min(1.0, self.bytes_read / self.file_size)


class SpreadsheetPreview(models.Model):
    """A previewed spreadsheet waiting for its owner to confirm it: the server's side of "Confirm import".

    The confirm form carries only ``token`` (random, unguessable); the file stays in a
    private directory under MEDIA_ROOT (``portfolio.resources.previews``) and is found from
    this row, never from anything the browser sends. Only ``user`` may confirm it, once,
    before ``expires_at``; expired previews and their files are deleted.
    """

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=50, help_text="The resource the file holds: farms, sensors ...")
    model = models.CharField(max_length=100, help_text="The admin list that confirms it, as app_label.model_name.")
    file_name = models.CharField(max_length=255, help_text="The name the file was uploaded with (shown, never opened).")
    file_size = models.BigIntegerField()
    sha256 = models.CharField("SHA-256", max_length=64)
    stored_as = models.CharField(max_length=255, help_text="The file's name in the private previews directory.")
    in_worker = models.BooleanField(default=False, help_text="Above the interactive row limit: a worker imports it.")
    record = models.ForeignKey(
        ImportRecord,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The worker's dry run of this file.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"preview of {self.file_name} ({self.target})"

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()
