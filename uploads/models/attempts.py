"""Every HTTP call to the outside, recorded: what was asked, what came back, how long it took."""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

__all__ = ["Attempt", "AttemptOutcome", "Service"]


class Service(models.TextChoices):
    RAPTORMAPS = "raptormaps", "Raptor Maps"
    WATTCARBON = "wattcarbon", "WattCarbon"


class AttemptOutcome(models.TextChoices):
    OK = "ok", "ok"
    RETRY = "retry", "will retry"
    GAVE_UP = "gave_up", "gave up"


# The clients name their calls by a code; people read these words (others: the code, spaced).
OPERATION_WORDS = {"signed_url": "signed URL", "put": "file upload", "org_integrations": "org integrations"}


class Attempt(models.Model):
    """One HTTP request and its answer (or the error instead of one).

    Nothing secret is stored: the URL's query string and credentials are redacted, and the
    response excerpt is redacted the same way (uploads/outbound/redaction.py).
    """

    service = models.CharField(max_length=16, choices=Service.choices)
    operation = models.CharField(
        max_length=50, help_text="What the call was for: a token, a signed URL, a file upload …"
    )
    method = models.CharField(max_length=10)
    url = models.CharField("URL (redacted)", max_length=2000)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    request_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField("duration (ms)")
    retry_in_seconds = models.FloatField(null=True, blank=True, help_text="The wait before the next try.")
    # What the call was for: an upload run or a sync, and/or the object (integration, meter, asset …).
    run = models.ForeignKey(
        "uploads.UploadRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="attempts"
    )
    sync_run = models.ForeignKey(
        "uploads.SyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="attempts"
    )
    subject_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    subject_id = models.CharField(max_length=64, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    subject_label = models.CharField("for", max_length=300, blank=True)
    task_id = models.CharField("django-q2 task ID", max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "-started_at"], name="attempt_subject"),
            models.Index(fields=["service", "operation", "-started_at"], name="attempt_operation"),
        ]

    def __str__(self):
        status = self.status_code or self.error[:40] or "no answer"
        return f"{self.method} {self.operation_label}: {status}"

    @property
    def operation_label(self):
        """'create asset', 'signed URL': the operation in words."""
        return OPERATION_WORDS.get(self.operation) or self.operation.replace("_", " ") or "-"
