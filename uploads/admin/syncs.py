"""WattCarbon syncs: read-only, written by the syncs themselves.

A sync's page tells its story: what it changed on WattCarbon (the counts), what it did and
decided (the log), every HTTP call it made (attempts) and, when it failed or had problems, why.
A sync that failed, was interrupted or had problems can be retried: the retry is a new sync, which
goes on from what the first one saved (remote ids and watermarks are kept as they are learned).
Retrying starts a sync, so it needs the permission of "Sync now" (``uploads.sync_now``,
operators); viewing needs only the view permission on syncs.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from portfolio.quantities import count
from uploads.admin.display import SYNC_TRIGGER_WORDS, sync_status_badge, trigger_text
from uploads.admin.runs import RunAdmin
from uploads.admin.wattcarbon_accounts import queue_sync
from uploads.models import RunTrigger, SyncRun
from uploads.models.syncs import RETRYABLE_SYNC_STATUSES
from uploads.wattcarbon.service import lease_name as sync_lease_name

__all__ = ["SyncRunAdmin", "SyncTriggerFilter"]


class SyncTriggerFilter(admin.SimpleListFilter):
    """The triggers in a sync's words ("sync now", not "upload now")."""

    title = "trigger"
    parameter_name = "trigger__exact"

    def lookups(self, request, model_admin):
        return [(trigger, trigger_text(trigger, SYNC_TRIGGER_WORDS)[1]) for trigger in RunTrigger.values]

    def queryset(self, request, queryset):
        return queryset.filter(trigger=self.value()) if self.value() else queryset


def count_column(field, description):
    """A list column showing a count with thousands separators, sortable by it."""

    @admin.display(description=description, ordering=field)
    def column(model_admin, obj):
        return count(getattr(obj, field))

    column.__name__ = f"{field}_count"
    return column


@admin.register(SyncRun)
class SyncRunAdmin(RunAdmin):
    noun = "sync"
    owner_field = "account"
    retryable = RETRYABLE_SYNC_STATUSES
    retryable_words = "syncs that failed, were interrupted or had problems"
    status_words = "its status is “{}”"
    retry_permission = "uploads.sync_now"
    trigger_words = SYNC_TRIGGER_WORDS
    status_badge_html = staticmethod(sync_status_badge)

    list_display = [
        "sync",
        "account",
        "status_short",
        "trigger_short",
        "requested_by_display",
        "meters_created_count",
        "readings_sent",
        "assets_changed",
        "problems_count",
        "write_calls_count",
        "failed_write_calls_count",
        "duration",
        "queued",
    ]
    list_display_links = ["sync"]
    list_filter = ["status", "account", SyncTriggerFilter]
    list_select_related = ["account", "requested_by"]
    search_fields = ["error", "task_id", "log"]
    readonly_fields = [*RunAdmin.readonly_fields, "account_link"]

    def get_fieldsets(self, request, obj=None):
        done = [
            (
                "Changes on WattCarbon",
                {
                    "fields": [
                        "meters_created",
                        "interval_rows",
                        "bill_rows",
                        "derived_rows",
                        "assets_created",
                        "assets_updated",
                        "documents",
                        "problems",
                        "write_calls",
                        "failed_write_calls",
                    ]
                },
            ),
        ]
        return self.story_fieldsets(obj, done)

    def enqueue(self, request, owner, trigger, retry_of):
        return queue_sync(request, owner, trigger, retry_of=retry_of)

    def lease_name(self, run):
        return sync_lease_name(run.account)

    def summary(self, run):
        changed = run.figures()
        return f"{', '.join(changed)}." if changed else ""

    @admin.action(
        description="Retry the selected syncs that failed, were interrupted or had problems", permissions=["retry"]
    )
    def retry_action(self, request, queryset):
        super().retry_action(request, queryset)

    @admin.display(description="sync", ordering="pk")
    def sync(self, obj):
        return f"#{obj.pk}"

    @admin.display(description="account")
    def account_link(self, obj):
        url = reverse("admin:uploads_wattcarbonaccount_change", args=[obj.account_id])
        return format_html('<a href="{}">{}</a>', url, obj.account)

    @admin.display(description="readings sent")
    def readings_sent(self, obj):
        return format_html(
            '<span title="{} interval rows, {} bill rows">{}</span>',
            count(obj.interval_rows),
            count(obj.bill_rows),
            count(obj.interval_rows + obj.bill_rows),
        )

    @admin.display(description="assets created / updated")
    def assets_changed(self, obj):
        return f"{count(obj.assets_created)} / {count(obj.assets_updated)}"

    meters_created_count = count_column("meters_created", "meters created")
    interval_rows_count = count_column("interval_rows", "interval rows")
    bill_rows_count = count_column("bill_rows", "bill rows")
    assets_created_count = count_column("assets_created", "assets created")
    assets_updated_count = count_column("assets_updated", "assets updated")
    documents_count = count_column("documents", "event documents")
    problems_count = count_column("problems", "problems")
    write_calls_count = count_column("write_calls", "write calls")
    failed_write_calls_count = count_column("failed_write_calls", "failed write calls")
