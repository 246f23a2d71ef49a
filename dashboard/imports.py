"""Imports queued or running, oldest first, with how far each has read."""

from dataclasses import dataclass

from portfolio.models import ImportRecord

__all__ = ["IMPORTS_SHOWN", "ImportsInProgress", "imports_in_progress"]

IMPORTS_SHOWN = 10
IN_PROGRESS = (ImportRecord.Status.QUEUED, ImportRecord.Status.RUNNING)


@dataclass
class ImportsInProgress:
    shown: list  # [ImportRecord], each with .percent (None when the size is unknown)
    total: int


def imports_in_progress():
    records = list(
        ImportRecord.objects.filter(status__in=IN_PROGRESS)
        .select_related("user")
        .only(
            "kind",
            "target",
            "file_name",
            "file_size",
            "status",
            "created_at",
            "started_at",
            "bytes_read",
            "rows_read",
            "heartbeat_at",
            "user__username",
        )
        .order_by("created_at", "pk")[:IMPORTS_SHOWN]
    )
    for record in records:
        record.percent = min(100, round(100 * record.bytes_read / record.file_size)) if record.file_size else None
    total = (
        len(records) if len(records) < IMPORTS_SHOWN else ImportRecord.objects.filter(status__in=IN_PROGRESS).count()
    )
    return ImportsInProgress(shown=records, total=total)
