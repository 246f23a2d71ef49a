"""Where each meter and asset stands with WattCarbon, on the Meter and Asset pages of the admin.

portfolio/ knows nothing of uploads/ (the architecture's one direction), so the sync state is
added from here: the portfolio app's MeterAdmin and AssetAdmin are subclassed and registered in
their place (this app comes after portfolio in INSTALLED_APPS, and imports their modules
first). Each gains a "WattCarbon" column, a "WattCarbon sync" filter, a "Sync now" action and,
on an object's page, a read-only WattCarbon section; meters also "Create again on WattCarbon",
for those missing there (uploads/wattcarbon/missing.py). The states come from
uploads/wattcarbon/state.py, computed for a whole page at once: a handful of queries per page,
none at all when no account covers the page's portfolios.
"""

import json

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, prefetch_related_objects
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from portfolio.admin.assets import AssetAdmin
from portfolio.admin.meters import MeterAdmin
from portfolio.models import Asset, Meter
from uploads.admin.charts import MeterChartsMixin
from uploads.admin.display import exact, readable, sync_state_badge, when
from uploads.admin.outbound import follow_run
from uploads.admin.wattcarbon_accounts import SYNC_STATE_PARAMETER, queue_sync
from uploads.models import RunTrigger, SyncState, WattCarbonAccount, WattCarbonMeterLink
from uploads.wattcarbon.missing import create_again
from uploads.wattcarbon.payloads import NO_EVENTS
from uploads.wattcarbon.state import asset_states, meter_states

__all__ = ["AssetWithSyncStateAdmin", "MeterWithSyncStateAdmin", "SyncStateFilter"]

# "Sync now" from the Meter and Asset lists: the permission of the accounts' own Sync now (operators).
SYNC_PERMISSION = "uploads.sync_now"
# The "Sync now" warning names this many objects that no account covers, then counts the rest.
NAMES_SHOWN = 10


def covering_accounts():
    return WattCarbonAccount.objects.filter(portfolio_id=OuterRef("portfolio_id"))


