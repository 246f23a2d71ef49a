"""The attempt log: every HTTP call to an outside service, read-only.

An attempt's page says first, in words, what went wrong ("The storage service refused the file:
SignatureDoesNotMatch — …", read from the XML the storage answered); the answer as received stays
below, folded. Nothing in it is secret (uploads/outbound/redaction.py redacts URLs, errors and excerpts before they
are stored), so whoever may view attempts sees all of each one.
"""

from urllib.parse import urlsplit

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, Value
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from portfolio.admin.readonly import ReadOnlyAdminMixin
from portfolio.quantities import quantity
from uploads.admin.charts import AttemptChartsMixin
from uploads.admin.display import compact, error_line, exact, operation_words, outcome_badge, readable, size
from uploads.admin.integrations import run_link
from uploads.admin.wattcarbon_accounts import sync_link
from uploads.models import Attempt, AttemptOutcome, RaptorMapsIntegration, Service, WattCarbonAccount
from uploads.outbound.xmlerrors import read_xml_excerpt

__all__ = ["AttemptAdmin", "IntegrationFilter", "OperationFilter", "StatusCodeFilter"]

URL_CHARS = 44
# Who answered an XML error, by the call it answered: the PUT to a signed URL goes to the storage.
XML_ANSWERERS = {"put": "The storage service refused the file"}


def readable_error(attempt):
    """What went wrong with an attempt, in a sentence a person reads; "" when nothing did.

    An XML error answer (S3's ``<Error>``) is read for its Code and Message; otherwise the error
    the attempt recorded, which the HTTP client already wrote in words.
    """
    xml = read_xml_excerpt(attempt.response_excerpt) if attempt.outcome != AttemptOutcome.OK else None
    if xml is not None:
        who = XML_ANSWERERS.get(attempt.operation, f"{attempt.get_service_display()} refused the call")
        said = " — ".join(part for part in (xml.code, xml.message) if part)
        status = f" (HTTP {attempt.status_code})" if attempt.status_code else ""
        return f"{who}{status}: {said}"
    return attempt.error


def shortened_url(url):
    """Host and path, the middle of a long path left out: where a call went, at a glance."""
    parts = urlsplit(url)
    path = parts.path
    if len(parts.netloc) + len(path) > URL_CHARS:
        head, _, last = path.rpartition("/")
        kept = Truncator(head).chars(max(10, URL_CHARS - len(parts.netloc) - len(last) - 2))
        path = f"{kept}/{last}"
    return f"{parts.netloc}{path}" + ("?…" if parts.query else "")


