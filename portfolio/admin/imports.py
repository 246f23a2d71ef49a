"""The import log: read-only, written by the imports themselves."""

from django.contrib import admin

from portfolio.models import ImportRecord


@admin.register(ImportRecord)
class ImportRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "target", "file_name", "status", "user", "rows_new", "rows_updated"]
    list_filter = ["kind", "status", "source", "created_at"]
    search_fields = ["file_name", "sha256", "target"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