class SyncStateFilter(admin.SimpleListFilter):
    """Objects by their state with WattCarbon: one matches when any of its accounts sees it in that state."""

    title = "WattCarbon sync"
    parameter_name = SYNC_STATE_PARAMETER
    NO_ACCOUNT = "no_account"

    def __init__(self, request, params, model, model_admin):
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [*SyncState.choices, (self.NO_ACCOUNT, "no account covers it")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        covered = WattCarbonAccount.objects.values("portfolio_id")
        if value == self.NO_ACCOUNT:
            return queryset.exclude(portfolio_id__in=covered)
        if value not in SyncState.values:
            return queryset.none()
        # The objects the other filters left, loaded plainly (without the list's computed columns).
        candidates = self.model_admin.model.objects.filter(
            pk__in=queryset.order_by().values("pk"), portfolio_id__in=covered
        )
        states = self.model_admin.wattcarbon_states(candidates)
        matching = [pk for pk, items in states.items() if any(item.state == value for item in items)]
        return queryset.filter(pk__in=matching)


class SyncStateAdminMixin:
    """The WattCarbon column, filter, action and section; a subclass says how its objects' states are computed."""

    # On an object's page: the words for its remote id, and for "this meter".
    remote_id_label = "WattCarbon ID"

    class Media:
        css = {"all": ["uploads/admin.css"]}

    def wattcarbon_states(self, objects):
        """pk → [ObjectState] for ``objects`` (uploads/wattcarbon/state.py)."""
        raise NotImplementedError

    def wattcarbon_facts(self, link):
        """(label, value) rows of what a link records besides the shared ones."""
        return []

    # -- the list ------------------------------------------------------------------------------

    def get_queryset(self, request):
        # Whether any account covers each row's portfolio: a page none of whose rows is covered
        # costs no query for the column.
        return super().get_queryset(request).annotate(wattcarbon_covered=Exists(covering_accounts()))

    def get_list_display(self, request):
        # Next to the name: at the end of a wide list it would sit beyond the horizontal scroll.
        columns = list(super().get_list_display(request))
        at = columns.index("name") + 1 if "name" in columns else len(columns)
        return [*columns[:at], "wattcarbon_column", *columns[at:]]

    def get_list_filter(self, request):
        return [*super().get_list_filter(request), SyncStateFilter]

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)  # the page, evaluated once; the template reads the same objects
        covered = [obj for obj in rows if getattr(obj, "wattcarbon_covered", True)]
        states = self.wattcarbon_states(covered) if covered else {}
        for obj in rows:
            obj.wattcarbon_states = states.get(obj.pk, [])
        return changelist

    @admin.display(description="WattCarbon")
    def wattcarbon_column(self, obj):
        states = getattr(obj, "wattcarbon_states", None)
        if states is None:
            states = self.wattcarbon_states([obj]).get(obj.pk, [])
        if not states:
            return format_html('<span class="quiet" title="{}">{}</span>', "No account covers its portfolio.", "-")
        if len(states) == 1:
            return sync_state_badge(states[0].state, states[0].detail)
        return format_html_join(
            "",
            '<div class="wattcarbon-state"><span class="nowrap">{}:</span> {}</div>',
            ((item.account.name, sync_state_badge(item.state, item.detail)) for item in states),
        )

    # -- Sync now --------------------------------------------------------------------------------

    def has_wattcarbon_sync_permission(self, request):
        return request.user.has_perm(SYNC_PERMISSION)

    @admin.action(
        description="Sync now to WattCarbon (every account of their portfolios)", permissions=["wattcarbon_sync"]
    )
    def wattcarbon_sync_now(self, request, queryset):
        portfolios = set(queryset.order_by().values_list("portfolio_id", flat=True).distinct())
        accounts = list(WattCarbonAccount.objects.filter(portfolio_id__in=portfolios).order_by("name"))
        queued = [queue_sync(request, account, RunTrigger.ADMIN) for account in accounts]
        queued = [run for run in queued if run is not None]
        uncovered = queryset.exclude(portfolio_id__in={account.portfolio_id for account in accounts})
        names = [str(obj) for obj in uncovered[: NAMES_SHOWN + 1]]
        if names:
            shown = ", ".join(names[:NAMES_SHOWN])
            if len(names) > NAMES_SHOWN:
                shown += f" and {uncovered.count() - NAMES_SHOWN} more"
            self.message_user(
                request,
                f"No WattCarbon account covers the portfolio of {shown}: nothing was queued for them.",
                level="warning",
            )
        if len(queued) == 1 and not names:
            return follow_run(request, queued[0])  # one sync: its page follows it
        return None

    # -- an object's page ----------------------------------------------------------------------

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "wattcarbon_sync"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append(("WattCarbon", {"fields": ["wattcarbon_sync"], "classes": ["wattcarbon-section"]}))
        return fieldsets

    @admin.display(description="sync state")
    def wattcarbon_sync(self, obj):
        states = self.wattcarbon_states([self.model.objects.get(pk=obj.pk)]).get(obj.pk, [])
        kind = ContentType.objects.get_for_model(self.model)
        attempts = f"{reverse('admin:uploads_attempt_changelist')}?subject_type={kind.pk}&subject_id={obj.pk}"
        noun = self.model._meta.verbose_name
        calls = format_html('<p><a href="{}">This {}\'s calls to WattCarbon in the attempt log</a></p>', attempts, noun)
        if not states:
            return format_html("<p>No WattCarbon account covers portfolio {}.</p>{}", obj.portfolio, calls)
        blocks = format_html_join("", "{}", ((self._account_block(item),) for item in states))
        return format_html("{}{}", blocks, calls)

    def _account_block(self, item):
        link = item.link
        account_url = reverse("admin:uploads_wattcarbonaccount_change", args=[item.account.pk])
        state = sync_state_badge(item.state, item.detail)
        if item.detail and item.state not in (SyncState.ERROR, SyncState.MISSING):  # the error has its own row
            state = format_html('{} <span class="quiet">{}</span>', state, readable(item.detail))
        facts = [("state", state), (self.remote_id_label, item.remote_id or "-")]
        if link is None:
            facts.append(("last synced", "never"))
        else:
            facts.append(("last synced", self._moment(link.synced_at)))
            if link.missing_at is not None:
                facts.append(("missing on WattCarbon since", self._moment(link.missing_at)))
            if link.error:
                facts.append(("last error", format_html('<pre class="uploads-pre">{}</pre>', readable(link.error))))
                facts.append(("last error at", self._moment(link.error_at)))
            facts.extend(self.wattcarbon_facts(link))
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", facts)
        return format_html(
            '<div class="wattcarbon-account"><h3><a href="{}">{}</a></h3>'
            '<table class="uploads-table wattcarbon-facts"><tbody>{}</tbody></table></div>',
            account_url,
            item.account.name,
            rows,
        )

    @staticmethod
    def _moment(moment):
        if moment is None:
            return "never"
        return format_html("{} ({})", exact(moment), when(moment))


