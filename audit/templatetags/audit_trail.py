"""The audit trail on an object's history page (templates/admin/object_history.html)."""

from auditlog.models import LogEntry
from django import template

register = template.Library()

# The newest entries on the page; the full list is the admin's Audit log, Log entries.
HISTORY_LIMIT = 200


@register.simple_tag
def audit_entries(obj, limit=HISTORY_LIMIT):
    """The newest audit log entries of ``obj``, newest first."""
    return LogEntry.objects.get_for_object(obj).select_related("actor").order_by("-timestamp", "-pk")[:limit]


@register.filter
def audit_source(entry):
    """Where a change came from, in words: "web POST /admin/...", "command import_spreadsheet", "task ..."."""
    return describe_source(entry.additional_data or {})


def describe_source(data):
    source = data.get("source")
    if source == "web":
        return f"web {data.get('method', '')} {data.get('path', '')}".strip()
    if source == "command":
        return f"command {data.get('command', '')}".strip()
    if source == "task":
        queued = data.get("queued_from") or {}
        via = f" (queued from {describe_source(queued)})" if queued else ""
        return f"task {data.get('task', '')}{via}"
    return "code outside a request, command or task"
