"""Raptor Maps integrations: where readings go, with which credentials, how often, and how it went.

Operations staff read the list to see what each integration covers and how its last run ended,
and use "Test connection" (which org integrations the credentials see) and "Upload now" (queue a
run) from the list or from an integration's page. Test connection needs the change permission
(it also records the interval Raptor Maps asks for); Upload now needs ``uploads.upload_now``
(operators, portfolio/roles.py). Secrets are write-only (forms.py) and the list never decrypts one.

The parts WattCarbon accounts share (the list without secrets, an unreadable credential
refused, the last run, the schedule) are here too, written for either; the buttons, actions and
views of "Test connection" and "Upload now" are outbound.py's.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_post_parameters
from django_q.models import Schedule

from portfolio.admin.annotations import count_of
from uploads.admin.display import (
    exact,
    human_interval,
    readable,
    run_status_badge,
    size,
    trigger_label,
    waiting_mark,
    when,
)
from uploads.admin.forms import SECRET_FIELDS, RaptorMapsIntegrationForm, secret_status
from uploads.admin.outbound import OutboundConnectionAdminMixin, run_now_action
from uploads.models import RaptorMapsIntegration, RunTrigger, UploadRun, UploadWatermark
from uploads.raptormaps.connection import test_connection
from uploads.raptormaps.service import enqueue_upload
from uploads.runs.schedules import raptormaps_follow_up_name, raptormaps_schedule_name

__all__ = [
    "RaptorMapsIntegrationAdmin",
    "WithoutSecretsChangeList",
    "WriteOnlySecretsAdminMixin",
    "last_run",
    "last_run_cell",
    "queue_upload",
    "refuse_unreadable_secret",
    "run_link",
    "schedule_text",
    "unreadable_credential",
]

RECENT_RUNS = 5


def run_link(run_id, label=None):
    url = reverse("admin:uploads_uploadrun_change", args=[run_id])
    return format_html('<a href="{}">{}</a>', url, label or f"run #{run_id}")


def runs_url(integration_id):
    return f"{reverse('admin:uploads_uploadrun_changelist')}?integration__id__exact={integration_id}"


def unreadable_credential(integration):
    """The label of the credential a call would need but the current keys cannot decrypt, if any."""
    name = "client_secret" if integration.uses_client_credentials else "api_token"
    return SECRET_FIELDS[name] if getattr(integration, name).error else None


def refuse_unreadable_secret(request, owner, label):
    """Say that ``owner``'s stored ``label`` cannot be decrypted (the call would fail); True, to refuse."""
    messages.error(request, f"{owner}: the stored {label} cannot be decrypted with the current key; enter it again.")
    return True


def refuse_unreadable_credential(request, integration):
    """Say so and return True when the integration's credential cannot be decrypted (the call would fail)."""
    missing = unreadable_credential(integration)
    return refuse_unreadable_secret(request, integration, missing) if missing else False


def queue_upload(request, integration, trigger, retry_of=None):
    """Queue a run through the service and tell the user where to follow it; the run, or None."""
    if refuse_unreadable_credential(request, integration):
        return None
    run = enqueue_upload(integration, trigger, user=request.user, retry_of=retry_of)
    messages.success(
        request,
        format_html("{}: {} is queued; its page shows how it goes.", integration, run_link(run.pk)),
    )
    return run


def report_connection(request, integration):
    """Test one integration's connection and tell the user what Raptor Maps answered."""
    if refuse_unreadable_credential(request, integration):
        return
    level, message = connection_message(integration, test_connection(integration))
    messages.add_message(request, level, message)


def connection_message(integration, report):
    """(message level, message) for a connection report: the org's integrations, this one marked.

    Only the listed fields are shown: an org integration's settings may hold third-party details.
    """
    if not report.ok:
        return messages.ERROR, f"{integration}: the connection test failed. {readable(report.error)}"
    if not report.integrations:
        return messages.WARNING, (
            f"{integration}: the connection works, but the org has no integrations, "
            f"so org integration {integration.integration_id} does not exist."
        )
    match = report.matching(integration.integration_id)
    items = format_html_join(
        "", "<li>{}</li>", ((describe_org_integration(item, match),) for item in report.integrations)
    )
    if match is None:
        level = messages.WARNING
        verdict = format_html(
            "None of them has ID {}: change this integration's org integration ID to one of these.",
            integration.integration_id,
        )
    else:
        level = messages.SUCCESS
        verdict = format_html("Org integration {} is the one this integration uploads to.", integration.integration_id)
    return level, format_html(
        '{}: the connection works. The org\'s integrations:<ul class="org-integrations">{}</ul>{}',
        integration,
        items,
        verdict,
    )


