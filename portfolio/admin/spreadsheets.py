"""Spreadsheet import and export on the admin's lists of every model a person edits.

django-import-export's admin flow (upload, dry-run preview, confirm) with our own reading
and rules: the file's format is found from its content, the upload limit is checked before
the file is read, problems name the spreadsheet row and column, a file with any invalid row
imports nothing, and every confirmed import and every refused file leaves an ImportRecord.
The upload and confirm steps are ours because they run ``import_spreadsheet``, the same
function as the ``import_spreadsheet`` command; the previewed file waits on the server
(``previews``) and the confirm form carries only its token; a file of many rows is
previewed and imported by a worker (``jobs``), followed on its import record's page. Forms,
templates, export and permissions are the library's.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.forms import ImportForm
from import_export.signals import post_import

from portfolio.models import ImportRecord
from portfolio.resources import bounds
from portfolio.resources.files import csv_text, read_sheet, xlsx_bytes
from portfolio.resources.importing import MAX_PREVIEW_ROWS, Upload, import_spreadsheet
from portfolio.resources.jobs import queue_spreadsheet_import
from portfolio.resources.previews import PreviewRefused, create_preview, find_preview, take_preview
from portfolio.resources.problems import SpreadsheetError
from portfolio.roles import refuse, role_needed

__all__ = ["SpreadsheetAdminMixin"]

# How many problems the page lists; the import record keeps the first 100 as well.
MAX_SHOWN_PROBLEMS = 100


class SpreadsheetUpload(base_formats.Format):
    """Import: CSV or XLSX, told apart by the file's content, not its name."""

    def get_title(self):
        return "CSV or XLSX"

    def can_import(self):
        return True

    def create_dataset(self, in_stream):
        return read_sheet(in_stream)


class CSVFile(base_formats.CSV):
    def export_data(self, dataset, **kwargs):
        return csv_text(dataset)


class XLSXFile(base_formats.XLSX):
    def export_data(self, dataset, **kwargs):
        return xlsx_bytes([(dataset.title or "sheet", dataset)])


class SpreadsheetImportForm(ImportForm):
    """The upload form, without the format choice: the content says which it is."""

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        del self.fields["format"]
        upload = self.fields["import_file"]
        upload.label = "Spreadsheet"
        upload.help_text = f"CSV or XLSX, at most {filesizeformat(settings.SPREADSHEET_UPLOAD_MAX_BYTES)}."
        upload.widget.attrs["accept"] = ".csv,.xlsx,text/csv," + XLSXFile.CONTENT_TYPE

    @property
    def media(self):
        return forms.Media()  # no format to guess


class PreviewConfirmForm(forms.Form):
    """The confirmation: the preview's token, and nothing that names a file."""

    preview = forms.CharField(widget=forms.HiddenInput, max_length=100)


