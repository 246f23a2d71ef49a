"""Upload runs: one record per attempt to bring an integration up to date, and the files it sent."""

from django.conf import settings
from django.db import models

__all__ = ["Run", "RunStatus", "RunTrigger", "UploadPart", "UploadRun"]


class RunStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    UPLOADED = "uploaded", "uploaded"
    NOTHING = "nothing", "nothing new to send"
    DRY_RUN = "dry_run", "dry run (nothing sent)"
    SKIPPED = "skipped", "skipped (another run was in progress)"
    FAILED = "failed", "failed"
    # Stored as "abandoned" (older records); shown as interrupted, the word the admin uses.
    ABANDONED = "abandoned", "interrupted (its worker stopped)"


FINISHED_STATUSES = (
    RunStatus.UPLOADED,
    RunStatus.NOTHING,
    RunStatus.DRY_RUN,
    RunStatus.SKIPPED,
    RunStatus.FAILED,
    RunStatus.ABANDONED,
)
RETRYABLE_STATUSES = (RunStatus.FAILED, RunStatus.ABANDONED)


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "schedule"
    ADMIN = "admin", "admin (upload now)"
    RETRY = "retry", "admin (retry)"
    COMMAND = "command", "command line"


class Run(models.Model):
    """What every run record has: who asked, which worker task, when, and what it did and decided."""

    trigger = models.CharField(max_length=16, choices=RunTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    retry_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries")
    task_id = models.CharField("django-q2 task ID", max_length=64, blank=True)
    log = models.TextField(blank=True, help_text="What the run did and decided, line by line.")
    error = models.TextField(blank=True)
    waiting = models.TextField(
        "still waiting",
        blank=True,
        help_text="What the run could not send yet (readings inside the safety lag, hours not over) and when it goes.",
    )
    progress = models.JSONField(
        default=dict, blank=True, help_text="How far the run got: its phase and what it has done of what (its page)."
    )
    queued_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # The Attempt field that points at runs of this kind.
    attempt_field = ""
    finished_statuses = ()

    class Meta:
        abstract = True
        ordering = ["-queued_at", "-id"]

    @property
    def is_finished(self):
        return self.status in self.finished_statuses

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    def add_log(self, line):
        self.log = f"{self.log}\n{line}" if self.log else line


class UploadRun(Run):
    """One upload run of one Raptor Maps integration."""

    integration = models.ForeignKey("uploads.RaptorMapsIntegration", on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # The window: per farm, readings ingested after its watermark (None: all history) up to window_end.
    window_end = models.DateTimeField("ingested up to", null=True, blank=True)
    window = models.JSONField(default=dict, blank=True, help_text="farm ID → ingested after (null: all history)")
    readings = models.PositiveBigIntegerField("raw readings", default=0)
    rows = models.PositiveBigIntegerField("CSV rows", default=0)
    bytes = models.PositiveBigIntegerField(default=0)
    parts = models.PositiveIntegerField(default=0)
    skipped_nonfinite = models.PositiveBigIntegerField("rows skipped (not finite)", default=0)

    attempt_field = "run"
    finished_statuses = FINISHED_STATUSES

    class Meta(Run.Meta):
        indexes = [
            models.Index(fields=["integration", "status"], name="uploadrun_integration_status"),
            # The integration list's "last run" and an integration's recent runs.
            models.Index(fields=["integration", "-queued_at"], name="uploadrun_integration_recent"),
        ]

    def __str__(self):
        return f"Run #{self.pk} of {self.integration}"


class UploadPart(models.Model):
    """One CSV file of a run: each part is PUT to its own signed URL."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        UPLOADED = "uploaded", "uploaded"
        FAILED = "failed", "failed"
        WRITTEN = "written", "written (dry run)"

    run = models.ForeignKey(UploadRun, on_delete=models.CASCADE, related_name="file_parts")
    number = models.PositiveIntegerField()
    rows = models.PositiveBigIntegerField()
    bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField("SHA-256", max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    uploaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="uploadpart_unique_number")]

    def __str__(self):
        return f"part {self.number}"
