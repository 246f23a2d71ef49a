"""The searchable audit log for administrators: auditlog's own list, with where each change came from."""

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin

from audit.templatetags.audit_trail import audit_source

admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditLogEntryAdmin(LogEntryAdmin):
    list_display = ["created", "resource_url", "action", "msg_short", "user_url", "remote_addr", "source"]
    search_fields = [*LogEntryAdmin.search_fields, "remote_addr", "additional_data"]
    readonly_fields = [*LogEntryAdmin.readonly_fields, "remote_addr", "source"]
    fieldsets = [
        (None, {"fields": ["created", "user_url", "remote_addr", "source", "resource_url", "cid"]}),
        ("Changes", {"fields": ["action", "msg"]}),
    ]

    @admin.display(description="source")
    def source(self, obj):
        return audit_source(obj)
