"""WattCarbon accounts: which portfolio goes where, with which login, how often, and how it went.

Like the Raptor Maps integrations (integrations.py): the list says how each account's last sync
ended; "Test connection" (log in, count the account's assets) and "Sync now" (queue a sync) work
from the list and from an account's page, for those who may change accounts. The API key is
write-only (forms.py) and the list never decrypts it; the cached token is never shown, only
until when it is good.
"""

from collections import Counter

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from portfolio.models import Asset, Meter
from uploads.admin.display import (
    SYNC_TRIGGER_WORDS,
    exact,
    human_interval,
    readable,
    sync_state_badge,
    sync_status_badge,
    trigger_label,
    waiting_mark,
    when,
)
from uploads.admin.forms import WattCarbonAccountForm, secret_status
from uploads.admin.integrations import (
    WriteOnlySecretsAdminMixin,
    last_run,
    last_run_cell,
    refuse_unreadable_secret,
    schedule_text,
)
from uploads.admin.outbound import OutboundConnectionAdminMixin, run_now_action
from uploads.models import RunTrigger, SyncRun, SyncState, WattCarbonAccount
from uploads.runs.schedules import wattcarbon_follow_up_name, wattcarbon_schedule_name
from uploads.wattcarbon.connection import test_connection
from uploads.wattcarbon.service import enqueue_sync
from uploads.wattcarbon.state import asset_states, meter_states

__all__ = [
    "SYNC_STATE_PARAMETER",
    "WattCarbonAccountAdmin",
    "connection_message",
    "queue_sync",
    "sync_link",
    "syncs_url",
]

RECENT_SYNCS = 5
# The query parameter of the Meter and Asset lists' "WattCarbon sync" filter (sync_state.py).
SYNC_STATE_PARAMETER = "wattcarbon"


def sync_link(sync_id, label=None):
    url = reverse("admin:uploads_syncrun_change", args=[sync_id])
    return format_html('<a href="{}">{}</a>', url, label or f"sync #{sync_id}")


def syncs_url(account_id):
    return f"{reverse('admin:uploads_syncrun_changelist')}?account__id__exact={account_id}"


def refuse_without_api_key(request, account):
    """Say so and return True when the account's API key is missing or cannot be decrypted (a login would fail)."""
    if account.api_key.error:
        return refuse_unreadable_secret(request, account, "API key")
    if not account.api_key:
        messages.error(request, f"{account}: no API key is stored; enter it first.")
        return True
    return False


def queue_sync(request, account, trigger, retry_of=None):
    """Queue a sync through the service and tell the user where to follow it; the sync, or None."""
    if refuse_without_api_key(request, account):
        return None
    run = enqueue_sync(account, trigger, user=request.user, retry_of=retry_of)
    messages.success(request, format_html("{}: {} is queued; its page shows how it goes.", account, sync_link(run.pk)))
    return run


def report_connection(request, account):
    """Test one account's connection and tell the user what WattCarbon answered."""
    if refuse_without_api_key(request, account):
        return
    level, message = connection_message(account, test_connection(account))
    messages.add_message(request, level, message)


def connection_message(account, report):
    """(message level, message) for a connection report."""
    if not report.ok:
        return messages.ERROR, f"{account}: the connection test failed. {readable(report.error)}"
    if report.assets == 0:
        holds = "has no assets yet"
    else:
        holds = f"has {report.assets} asset{'s' if report.assets != 1 else ''}"
    return messages.SUCCESS, f"{account}: the connection works. WattCarbon account {account.account_id} {holds}."


