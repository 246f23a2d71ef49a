"""WattCarbon sync runs: one record per attempt to bring an account up to date."""

from django.db import models

from portfolio.quantities import count
from uploads.models.runs import Run

__all__ = ["SyncRun", "SyncStatus"]


class SyncStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SYNCED = "synced", "synced"
    NOTHING = "nothing", "nothing changed"
    PARTIAL = "partial", "synced, with problems"
    DRY_RUN = "dry_run", "dry run (nothing sent)"
    SKIPPED = "skipped", "skipped (another sync was in progress)"
    FAILED = "failed", "failed"
    # Stored as "abandoned" (older records); shown as interrupted, the word the admin uses.
    ABANDONED = "abandoned", "interrupted (its worker stopped)"


FINISHED_SYNC_STATUSES = (
    SyncStatus.SYNCED,
    SyncStatus.NOTHING,
    SyncStatus.PARTIAL,
    SyncStatus.DRY_RUN,
    SyncStatus.SKIPPED,
    SyncStatus.FAILED,
    SyncStatus.ABANDONED,
)
RETRYABLE_SYNC_STATUSES = (SyncStatus.PARTIAL, SyncStatus.FAILED, SyncStatus.ABANDONED)


class SyncRun(Run):
    """One sync of one WattCarbon account, and what it changed there."""

    account = models.ForeignKey("uploads.WattCarbonAccount", on_delete=models.CASCADE, related_name="syncs")
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    meters_created = models.PositiveIntegerField(default=0)
    interval_rows = models.PositiveBigIntegerField("interval rows sent", default=0)
    bill_rows = models.PositiveBigIntegerField("bill rows sent", default=0)
    derived_rows = models.PositiveBigIntegerField("hourly intervals derived", default=0)
    assets_created = models.PositiveIntegerField(default=0)
    assets_updated = models.PositiveIntegerField(default=0)
    documents = models.PositiveIntegerField("event documents sent", default=0)
    problems = models.PositiveIntegerField(default=0, help_text="Meters and assets that could not be synced.")
    write_calls = models.PositiveIntegerField(
        default=0, help_text="Calls that changed something on WattCarbon: only those it accepted."
    )
    failed_write_calls = models.PositiveIntegerField(
        default=0, help_text="Calls meant to change something on WattCarbon that failed (refused, or no answer)."
    )

    attempt_field = "sync_run"
    finished_statuses = FINISHED_SYNC_STATUSES

    class Meta(Run.Meta):
        verbose_name = "WattCarbon sync"
        indexes = [
            models.Index(fields=["account", "status"], name="syncrun_account_status"),
            models.Index(fields=["account", "-queued_at"], name="syncrun_account_recent"),
        ]

    def __str__(self):
        return f"Sync #{self.pk} of {self.account}"

    def figures(self):
        """What it did so far, in words ("3 meters created", "48 interval rows sent"), leaving out noughts."""
        done = (
            (self.meters_created, "meters created", "meter created"),
            (self.derived_rows, "intervals derived", "interval derived"),
            (self.interval_rows, "interval rows sent", "interval row sent"),
            (self.bill_rows, "bill rows sent", "bill row sent"),
            (self.assets_created, "assets created", "asset created"),
            (self.assets_updated, "assets updated", "asset updated"),
            (self.documents, "event documents sent", "event document sent"),
            (self.problems, "meters or assets with a problem", "meter or asset with a problem"),
        )
        return [count(number, plural, singular) for number, plural, singular in done if number]