class IntegrationFilter(admin.SimpleListFilter):
    """Calls made for a Raptor Maps integration or a WattCarbon account: by its runs, or about it (token, test).

    A Raptor Maps integration is chosen by its id, a WattCarbon account by ``wattcarbon-<id>``.
    """

    title = "integration or account"
    parameter_name = "integration"
    ACCOUNT_PREFIX = "wattcarbon-"

    def lookups(self, request, model_admin):
        # One query for both lists.
        integrations = RaptorMapsIntegration.objects.order_by().annotate(service=Value(Service.RAPTORMAPS))
        accounts = WattCarbonAccount.objects.order_by().annotate(service=Value(Service.WATTCARBON))
        fields = ("service", "name", "pk")
        both = integrations.values_list(*fields).union(accounts.values_list(*fields)).order_by("service", "name")
        return [
            (
                f"{self.ACCOUNT_PREFIX}{pk}" if service == Service.WATTCARBON else str(pk),
                f"{name} ({Service(service).label})",
            )
            for service, name, pk in both
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value.startswith(self.ACCOUNT_PREFIX):
            model, runs, value = WattCarbonAccount, "sync_run__account_id", value.removeprefix(self.ACCOUNT_PREFIX)
        else:
            model, runs = RaptorMapsIntegration, "run__integration_id"
        if not value.isdigit():
            return queryset.none()
        kind = ContentType.objects.get_for_model(model)
        return queryset.filter(Q(**{runs: value}) | Q(subject_type=kind, subject_id=value))


class StatusCodeFilter(admin.SimpleListFilter):
    """The answers by kind: a list of every code ever seen would read the whole table."""

    title = "status code"
    parameter_name = "status"
    KINDS = {
        "2xx": ("2xx (accepted)", Q(status_code__gte=200, status_code__lt=300)),
        "401": ("401 (token refused)", Q(status_code=401)),
        "403": ("403 (forbidden)", Q(status_code=403)),
        "429": ("429 (too many requests)", Q(status_code=429)),
        "4xx": ("4xx (any refusal)", Q(status_code__gte=400, status_code__lt=500)),
        "5xx": ("5xx (server error)", Q(status_code__gte=500, status_code__lt=600)),
        "none": ("no answer", Q(status_code__isnull=True)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.KINDS.items()]

    def queryset(self, request, queryset):
        kind = self.KINDS.get(self.value())
        return queryset.filter(kind[1]) if kind else queryset


class OperationFilter(admin.SimpleListFilter):
    """The operations in words ("signed URL", not signed_url); the URL keeps the stock filter's parameter."""

    title = "operation"
    parameter_name = "operation__exact"

    def lookups(self, request, model_admin):
        operations = Attempt.objects.order_by("operation").values_list("operation", flat=True).distinct()
        return [(operation, operation_words(operation)) for operation in operations]

    def queryset(self, request, queryset):
        return queryset.filter(operation=self.value()) if self.value() is not None else queryset


@admin.register(Attempt)
class AttemptAdmin(AttemptChartsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "started",
        "operation_display",
        "method",
        "status",
        "outcome_badge",
        "duration",
        "for_display",
        "short_url",
    ]
    list_filter = ["service", OperationFilter, "outcome", StatusCodeFilter, IntegrationFilter]
    # The columns read only the attempt's own fields (run_id, subject_label): no join is
    # needed, and the page costs the same few queries whatever its length.
    list_select_related = []
    search_fields = ["url", "error", "subject_label", "task_id"]
    date_hierarchy = "started_at"
    # The log only grows: counting all of it on every page is not worth the wait.
    show_full_result_count = False
    readonly_fields = [
        "started_precise",
        "operation_display",
        "outcome_badge",
        "duration",
        "request_size",
        "retry_in",
        "run_display",
        "subject_display",
        "readable_error_display",
        "error_display",
        "excerpt_display",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "started_precise",
                    "service",
                    "operation_display",
                    "method",
                    "url",
                    "status_code",
                    "outcome_badge",
                    "duration",
                    "retry_in",
                    "request_size",
                ]
            },
        ),
        ("For", {"fields": ["run_display", "subject_display", "task_id"]}),
        ("Answer", {"fields": ["readable_error_display", "error_display", "excerpt_display"]}),
    ]

    class Media:
        css = {"all": ["uploads/admin.css"]}

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        return compact(obj.started_at, seconds=True)

    @admin.display(description="started at")
    def started_precise(self, obj):
        return exact(obj.started_at, milliseconds=True)

    @admin.display(description="operation", ordering="operation")
    def operation_display(self, obj):
        return format_html('<span class="nowrap">{}</span>', operation_words(obj.operation))

    @admin.display(description="service", ordering="service")
    def service_display(self, obj):
        return format_html('<span class="nowrap">{}</span>', obj.get_service_display())

    @admin.display(description="status", ordering="status_code")
    def status(self, obj):
        return obj.status_code or "-"

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, obj):
        return format_html("{}{}", outcome_badge(obj.outcome, obj.get_outcome_display()), error_line(obj.error))

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, obj):
        return format_html('<span class="nowrap">{}</span>', quantity(obj.duration_ms, "ms", places=0))

    @admin.display(description="URL (redacted)", ordering="url")
    def short_url(self, obj):
        return format_html('<span title="{}">{}</span>', obj.url, shortened_url(obj.url))

    @admin.display(description="for", ordering="subject_label")
    def for_display(self, obj):
        if obj.run_id:
            label = f"{obj.subject_label} · run #{obj.run_id}" if obj.subject_label else None
            return format_html('<span class="truncated" title="{}">{}</span>', label or "", run_link(obj.run_id, label))
        if obj.sync_run_id:
            label = f"{obj.subject_label} · sync #{obj.sync_run_id}" if obj.subject_label else None
            return format_html(
                '<span class="truncated" title="{}">{}</span>', label or "", sync_link(obj.sync_run_id, label)
            )
        return format_html('<span class="truncated" title="{}">{}</span>', obj.subject_label, obj.subject_label or "-")

    @admin.display(description="retry in")
    def retry_in(self, obj):
        return quantity(obj.retry_in_seconds, "s", places=1)

    @admin.display(description="request body")
    def request_size(self, obj):
        return size(obj.request_bytes)

    @admin.display(description="run or sync")
    def run_display(self, obj):
        if obj.run_id:
            return run_link(obj.run_id, str(obj.run))
        if obj.sync_run_id:
            return sync_link(obj.sync_run_id, str(obj.sync_run))
        return "-"

    @admin.display(description="subject")
    def subject_display(self, obj):
        if not obj.subject_label:
            return "-"
        if obj.subject_type_id and obj.subject_id:
            kind = ContentType.objects.get_for_id(obj.subject_type_id)
            try:
                url = reverse(f"admin:{kind.app_label}_{kind.model}_change", args=[obj.subject_id])
            except NoReverseMatch:
                return obj.subject_label
            return format_html('<a href="{}">{}</a>', url, obj.subject_label)
        return obj.subject_label

    @admin.display(description="what went wrong")
    def readable_error_display(self, obj):
        sentence = readable_error(obj)
        if not sentence:
            return "nothing: the call was accepted" if obj.outcome == AttemptOutcome.OK else "-"
        return format_html('<div class="attempt-readable-error">{}</div>', sentence)

    @admin.display(description="error (as recorded)")
    def error_display(self, obj):
        return format_html('<pre class="uploads-pre">{}</pre>', readable(obj.error)) if obj.error else "-"

    @admin.display(description="response")
    def excerpt_display(self, obj):
        if not obj.response_excerpt:
            return "-"
        return format_html(
            '<details class="attempt-excerpt"><summary>As received (the first 500 characters, redacted)</summary>'
            '<pre class="uploads-pre raw-document">{}</pre></details>',
            obj.response_excerpt,
        )