@admin.register(WattCarbonAccount)
class WattCarbonAccountAdmin(OutboundConnectionAdminMixin, WriteOnlySecretsAdminMixin, admin.ModelAdmin):
    noun = "account"
    run_now_name = "sync_now"
    run_now_label = "Sync now"
    sync_now_action = run_now_action(run_now_label)

    form = WattCarbonAccountForm
    list_display = ["name", "portfolio", "account_id", "email", "enabled", "interval", "last_sync", "syncs"]
    list_filter = ["enabled", "portfolio"]
    list_select_related = ["portfolio"]
    search_fields = ["name", "email", "account_id"]
    autocomplete_fields = ["portfolio"]
    actions = ["test_connection_action", "sync_now_action"]
    readonly_fields = [
        "recent_syncs",
        "coverage",
        "schedule_info",
        "token_info",
        "api_key_status",
        "connection_test_info",
    ]

    class Media:
        css = {"all": ["uploads/admin.css"]}

    def get_fieldsets(self, request, obj=None):
        may_change = obj is None or self.has_change_permission(request, obj)
        fieldsets = [
            (None, {"fields": ["name", "portfolio"]}),
            ("Connection", {"fields": ["base_url", "account_id", "user_agent"]}),
            (
                "Credentials",
                {
                    "fields": ["email", "api_key" if may_change else "api_key_status"],
                    "description": "A WattCarbon user's login email and API key: a token is fetched with them "
                    "and kept, encrypted, until it expires.",
                },
            ),
            ("Sync", {"fields": ["sync_interval_seconds", "chunk_rows", "upload_concurrency", "enabled"]}),
        ]
        if obj is not None:
            status = ["connection_test_info", "recent_syncs", "coverage", "schedule_info", "token_info"]
            fieldsets.append(("Status", {"fields": status}))
        return fieldsets

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_sync_id=last_run(SyncRun, "account", "pk"),
                last_sync_status=last_run(SyncRun, "account", "status"),
                last_sync_at=last_run(SyncRun, "account", "at"),
                last_sync_waiting=last_run(SyncRun, "account", "waiting"),
            )
        )

    # -- Test connection and Sync now, from the list and from an account's page (outbound.py) --

    def check_connection(self, request, account):
        report_connection(request, account)

    def run_now(self, request, account):
        return queue_sync(request, account, RunTrigger.ADMIN)

    # -- list columns ----------------------------------------------------------------------

    @admin.display(description="interval", ordering="sync_interval_seconds")
    def interval(self, obj):
        return human_interval(obj.sync_interval_seconds)

    @admin.display(description="last sync", ordering="last_sync_at")
    def last_sync(self, obj):
        return last_run_cell(
            sync_link,
            sync_status_badge,
            obj.last_sync_id,
            obj.last_sync_status,
            obj.last_sync_at,
            obj.last_sync_waiting,
        )

    @admin.display(description="syncs")
    def syncs(self, obj):
        return format_html('<a href="{}">syncs</a>', syncs_url(obj.pk))

    # -- the status panel of an account's page ----------------------------------------------

    @admin.display(description="API key")
    def api_key_status(self, obj):
        return secret_status(obj.api_key)[1]

    @admin.display(description="recent syncs")
    def recent_syncs(self, obj):
        syncs = list(obj.syncs.all()[:RECENT_SYNCS])
        if not syncs:
            return "No sync yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    sync_link(sync.pk),
                    format_html("{}{}", sync_status_badge(sync.status, short=True), waiting_mark(sync.waiting)),
                    trigger_label(sync.trigger, SYNC_TRIGGER_WORDS),
                    when(sync.finished_at or sync.started_at or sync.queued_at),
                    f"{sync.meters_created:,}",
                    f"{sync.interval_rows + sync.bill_rows:,}",
                    f"{sync.assets_created:,} / {sync.assets_updated:,}",
                    f"{sync.problems:,}",
                )
                for sync in syncs
            ),
        )
        return format_html(
            '<table class="uploads-table recent-syncs"><thead><tr><th>sync</th><th>status</th><th>trigger</th>'
            "<th>when</th><th>meters created</th><th>readings sent</th><th>assets created / updated</th>"
            "<th>problems</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}">All syncs of this account</a></p>',
            rows,
            syncs_url(obj.pk),
        )

    @admin.display(description="meters and assets")
    def coverage(self, obj):
        """How the portfolio's meters and assets stand with this account, with links to each group."""
        meters = Meter.objects.filter(portfolio_id=obj.portfolio_id)
        assets = Asset.objects.filter(portfolio_id=obj.portfolio_id).prefetch_related("meters", "events")
        lines = [
            self._state_counts(obj, Meter, meter_states(meters)),
            self._state_counts(obj, Asset, asset_states(assets)),
        ]
        return format_html_join("", '<div class="wattcarbon-coverage">{}</div>', ((line,) for line in lines))

    @staticmethod
    def _state_counts(account, model, states):
        """'3 meters: 2 synced, 1 changed since sync', each state linked to those objects."""
        opts = model._meta
        counts = Counter(item.state for per_object in states.values() for item in per_object if item.account == account)
        total = counts.total()
        if not total:
            return f"No {opts.verbose_name_plural} in portfolio {account.portfolio}."
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        base = f"{changelist}?portfolio__id__exact={account.portfolio_id}&{SYNC_STATE_PARAMETER}="
        parts = format_html_join(
            ", ",
            '<a href="{}{}">{} {}</a>',
            ((base, state, counts[state], sync_state_badge(state)) for state in SyncState.values if counts[state]),
        )
        noun = opts.verbose_name if total == 1 else opts.verbose_name_plural
        return format_html("{} {}: {}", total, noun, parts)

    @admin.display(description="schedule")
    def schedule_info(self, obj):
        return schedule_text(
            wattcarbon_schedule_name(obj.pk),
            obj.enabled,
            owner="account",
            job="sync",
            follow_up_name=wattcarbon_follow_up_name(obj.pk),
        )

    @admin.display(description="access token")
    def token_info(self, obj):
        token, expires_at = obj.access_token, obj.access_token_expires_at
        if not token or expires_at is None:
            return "None cached: the next sync logs in with the email and API key for one."
        if token.error:
            return "One is cached but cannot be decrypted with the current key: the next sync fetches a new one."
        if expires_at <= timezone.now():
            return f"The cached one expired at {exact(expires_at)}: the next sync fetches a new one."
        return f"Cached, valid until {exact(expires_at)}."