def watermark_text(through_at, through_id, noun):
    if through_at is None:
        return f"none sent yet: the next sync sends every {noun} reading"
    return format_html("sent up to ingestion time {} (reading #{})", exact(through_at), through_id)


admin.site.unregister(Meter)


@admin.register(Meter)
class MeterWithSyncStateAdmin(MeterChartsMixin, SyncStateAdminMixin, MeterAdmin):
    remote_id_label = "WattCarbon meter ID"
    actions = [*(MeterAdmin.actions or ()), "wattcarbon_sync_now", "wattcarbon_create_again"]

    @admin.action(
        description="Create again on WattCarbon (meters missing there; all their readings are sent again)",
        permissions=["wattcarbon_sync"],
    )
    def wattcarbon_create_again(self, request, queryset):
        """Meters whose WattCarbon id answered 404: forget it, and queue a sync that creates them again."""
        links = list(WattCarbonMeterLink.objects.filter(meter__in=queryset).select_related("account", "meter"))
        changed = create_again(links)
        if not changed:
            self.message_user(
                request,
                "None of these meters is missing on WattCarbon: nothing to create again (Sync now sends what changed).",
                level="warning",
            )
            return
        names = ", ".join(sorted({f"{link.meter.name} on {link.account}" for link in changed}))
        self.message_user(
            request,
            f"Meters to create again on WattCarbon, with all their readings: {names}. The syncs queued now do it.",
        )
        accounts = sorted({link.account for link in changed}, key=lambda account: account.name)
        for account in accounts:
            queue_sync(request, account, RunTrigger.ADMIN)

    def wattcarbon_states(self, objects):
        return meter_states(objects)

    def wattcarbon_facts(self, link):
        return [
            ("intervals", watermark_text(link.intervals_through_at, link.intervals_through_id, "interval")),
            ("bills", watermark_text(link.bills_through_at, link.bills_through_id, "bill")),
        ]


admin.site.unregister(Asset)


@admin.register(Asset)
class AssetWithSyncStateAdmin(SyncStateAdminMixin, AssetAdmin):
    remote_id_label = "WattCarbon asset ID"
    actions = [*(AssetAdmin.actions or ()), "wattcarbon_sync_now"]

    def wattcarbon_states(self, objects):
        objects = list(objects)
        prefetch_related_objects(objects, "meters", "events")  # what the payloads read
        return asset_states(objects)

    def wattcarbon_facts(self, link):
        if link.payload is None:
            payload = "none yet"
        else:
            payload = format_html(
                '<pre class="uploads-pre raw-document">{}</pre>', json.dumps(link.payload, indent=2, sort_keys=True)
            )
        if link.events_fingerprint == NO_EVENTS:
            events = format_html(
                "no events since {}: none are sent (WattCarbon refuses an empty events document), and "
                "WattCarbon keeps the events last sent until new ones are added here",
                self._moment(link.events_synced_at),
            )
        elif link.events_synced_at:
            events = self._moment(link.events_synced_at)
        else:
            events = "never uploaded"
        return [("last payload accepted", payload), ("events document", events)]