def describe_org_integration(item, match):
    seconds = item.get("query_interval_secs")
    interval = f"every {human_interval(seconds)}" if isinstance(seconds, int) and seconds > 0 else "no query interval"
    enabled = {True: "enabled", False: "disabled"}.get(item.get("enabled"), "enabled unknown")
    text = format_html(
        "ID {} · {} · {} · {}", item.get("id"), item.get("api_type") or "type unknown", enabled, interval
    )
    if item is match:
        return format_html('<strong class="org-integration-match">{} ← this integration</strong>', text)
    return text


class WithoutSecretsChangeList(ChangeList):
    """The list shows no credential, so it never loads (and decrypts) one: the form's secrets and the token."""

    def get_queryset(self, request, exclude_parameters=None):
        secrets = self.model_admin.form.secrets
        return super().get_queryset(request, exclude_parameters).defer(*secrets, "access_token")


class TimeBasisFilter(admin.ChoicesFieldListFilter):
    """The time basis choices under a short title (the field's name is long)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "time basis"


class WriteOnlySecretsAdminMixin:
    """For a model whose form is a WriteOnlySecretsForm: URLs typed without https, a list without secrets."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The secrets are model fields the form declares itself; named to the model form
        # factory, a non-editable field is an error.
        fields = kwargs.get("fields")
        if fields is None:
            fields = flatten_fieldsets(self.get_fieldsets(request, obj))
        kwargs["fields"] = [name for name in fields if name not in self.form.secrets]
        return super().get_form(request, obj, change, **kwargs)

    def get_changelist(self, request, **kwargs):
        return WithoutSecretsChangeList

    # The add and change pages take the secrets: an error report (the debug page, a logged
    # request) shows every posted value as stars, a key pasted into the wrong box included.
    @method_decorator(sensitive_post_parameters())
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)


def last_run(runs, owner_field, field):
    """A field of the newest of ``runs`` (a run model) whose ``owner_field`` is the outer row; "at": its latest time."""
    newest = runs.objects.filter(**{owner_field: OuterRef("pk")}).order_by("-queued_at", "-pk")
    if field == "at":
        newest = newest.annotate(at=Coalesce("finished_at", "started_at", "queued_at"))
    return Subquery(newest.values(field)[:1])


def last_run_cell(link, badge, run_id, status, at, waiting=""):
    """A list's "last run" cell from ``last_run``'s annotations: the status, linked to the run, and when.

    A run that left readings for later is marked so: "uploaded" alone would say it sent everything.
    """
    if run_id is None:
        return format_html('<span class="quiet">{}</span>', "never")
    return format_html("{}{} {}", link(run_id, badge(status, short=True)), waiting_mark(waiting), when(at))


def schedule_text(name, enabled, owner="integration", job="run", follow_up_name=None):
    """What the django-q2 schedule ``name`` of an integration or account will do next, in words.

    A follow-up that a run left (uploads/runs/waiting.py) is named after it.
    """
    text = _regular_schedule_text(name, enabled, owner, job)
    follow_up = Schedule.objects.filter(name=follow_up_name).first() if follow_up_name else None
    if follow_up is None or follow_up.next_run is None:
        return text
    return format_html(
        "{} A follow-up {} {} ({}), for the readings the last one left waiting.",
        text,
        job,
        when(follow_up.next_run),
        exact(follow_up.next_run),
    )