class SpreadsheetAdminMixin(ImportExportMixin):
    """Import and export buttons on a changelist; ``resource_classes`` names the one resource."""

    import_template_name = "admin/import_export/spreadsheet_import.html"
    import_form_class = SpreadsheetImportForm
    confirm_form_class = PreviewConfirmForm

    def get_import_formats(self):
        return [SpreadsheetUpload]

    def get_export_formats(self):
        return [CSVFile, XLSXFile]

    def get_export_filename(self, request, queryset, file_format):
        name = self.get_export_resource_classes(request)[0].resource_name
        return f"{name}-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"

    def _resource(self, request):
        return self.get_import_resource_classes(request)[0](**self.get_import_resource_kwargs(request))

    def _refuse_import(self):
        action = settings.IMPORT_EXPORT_IMPORT_PERMISSION_CODE
        role = role_needed(self.opts.app_label, self.opts.model_name, action)
        refuse(f"Importing {self.opts.verbose_name_plural}", role)

    def import_action(self, request, **kwargs):
        """Upload and dry run: the preview with counts and changed rows, or the problems.

        A file over a limit is refused before it is parsed (``bounds``); a file of more rows
        than ``SPREADSHEET_INTERACTIVE_MAX_ROWS`` is kept and previewed by a worker instead.
        """
        if not self.has_import_permission(request):
            self._refuse_import()
        form = self.create_import_form(request)
        outcome = confirm_form = None
        if request.method == "POST" and form.is_valid():
            upload, in_worker = self._bounded_upload(Upload.from_uploaded_file(form.cleaned_data["import_file"]))
            resource = self._resource(request)
            if in_worker:
                return self._queue_preview(request, resource, upload)
            outcome = import_spreadsheet(
                resource, upload, source=ImportRecord.Source.ADMIN, user=request.user, dry_run=True
            )
            if outcome.ok:
                preview = create_preview(
                    user=request.user,
                    target=resource.resource_name,
                    model=self.opts.label_lower,
                    file_name=upload.name,
                    data=outcome.data,
                )
                confirm_form = PreviewConfirmForm(initial={"preview": preview.token})
        return self._import_page(request, form, outcome, confirm_form)

    @staticmethod
    def _bounded_upload(upload):
        """The upload read once, and whether it is for a worker (more rows than the page previews).

        A file over a bound is left to ``import_spreadsheet``, which refuses and records it.
        """
        try:
            bounds.check_size(upload.size)
            data = upload.read()
        except SpreadsheetError:
            return upload, False
        upload = Upload.from_bytes(upload.name, data)
        try:
            bounds.check_archive(data)
            return upload, bounds.rows_above(data, settings.SPREADSHEET_INTERACTIVE_MAX_ROWS)
        except SpreadsheetError:
            return upload, False

    def _queue_preview(self, request, resource, upload):
        preview = create_preview(
            user=request.user,
            target=resource.resource_name,
            model=self.opts.label_lower,
            file_name=upload.name,
            data=upload.read(),
            in_worker=True,
        )
        record = queue_spreadsheet_import(preview, dry_run=True)
        limit = settings.SPREADSHEET_INTERACTIVE_MAX_ROWS
        messages.success(
            request,
            f"{preview.file_name} has more than {limit:,} rows (SPREADSHEET_INTERACTIVE_MAX_ROWS), so a worker "
            "previews it; this page shows its progress, then the preview and the confirmation.",
        )
        return HttpResponseRedirect(reverse("admin:portfolio_importrecord_change", args=[record.pk]))

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """Confirm: import the previewed file for real, all rows or none.

        The form carries only the preview's token; the file is found from the server's record
        of the preview, which must be this user's, unexpired and of this list.
        """
        if not self.has_import_permission(request):
            self._refuse_import()
        import_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")
        try:
            preview = find_preview(request.POST.get("preview"), request.user)
            if preview.model != self.opts.label_lower:
                raise PreviewRefused(f"This is a preview of {preview.target}; confirm it from that list's import page.")
            if preview.in_worker:
                return self._queue_import(request, preview)
            path = take_preview(preview)
        except PreviewRefused as refusal:
            messages.error(request, str(refusal))
            return HttpResponseRedirect(import_url)
        try:
            data = path.read_bytes()
        finally:
            path.unlink(missing_ok=True)
        upload = Upload.from_bytes(preview.file_name, data)
        outcome = import_spreadsheet(
            self._resource(request), upload, source=ImportRecord.Source.ADMIN, user=request.user
        )
        if not outcome.ok:
            # The data changed since the preview; say what is wrong now.
            form = self.get_import_form_class(request)(
                self.get_import_formats(), self.get_import_resource_classes(request)
            )
            return self._import_page(request, form, outcome, None)
        if outcome.result is not None:
            self.generate_log_entries(outcome.result, request)
        messages.success(request, outcome.message)
        post_import.send(sender=None, model=self.model)
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

    def _queue_import(self, request, preview):
        """Confirm a worker's preview: a worker imports the file, the record's page follows it."""
        dry_run = preview.record
        if dry_run is None or dry_run.status != ImportRecord.Status.PREVIEWED:
            raise PreviewRefused(
                "This file's preview has not finished, or it found problems; its import record says which."
            )
        take_preview(preview)
        record = queue_spreadsheet_import(preview, dry_run=False)
        messages.success(request, f"{preview.file_name} is queued for import; this page shows its progress.")
        return HttpResponseRedirect(reverse("admin:portfolio_importrecord_change", args=[record.pk]))

    def _import_page(self, request, form, outcome, confirm_form):
        resource = self._resource(request)
        required = list(resource.required_columns)
        context = {
            **self.admin_site.each_context(request),
            **self.get_import_context_data(),
            "title": f"Import {self.opts.verbose_name_plural}",
            "opts": self.opts,
            "form": form,
            "media": self.media + form.media,
            "outcome": outcome,
            "confirm_form": confirm_form,
            "resource_name": resource.resource_name,
            "required_columns": required,
            "optional_columns": [column for column in resource.columns if column not in required],
            "key_columns": resource.key_columns,
            "upload_limit": settings.SPREADSHEET_UPLOAD_MAX_BYTES,
            "interactive_rows": settings.SPREADSHEET_INTERACTIVE_MAX_ROWS,
            "max_preview_rows": MAX_PREVIEW_ROWS,
            "max_shown_problems": MAX_SHOWN_PROBLEMS,
        }
        if outcome is not None:
            context["shown_problems"] = outcome.problems[:MAX_SHOWN_PROBLEMS]
            # A file refused for one problem already names it in the message: say it once.
            context["problem_in_message"] = len(outcome.problems) == 1 and str(outcome.problems[0]) in outcome.message
            context["more_problems"] = max(0, len(outcome.problems) - MAX_SHOWN_PROBLEMS)
            context["more_changes"] = max(0, outcome.rows_new + outcome.rows_updated - len(outcome.changes))
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)
