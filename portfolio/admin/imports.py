"""The import log: read-only, written by the imports themselves.

A readings import's page follows its worker: while it is queued or running, a small script
polls the record's progress (``<id>/progress/``, JSON) and reloads the page when the import
is done; the errors file of a skip-invalid import downloads through ``<id>/errors-file/``
(media files are never served directly), to whoever ran the import and to administrators only:
rejected rows may hold data of portfolios the reader does not work on.
"""

from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from portfolio.admin.local_time import time_column
from portfolio.admin.readings_import import TIME_BASIS_CHOICES, can_import_readings
from portfolio.admin.readonly import ReadOnlyAdminMixin
from portfolio.ingest.reaper import live_imports
from portfolio.models import ImportRecord, SpreadsheetPreview
from portfolio.roles import ADMINISTRATOR, is_administrator, refuse, role_needed

STATUS_COLOURS = {
    ImportRecord.Status.QUEUED: "#6b7280",
    ImportRecord.Status.RUNNING: "#1d4ed8",
    ImportRecord.Status.IMPORTED: "#15803d",
    ImportRecord.Status.REFUSED: "#b45309",
    ImportRecord.Status.FAILED: "#b91c1c",
}

# A record queued longer than this probably has no worker to run it.
WORKER_WAIT_SECONDS = 30
# Share of the file read before the page estimates the time left.
ETA_AFTER = 0.02


def human_duration(seconds):
    """'45 s', '3 min 20 s', '2 h 5 min'."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def elapsed_seconds(record, now=None):
    if record.started_at is None:
        return None
    return ((record.finished_at or now or timezone.now()) - record.started_at).total_seconds()


def progress_of(record, now=None):
    """Where a record's import is, for its page and its JSON endpoint."""
    now = now or timezone.now()
    elapsed = elapsed_seconds(record, now)
    fraction = record.progress_fraction
    rate = record.rows_read / elapsed if elapsed and record.rows_read else None
    seconds_left = None
    # Too early, a guess from the first rows only misleads.
    if record.status == ImportRecord.Status.RUNNING and fraction and ETA_AFTER <= fraction < 1 and elapsed:
        seconds_left = elapsed * (1 - fraction) / fraction
    return {
        "status": record.status,
        "status_label": record.get_status_display(),
        "finished": record.is_finished,
        "phase": phase_of(record, now),
        "file_size": record.file_size,
        "bytes_read": record.bytes_read,
        "rows_read": record.rows_read,
        "percent": round(100 * fraction, 1) if fraction is not None else None,
        "rows_per_second": round(rate) if rate is not None else None,
        "elapsed": human_duration(elapsed) if elapsed is not None else None,
        "time_left": human_duration(seconds_left) if seconds_left is not None else None,
        "message": record.message,
    }


def phase_of(record, now):
    """What the import is doing, in words."""
    if record.is_finished:
        return record.message or record.get_status_display()
    if record.status == ImportRecord.Status.QUEUED:
        if (now - record.created_at).total_seconds() > WORKER_WAIT_SECONDS:
            return "Still waiting for a worker. Is the background worker running (manage.py qcluster)?"
        return "Waiting for a worker to start it."
    if not live_imports(now).filter(pk=record.pk).exists():
        return (
            f"No sign of life from the worker for more than {settings.IMPORT_STALE_AFTER_SECONDS:g} s: "
            "it has stopped, and the import will be marked failed (nothing imported)."
        )
    limit = settings.Q_CLUSTER.get("timeout")
    if limit and record.started_at and (now - record.started_at).total_seconds() > limit:
        return f"Running longer than a worker may ({human_duration(limit)}): the worker has probably stopped."
    if record.kind == ImportRecord.Kind.SPREADSHEET:
        # One transaction, all rows or none: its progress is not visible until it ends.
        if record.rows_read:
            return f"Read {record.rows_read:,} rows; checking every one (nothing is saved until all are valid)."
        return "Reading the file."
    if record.file_size and record.bytes_read >= record.file_size:
        return "All rows read; writing them to the database."
    return "Reading the file."