def _regular_schedule_text(name, enabled, owner, job):
    schedule = Schedule.objects.filter(name=name).first()
    if schedule is None:
        return f"No schedule: the {owner} is disabled." if not enabled else "No schedule yet."
    if schedule.next_run is None:
        return "Scheduled, with no next run set."
    if schedule.next_run <= timezone.now():
        return format_html(
            "Due since {} ({}): a worker starts it when it next looks. If this stays, check that "
            "the background workers (manage.py qcluster) are running.",
            exact(schedule.next_run),
            when(schedule.next_run),
        )
    return format_html("Next {} {} ({}).", job, when(schedule.next_run), exact(schedule.next_run))


@admin.register(RaptorMapsIntegration)
class RaptorMapsIntegrationAdmin(OutboundConnectionAdminMixin, WriteOnlySecretsAdminMixin, admin.ModelAdmin):
    noun = "integration"
    run_now_name = "upload_now"
    run_now_label = "Upload now"
    upload_now_action = run_now_action(run_now_label)

    form = RaptorMapsIntegrationForm
    list_display = [
        "name",
        "enabled",
        "coverage",
        "org_integration",
        "credentials_kind",
        "time_basis_display",
        "interval",
        "last_run",
        "runs",
    ]
    list_filter = ["enabled", "portfolio", ("time_basis", TimeBasisFilter)]
    list_select_related = ["portfolio"]
    search_fields = ["name"]
    autocomplete_fields = ["portfolio", "farms"]
    actions = ["test_connection_action", "upload_now_action"]
    readonly_fields = [
        "time_basis_display",
        "interval",
        "recent_runs",
        "watermarks_table",
        "interval_info",
        "schedule_info",
        "token_info",
        "credentials_kind",
        "org",
        "org_integration",
        "api_token_status",
        "client_secret_status",
        "connection_test_info",
    ]

    class Media:
        css = {"all": ["uploads/admin.css"]}

    def get_fieldsets(self, request, obj=None):
        may_change = obj is None or self.has_change_permission(request, obj)
        if may_change:
            # Each secret's box draws its own "remove" checkbox (forms.SecretInput).
            credentials = ["api_token", "client_id", "client_secret"]
        else:
            credentials = ["credentials_kind", "api_token_status", "client_id", "client_secret_status"]
        # IDs read as typed, without the thousands separator a read-only number gets.
        connection = ["base_url", "org_id", "integration_id"] if may_change else ["base_url", "org", "org_integration"]
        connection.append("user_agent")
        # A viewer reads the settings in words (the model's labels name the API's fields).
        schedule = ["time_basis", "part_bytes", "upload_interval_seconds", "enabled"]
        if not may_change:
            schedule = ["time_basis_display", "part_bytes", "interval", "enabled"]
        fieldsets = [
            (None, {"fields": ["name"]}),
            (
                "Coverage",
                {
                    "fields": ["portfolio", "farms"],
                    "description": "A whole portfolio (farms added later included), or chosen farms.",
                },
            ),
            ("Connection", {"fields": connection}),
            (
                "Credentials",
                {
                    "fields": credentials,
                    "description": "An API token, or a client ID and secret (a token is then fetched and cached).",
                },
            ),
            ("Files and schedule", {"fields": schedule}),
        ]
        if obj is not None:
            fieldsets.append(
                (
                    "Status",
                    {
                        "fields": [
                            "connection_test_info",
                            "recent_runs",
                            "watermarks_table",
                            "interval_info",
                            "schedule_info",
                            "token_info",
                        ]
                    },
                )
            )
        return fieldsets

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                farm_count=count_of(RaptorMapsIntegration.farms.through.objects.all(), "raptormapsintegration"),
                last_run_id=last_run(UploadRun, "integration", "pk"),
                last_run_status=last_run(UploadRun, "integration", "status"),
                last_run_at=last_run(UploadRun, "integration", "at"),
                last_run_waiting=last_run(UploadRun, "integration", "waiting"),
            )
        )

    # -- Test connection and Upload now, from the list and from an integration's page (outbound.py)

    def check_connection(self, request, integration):
        report_connection(request, integration)

    def run_now(self, request, integration):
        return queue_upload(request, integration, RunTrigger.ADMIN)

    # -- list columns ----------------------------------------------------------------------

    @admin.display(description="coverage", ordering="portfolio__name")
    def coverage(self, obj):
        if obj.portfolio_id:
            return f"portfolio {obj.portfolio}"
        count = getattr(obj, "farm_count", None)
        if count is None:
            count = obj.farms.count()
        return f"{count} chosen farm{'s' if count != 1 else ''}"

    @admin.display(description="org integration", ordering="integration_id")
    def org_integration(self, obj):
        return str(obj.integration_id)  # an ID, not a quantity: no thousands separator

    @admin.display(description="org ID")
    def org(self, obj):
        return str(obj.org_id) if obj.org_id is not None else "-"

    @admin.display(description="time basis", ordering="time_basis")
    def time_basis_display(self, obj):
        return obj.get_time_basis_display()

    @admin.display(description="credentials")
    def credentials_kind(self, obj):
        return "client credentials" if obj.uses_client_credentials else "API token"

    @admin.display(description="interval")
    def interval(self, obj):
        if obj.upload_interval_seconds:
            source = "set here"
        elif obj.remote_interval_seconds:
            source = "from Raptor Maps"
        else:
            source = "default"
        return format_html('{} <span class="quiet">({})</span>', human_interval(obj.interval_seconds), source)

    @admin.display(description="last run", ordering="last_run_at")
    def last_run(self, obj):
        return last_run_cell(
            run_link, run_status_badge, obj.last_run_id, obj.last_run_status, obj.last_run_at, obj.last_run_waiting
        )

    @admin.display(description="runs")
    def runs(self, obj):
        return format_html('<a href="{}">runs</a>', runs_url(obj.pk))

    # -- the status panel of an integration's page ------------------------------------------

    @admin.display(description="API token")
    def api_token_status(self, obj):
        return secret_status(obj.api_token)[1]

    @admin.display(description="client secret")
    def client_secret_status(self, obj):
        return secret_status(obj.client_secret)[1]

    @admin.display(description="recent runs")
    def recent_runs(self, obj):
        runs = list(obj.runs.all()[:RECENT_RUNS])
        if not runs:
            return "No run yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    run_link(run.pk),
                    format_html("{}{}", run_status_badge(run.status, short=True), waiting_mark(run.waiting)),
                    trigger_label(run.trigger),
                    when(run.finished_at or run.started_at or run.queued_at),
                    f"{run.rows:,}",
                    size(run.bytes),
                )
                for run in runs
            ),
        )
        return format_html(
            '<table class="uploads-table"><thead><tr><th>run</th><th>status</th><th>trigger</th><th>when</th>'
            "<th>rows</th><th>bytes</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}">All runs of this integration</a></p>',
            rows,
            runs_url(obj.pk),
        )

    @admin.display(description="watermarks")
    def watermarks_table(self, obj):
        marks = list(UploadWatermark.objects.filter(integration=obj).select_related("farm").order_by("farm__farm_id"))
        if not marks:
            return "None yet: the first run sends every farm's whole history."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    mark.farm,
                    exact(mark.ingested_through),
                    run_link(mark.run_id) if mark.run_id else "-",
                )
                for mark in marks
            ),
        )
        return format_html(
            '<table class="uploads-table"><thead><tr><th>farm</th><th>ingested through</th><th>moved by</th></tr>'
            "</thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="interval")
    def interval_info(self, obj):
        learned = (
            f"Raptor Maps asks for every {human_interval(obj.remote_interval_seconds)}"
            if obj.remote_interval_seconds
            else "Not learned from Raptor Maps yet (Test connection, or the first run, asks)"
        )
        return f"Uploads every {human_interval(obj.interval_seconds)}. {learned}."

    @admin.display(description="schedule")
    def schedule_info(self, obj):
        return schedule_text(
            raptormaps_schedule_name(obj.pk), obj.enabled, follow_up_name=raptormaps_follow_up_name(obj.pk)
        )

    @admin.display(description="access token")
    def token_info(self, obj):
        if not obj.uses_client_credentials:
            return "Not used: the API token is sent as is."
        if not obj.access_token or obj.access_token_expires_at is None:
            return "None cached: the next call fetches one."
        return f"Cached, valid until {exact(obj.access_token_expires_at)}."
