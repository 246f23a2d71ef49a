"""Upload runs: read-only, written by the runs themselves; and what a sync's page shares with a run's.

A run's page tells its story: what it was asked to send (the window), what it did (the log),
the files it cut (parts), every HTTP call it made (attempts) and, when it failed, why. A failed
or interrupted run can be retried: the retry is a new run (the watermarks did not move, so it
sends the same readings and whatever arrived since). Retrying starts an upload, so it needs the
permission of "Upload now" (``uploads.upload_now``, operators); viewing needs only the view
permission on upload runs.

``RunAdmin`` is the part WattCarbon syncs share (syncs.py): the list's times and trigger, the
page's story (the log, the error first, the attempts), Retry, and the live status box at the top
of the page with the JSON it polls (``<id>/status/``, for whoever may view the run: live.py).
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from portfolio.admin.readonly import ReadOnlyAdminMixin
from portfolio.models import Farm
from portfolio.quantities import count, quantity
from portfolio.roles import refuse, role_needed
from portfolio.timefmt import time_html
from uploads.admin.charts import UploadRunChartsMixin
from uploads.admin.display import (
    compact,
    error_line,
    exact,
    human_duration,
    outcome_badge,
    readable,
    run_status_badge,
    size,
    trigger_label,
    trigger_text,
    waiting_mark,
)
from uploads.admin.integrations import queue_upload
from uploads.admin.live import POLL_MILLISECONDS, status_of
from uploads.models import RunStatus, RunTrigger, UploadPart, UploadRun
from uploads.models.runs import RETRYABLE_STATUSES
from uploads.raptormaps.service import lease_name as upload_lease_name

__all__ = ["RunAdmin", "UploadRunAdmin", "attempts_url", "html_table", "retry_refusal"]

# A run's page lists its first attempts; the attempt log has them all.
ATTEMPTS_SHOWN = 100


def retry_refusal(
    run, noun="run", retryable=RETRYABLE_STATUSES, retryable_words="failed or interrupted runs", status_words="it is {}"
):
    """Why ``run`` cannot be retried, or None when it can."""
    if run.status not in retryable:
        status = status_words.format(run.get_status_display())
        return f"{noun.capitalize()} #{run.pk} was not retried: {status}, and only {retryable_words} can be retried."
    retry = run.retries.order_by("-pk").values_list("pk", flat=True).first()
    if retry is not None:
        return f"{noun.capitalize()} #{run.pk} was already retried as {noun} #{retry}; retry that one if it failed too."
    return None


def attempts_url(run):
    """The attempt log filtered to the calls of one run or sync."""
    return f"{reverse('admin:uploads_attempt_changelist')}?{run.attempt_field}__id__exact={run.pk}"


def html_table(css_class, headings, rows):
    head = format_html_join("", "<th>{}</th>", ((heading,) for heading in headings))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows)
    )
    return format_html(
        '<table class="uploads-table {}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', css_class, head, body
    )


def exact_time(field, description):
    """A read-only field showing the time ``field`` to the second."""

    @admin.display(description=description)
    def shown(model_admin, obj):
        return exact(getattr(obj, field))

    shown.__name__ = f"{field}_exact"
    return shown


class RunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Runs of one kind (upload runs, syncs): read-only pages, and Retry for those that did not finish well.

    A subclass names what differs: the word for one (``noun``), the field of what it ran for
    (``owner_field``), which statuses may be retried, who may retry, its status badge, how a
    new one is queued (``enqueue``), and what its page adds to the story (``story_fieldsets``).
    """

    noun = "run"
    owner_field = "integration"
    retryable = RETRYABLE_STATUSES
    retryable_words = "failed or interrupted runs"
    status_words = "it is {}"
    retry_permission = "uploads.upload_now"
    trigger_words = None  # display.SYNC_TRIGGER_WORDS where the words differ
    status_badge_html = staticmethod(run_status_badge)

    date_hierarchy = "queued_at"
    actions = ["retry_action"]
    change_form_template = "admin/uploads/run_change_form.html"
    # What every run's page shows; a subclass adds its own (``[*RunAdmin.readonly_fields, ...]``).
    readonly_fields = [
        "status_badge",
        "trigger_display",
        "queued_exact",
        "started_exact",
        "finished_exact",
        "retry_of_link",
        "retries_list",
        "duration",
        "log_display",
        "error_display",
        "waiting_display",
        "attempts_table",
    ]

    class Media:
        css = {"all": ["uploads/admin.css"]}

    def enqueue(self, request, owner, trigger, retry_of):
        """Queue a new run of ``owner`` and say so; the run, or None when it was refused."""
        raise NotImplementedError

    def summary(self, run):
        """What a finished run did, in a sentence for its status box ("" when there is nothing to count)."""
        return ""

    def lease_name(self, run):
        """The lease a running run of this kind renews while its worker lives."""
        raise NotImplementedError

    def status(self, run):
        return status_of(run, self.summary, attempts_url(run), self.lease_name(run))

    def link(self, pk, label=None):
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[pk])
        return format_html('<a href="{}">{}</a>', url, label or f"{self.noun} #{pk}")

    def refusal(self, run):
        return retry_refusal(run, self.noun, self.retryable, self.retryable_words, self.status_words)

    def story_fieldsets(self, obj, done, made=()):
        """A run's page: what it ran for and why, what it did (``done``), when, its log, what it made, its calls.

        The owner's link is the field ``<owner_field>_link``. A failed run's page opens with why;
        a run that left readings for later says so next.
        """
        fieldsets = [
            (
                None,
                {
                    "fields": [
                        f"{self.owner_field}_link",
                        "status_badge",
                        "trigger_display",
                        "requested_by",
                        "retry_of_link",
                        "retries_list",
                        "task_id",
                    ]
                },
            ),
            *done,
            ("Times", {"fields": ["queued_exact", "started_exact", "finished_exact", "duration"]}),
            ("Log", {"fields": ["log_display"]}),
            *made,
            ("Attempts", {"fields": ["attempts_table"]}),
        ]
        if obj is not None and obj.waiting:
            fieldsets = [("Still waiting", {"fields": ["waiting_display"], "classes": ["uploads-waiting"]}), *fieldsets]
        if obj is not None and obj.error:
            return [("Error", {"fields": ["error_display"], "classes": ["uploads-error"]}), *fieldsets]
        return fieldsets

    def _view_permission(self):
        return self.opts.app_label, self.opts.model_name, "view"

    def has_retry_permission(self, request, obj=None):
        return request.user.has_perm(self.retry_permission)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name="{}_{}_retry".format(*info),
            ),
            path(
                "<path:object_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="{}_{}_status".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, unquote(object_id))
        if run is not None:
            info = self.opts.app_label, self.opts.model_name
            extra_context = {
                **(extra_context or {}),
                "can_retry": self.has_retry_permission(request) and self.refusal(run) is None,
                "live_status": self.status(run),
                "status_url": reverse("admin:{}_{}_status".format(*info), args=[run.pk]),
                "poll_milliseconds": POLL_MILLISECONDS,
                "poll_seconds": POLL_MILLISECONDS / 1000,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def status_view(self, request, object_id):
        """The run's state and progress as JSON, for its page's status box."""
        if not self.has_view_permission(request):
            refuse(f"Seeing {self.opts.verbose_name_plural}", role_needed(*self._view_permission()))
        run = self.get_object(request, unquote(object_id))
        if run is None:
            raise Http404(f"No such {self.noun}.")
        return JsonResponse(self.status(run))

    # -- retrying -----------------------------------------------------------------------------

    @admin.action(description="Retry the selected failed or interrupted runs", permissions=["retry"])
    def retry_action(self, request, queryset):
        for run in queryset:
            self._retry(request, run)

    @method_decorator(require_POST)
    def retry_view(self, request, object_id):
        run = self.get_object(request, unquote(object_id))
        if run is None:
            raise Http404(f"No such {self.noun}.")
        if not self.has_view_permission(request, run):
            refuse(f"Seeing {self.opts.verbose_name_plural}", role_needed(*self._view_permission()))
        if not self.has_retry_permission(request):
            app_label, codename = self.retry_permission.split(".")
            owner_model = self.opts.get_field(self.owner_field).related_model._meta.model_name
            refuse(f"Retrying a {self.noun}", role_needed(app_label, owner_model, codename))
        retry = self._retry(request, run)
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", (retry or run).pk)

    def _retry(self, request, run):
        # Locked while deciding, so a double click (or two people) queue one retry, not two.
        with transaction.atomic():
            run = self.model.objects.select_for_update().select_related(self.owner_field).get(pk=run.pk)
            refusal = self.refusal(run)
            if refusal:
                messages.error(request, refusal)
                return None
            return self.enqueue(request, getattr(run, self.owner_field), RunTrigger.RETRY, retry_of=run)

    # -- columns and fields -----------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return self.status_badge_html(obj.status)

    @admin.display(description="status", ordering="status")
    def status_short(self, obj):
        return format_html(
            "{}{}{}", self.status_badge_html(obj.status, short=True), waiting_mark(obj.waiting), error_line(obj.error)
        )

    @admin.display(description="trigger", ordering="trigger")
    def trigger_display(self, obj):
        return trigger_text(obj.trigger, self.trigger_words)[1]

    @admin.display(description="trigger", ordering="trigger")
    def trigger_short(self, obj):
        return trigger_label(obj.trigger, self.trigger_words)

    @admin.display(description="by", ordering="requested_by__username")
    def requested_by_display(self, obj):
        return obj.requested_by or "-"

    @admin.display(description="queued", ordering="queued_at")
    def queued(self, obj):
        return compact(obj.queued_at)

    # On a run's page, every time to the second.
    queued_exact = exact_time("queued_at", "queued")
    started_exact = exact_time("started_at", "started")
    finished_exact = exact_time("finished_at", "finished")

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        return self._time_of_run(obj, obj.started_at)

    @admin.display(description="finished", ordering="finished_at")
    def finished(self, obj):
        return self._time_of_run(obj, obj.finished_at)

    @staticmethod
    def _time_of_run(run, moment):
        """The time alone when it is the day the run was queued (it almost always is)."""
        if moment is None or run.queued_at is None:
            return compact(moment, seconds=True)
        if timezone.localdate(moment) != timezone.localdate(run.queued_at):
            return compact(moment, seconds=True)
        return time_html(moment, precision="seconds", shown=f"{timezone.localtime(moment):%H:%M:%S}")

    @admin.display(description="duration")
    def duration(self, obj):
        if obj.started_at is None:
            return "-"
        seconds = ((obj.finished_at or timezone.now()) - obj.started_at).total_seconds()
        if obj.finished_at is None and not obj.is_finished:
            return format_html('<span class="nowrap">{} so far</span>', human_duration(seconds))
        return format_html('<span class="nowrap">{}</span>', human_duration(seconds))

    @admin.display(description="retry of")
    def retry_of_link(self, obj):
        return self.link(obj.retry_of_id) if obj.retry_of_id else "-"

    @admin.display(description="retried as")
    def retries_list(self, obj):
        retries = list(obj.retries.order_by("pk").values_list("pk", flat=True))
        if not retries:
            return "-"
        return format_html_join(", ", "{}", ((self.link(pk),) for pk in retries))

    @admin.display(description="log")
    def log_display(self, obj):
        if not obj.log:
            return "-"
        return format_html('<pre class="uploads-pre">{}</pre>', readable(obj.log))

    @admin.display(description="error")
    def error_display(self, obj):
        return format_html('<pre class="uploads-pre uploads-error-text">{}</pre>', readable(obj.error))

    @admin.display(description="still waiting")
    def waiting_display(self, obj):
        return format_html('<pre class="uploads-pre uploads-waiting-text">{}</pre>', readable(obj.waiting))

    @admin.display(description="attempts")
    def attempts_table(self, obj):
        attempts = list(obj.attempts.order_by("started_at", "id")[: ATTEMPTS_SHOWN + 1])
        if not attempts:
            return "No HTTP calls."
        if len(attempts) > ATTEMPTS_SHOWN:
            attempts = attempts[:ATTEMPTS_SHOWN]
            more = format_html(
                '<p>The first {} attempts. <a href="{}">All of them</a>.</p>', ATTEMPTS_SHOWN, attempts_url(obj)
            )
        else:
            more = format_html('<p><a href="{}">These attempts in the attempt log</a>.</p>', attempts_url(obj))
        rows = [
            (
                format_html(
                    '<a href="{}">{}</a>',
                    reverse("admin:uploads_attempt_change", args=[attempt.pk]),
                    exact(attempt.started_at),
                ),
                attempt.operation_label,
                attempt.method,
                attempt.status_code or "-",
                outcome_badge(attempt.outcome, attempt.get_outcome_display()),
                quantity(attempt.duration_ms, "ms", places=0),
                readable(attempt.error),
            )
            for attempt in attempts
        ]
        table = html_table(
            "run-attempts", ["time", "operation", "method", "status", "outcome", "duration", "error"], rows
        )
        return format_html("{}{}", table, more)


@admin.register(UploadRun)
class UploadRunAdmin(UploadRunChartsMixin, RunAdmin):
    list_display = [
        "run",
        "integration",
        "status_short",
        "trigger_short",
        "requested_by_display",
        "rows_display",
        "bytes_display",
        "duration",
        "queued",
        "finished",
    ]
    list_display_links = ["run"]
    list_filter = ["integration", "status", "trigger"]
    list_select_related = ["integration", "requested_by"]
    search_fields = ["error", "task_id"]
    readonly_fields = [
        *RunAdmin.readonly_fields,
        "integration_link",
        "window_end_exact",
        "bytes_display",
        "window_table",
        "parts_table",
    ]

    def get_fieldsets(self, request, obj=None):
        done = [
            ("Sent", {"fields": ["readings", "rows", "skipped_nonfinite", "parts", "bytes_display"]}),
            ("Window", {"fields": ["window_end_exact", "window_table"]}),
        ]
        return self.story_fieldsets(obj, done, made=[("Parts", {"fields": ["parts_table"]})])

    def enqueue(self, request, owner, trigger, retry_of):
        return queue_upload(request, owner, trigger, retry_of=retry_of)

    def lease_name(self, run):
        return upload_lease_name(run.integration)

    def summary(self, run):
        if not run.parts:
            return ""
        sent = run.file_parts.filter(status=UploadPart.Status.UPLOADED).count()
        built = f"{count(run.parts, 'parts')} ({run.rows:,} rows, {size(run.bytes)})"
        if run.status == RunStatus.DRY_RUN:
            return f"{built} written, nothing sent."
        return f"{sent:,} of {built} sent."

    @admin.display(description="run", ordering="pk")
    def run(self, obj):
        return f"#{obj.pk}"

    @admin.display(description="rows", ordering="rows")
    def rows_display(self, obj):
        return count(obj.rows)

    @admin.display(description="window end", ordering="window_end")
    def window_end_display(self, obj):
        return compact(obj.window_end)

    window_end_exact = exact_time("window_end", "ingested up to")

    @admin.display(description="bytes", ordering="bytes")
    def bytes_display(self, obj):
        return size(obj.bytes)

    @admin.display(description="integration")
    def integration_link(self, obj):
        url = reverse("admin:uploads_raptormapsintegration_change", args=[obj.integration_id])
        return format_html('<a href="{}">{}</a>', url, obj.integration)

    @admin.display(description="farms (ingested after)")
    def window_table(self, obj):
        window = obj.window or {}
        if not window:
            return "-"
        names = dict(Farm.objects.filter(farm_id__in=list(window)).values_list("farm_id", "name"))
        rows = []
        for farm_id, after in sorted(window.items()):
            farm = f"{farm_id} · {names[farm_id]}" if farm_id in names else farm_id
            rows.append((farm, ingested_after(after)))
        return html_table("run-window", ["farm", "readings ingested after"], rows)

    @admin.display(description="parts")
    def parts_table(self, obj):
        parts = list(obj.file_parts.all())
        if not parts:
            return "No file parts."
        rows = [
            (
                part.number,
                count(part.rows),
                size(part.bytes),
                format_html('<code title="{}">{}…</code>', part.sha256, part.sha256[:16]),
                part.get_status_display(),
                exact(part.uploaded_at),
            )
            for part in parts
        ]
        return html_table("run-parts", ["part", "rows", "bytes", "SHA-256", "status", "uploaded at"], rows)


def ingested_after(text):
    """A window's 'after' (ISO text, or null for all history), for people."""
    if not text:
        return "all history"
    moment = parse_datetime(text)
    return exact(moment) if moment else text