def confirmation_of(record, user):
    """What a worker's finished spreadsheet preview offers ``user``: the confirm form's target and token, or why not."""
    preview = SpreadsheetPreview.objects.filter(record=record).first()
    if preview is None:
        return {"note": "This preview was confirmed, or it expired; its file is no longer kept."}
    if preview.user_id != user.pk:
        return {"note": "Only the user who previewed this file may confirm it."}
    if preview.is_expired:
        return {"note": "This preview expired; upload the file again."}
    app_label, model_name = preview.model.split(".")
    return {
        "url": reverse(f"admin:{app_label}_{model_name}_process_import"),
        "token": preview.token,
        "expires_at": preview.expires_at,
        "import_url": reverse(f"admin:{app_label}_{model_name}_import"),
    }


def may_download_errors(user, record):
    """Who ran the import, or an administrator."""
    return (record.user_id is not None and record.user_id == user.pk) or is_administrator(user)


@admin.register(ImportRecord)
class ImportRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The log is written by the imports; people read it."""

    list_display = [
        "created",
        "kind",
        "target",
        "file_name",
        "status_badge",
        "user",
        "rows_read",
        "rows_new",
        "rows_updated",
        "rows_unchanged",
        "rows_rejected",
        "duration",
    ]
    list_display_links = ["created", "file_name"]
    list_filter = ["kind", "status", "source", "created_at"]
    list_select_related = ["user"]
    search_fields = ["file_name", "sha256", "target"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "status_badge",
        "rows_rejected",
        "duration",
        "file_size_display",
        "options_display",
        "problems_table",
        "errors_file_link",
        "errors_file_withheld",
    ]

    def get_fieldsets(self, request, obj=None):
        errors_file = "errors_file_link"
        if obj is not None and not may_download_errors(request.user, obj):
            errors_file = "errors_file_withheld"
        fieldsets = [
            (None, {"fields": ["file_name", "kind", "target", "source", "user", "status_badge", "message"]}),
            (
                "Rows",
                {
                    "fields": [
                        "rows_read",
                        "rows_new",
                        "rows_updated",
                        "rows_unchanged",
                        "rows_merged",
                        "rows_invalid",
                        "rows_skipped",
                        errors_file,
                    ]
                },
            ),
            ("File", {"fields": ["file_size_display", "sha256", "options_display", "task_id"]}),
            ("Times", {"fields": ["created_at", "started_at", "heartbeat_at", "finished_at", "duration"]}),
        ]
        if obj is not None and obj.problems:
            fieldsets.insert(1, ("Problems", {"fields": ["problems_table"]}))
        return fieldsets

    def has_view_permission(self, request, obj=None):
        # Whoever may import readings may follow their imports, without a separate permission;
        # and everyone may follow their own (a large spreadsheet's preview runs in a worker).
        if super().has_view_permission(request, obj):
            return True
        if obj is not None and obj.user_id is not None and obj.user_id == request.user.pk:
            return True
        return can_import_readings(request.user) and (obj is None or obj.kind == ImportRecord.Kind.READINGS)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not super().has_view_permission(request):
            visible = Q(user_id=request.user.pk)
            if can_import_readings(request.user):
                visible |= Q(kind=ImportRecord.Kind.READINGS)
            queryset = queryset.filter(visible)
        return queryset

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="{}_{}_progress".format(*info),
            ),
            path(
                "<path:object_id>/errors-file/",
                self.admin_site.admin_view(self.errors_file_view),
                name="{}_{}_errors_file".format(*info),
            ),
            *super().get_urls(),
        ]

    def _viewable_record(self, request, object_id):
        # Found among all records, so another user's is refused (403), not "not found".
        try:
            record = ImportRecord.objects.filter(pk=unquote(object_id)).first()
        except (ValueError, ValidationError):
            record = None
        if record is None:
            raise Http404("No such import.")
        if not self.has_view_permission(request, record):
            refuse("Seeing imports", role_needed("portfolio", "importrecord", "view"))
        return record

    def progress_view(self, request, object_id):
        """The record's progress as JSON, for the page's polling script."""
        return JsonResponse(progress_of(self._viewable_record(request, object_id)))

    def errors_file_view(self, request, object_id):
        """Stream the errors file of a skip-invalid import (rejected rows with the reason).

        The rejected rows are the uploader's data: only who ran the import, or an
        administrator, may download them.
        """
        record = self._viewable_record(request, object_id)
        if not may_download_errors(request.user, record):
            refuse("The errors file of someone else's import", ADMINISTRATOR)
        if not record.errors_file:
            raise Http404("This import has no errors file.")
        try:
            stream = record.errors_file.open("rb")
        except FileNotFoundError:
            raise Http404("The errors file is no longer on the server.") from None
        download_name = f"{Path(record.file_name).stem}.errors.csv"
        return FileResponse(stream, as_attachment=True, filename=download_name, content_type="text/csv")

    def history_view(self, request, object_id, extra_context=None):
        # Like the change page: another person's import is refused, not reported missing.
        self._viewable_record(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        record = self.get_object(request, unquote(object_id))
        if record is not None and not record.is_finished:
            extra_context = {
                **(extra_context or {}),
                "progress": progress_of(record),
                "progress_url": reverse("admin:portfolio_importrecord_progress", args=[record.pk]),
            }
        elif record is not None and record.status == ImportRecord.Status.PREVIEWED:
            extra_context = {**(extra_context or {}), "confirmation": confirmation_of(record, request.user)}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        label = obj.get_status_display()
        if obj.status == ImportRecord.Status.RUNNING and obj.progress_fraction is not None:
            label = f"{label} {obj.progress_fraction:.0%}"
        return format_html(
            '<strong class="import-status import-status-{}" style="color: {}">{}</strong>',
            obj.status,
            STATUS_COLOURS.get(obj.status, "inherit"),
            label,
        )

    created = time_column("created_at", "created", zone_path=None)

    @admin.display(description="rejected", ordering="rows_invalid")
    def rows_rejected(self, obj):
        return obj.rows_invalid

    @admin.display(description="duration")
    def duration(self, obj):
        seconds = elapsed_seconds(obj)
        if seconds is None:
            return "-"
        return human_duration(seconds) if obj.is_finished else f"{human_duration(seconds)} so far"

    @admin.display(description="file size")
    def file_size_display(self, obj):
        return filesizeformat(obj.file_size) if obj.file_size is not None else "-"

    @admin.display(description="options")
    def options_display(self, obj):
        options = obj.options or {}
        if not options:
            return "-"
        bases = dict(TIME_BASIS_CHOICES)
        described = {
            "portfolio": ("portfolio for new farms", lambda slug: slug or "(none given)"),
            "time_basis": ("times without an offset", lambda basis: bases.get(basis, basis)),
            "skip_invalid": ("skip invalid rows", lambda skip: "yes" if skip else "no"),
            "dry_run": ("dry run", lambda dry_run: "yes" if dry_run else "no"),
        }
        lines = [
            (described[key][0], described[key][1](value)) if key in described else (key, value)
            for key, value in options.items()
        ]
        return format_html_join("", "<div>{}: {}</div>", lines)

    @admin.display(description="problems")
    def problems_table(self, obj):
        # A spreadsheet's problems name its row (and sheet, in a workbook); a CSV's its line.
        place = "row" if obj.kind == ImportRecord.Kind.SPREADSHEET else "line"
        with_sheet = any(problem.get("sheet") for problem in obj.problems)
        columns = [*(["sheet"] if with_sheet else []), place, "column", "message"]
        head = format_html_join("", "<th>{}</th>", ((column,) for column in columns))
        rows = format_html_join(
            "",
            "<tr>{}</tr>",
            (
                (
                    format_html_join(
                        "",
                        "<td>{}</td>",
                        ((problem.get("line" if column == place else column) or "",) for column in columns),
                    ),
                )
                for problem in obj.problems
            ),
        )
        listed = len(obj.problems)
        more = ""
        if obj.rows_invalid > listed:
            more = format_html("<p>The first {} of {} problems.</p>", listed, f"{obj.rows_invalid:,}")
        return format_html(
            '<table class="import-problems"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}', head, rows, more
        )

    @admin.display(description="errors file")
    def errors_file_withheld(self, obj):
        if not obj.errors_file:
            return "-"
        return f"{obj.rows_skipped:,} rejected rows, for whoever ran the import and administrators."

    @admin.display(description="errors file")
    def errors_file_link(self, obj):
        if not obj.errors_file:
            return "-"

        url = reverse("admin:portfolio_importrecord_errors_file", args=[obj.pk])
        return format_html(
            '<a href="{}" download>Download the rejected rows</a> ({} rows, each with the reason)',
            url,
            f"{obj.rows_skipped:,}",
        )
