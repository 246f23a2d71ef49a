"""The admin's "Import readings" page: upload a file of readings, a worker imports it.

A file of millions of rows takes minutes, longer than a web request may: the page only
keeps the file and queues it (``jobs.queue_readings_import``), then sends the user to the
import record, which shows the worker's progress and, when it is done, the outcome.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse

from portfolio.ingest import jobs
from portfolio.models import ImportRecord, Portfolio
from portfolio.roles import refuse, role_needed

PERMISSION = "portfolio.add_observation"

TIME_BASIS_CHOICES = [
    ("local", "Farm local time (each farm's time zone)"),
    ("utc", "UTC"),
]


def can_import_readings(user):
    return user.has_perm(PERMISSION)


class ReadingsImportForm(forms.Form):
    file = forms.FileField(
        label="File of readings (CSV)",
        help_text="A Raptor Maps CSV (its 14 columns) or the long format: "
        "farm_id, equipment_id, sensor_id or sensor_type, observed_at, value.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    portfolio = forms.ModelChoiceField(
        queryset=Portfolio.objects.all(),
        required=False,
        label="Portfolio for new farms",
        empty_label="(none: the file only refers to existing farms)",
        help_text="Farms a Raptor Maps file introduces are created in this portfolio. "
        "Needed only when the file adds farms and there is more than one portfolio.",
    )
    time_basis = forms.ChoiceField(
        choices=TIME_BASIS_CHOICES,
        initial="local",
        widget=forms.RadioSelect,
        label="Times without an offset are in",
        help_text="Times written with an offset (2024-06-01T08:00:00-04:00) are read as written.",
    )
    skip_invalid = forms.BooleanField(
        required=False,
        label="Skip invalid rows",
        label_suffix="",  # the admin writes a checkbox's label after the box, without a colon
        help_text="Load the good rows and leave out the invalid ones, which are listed with the reason in an "
        "errors file you can download from the import record. Without it, one invalid row refuses the whole "
        "file and nothing is imported.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One portfolio (the usual case): new farms go there without asking.
        only = list(Portfolio.objects.all()[:2])
        if len(only) == 1:
            self.fields["portfolio"].initial = only[0].pk

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.READINGS_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the largest file this page accepts is "
                f"{filesizeformat(limit)}. Split it, or import it on the server with "
                "manage.py import_observations."
            )
        return upload

    def options(self):
        return jobs.readings_options(
            portfolio=self.cleaned_data["portfolio"],
            time_basis=self.cleaned_data["time_basis"],
            skip_invalid=self.cleaned_data["skip_invalid"],
        )


def import_readings_view(request, model_admin):
    """The upload form; on a valid upload, queue the import and go to its record."""
    if not can_import_readings(request.user):
        refuse("Importing readings", role_needed("portfolio", "observation", "add"))
    form = ReadingsImportForm(request.POST, request.FILES) if request.method == "POST" else ReadingsImportForm()
    if form.is_bound and form.is_valid():
        record = jobs.queue_readings_import(form.cleaned_data["file"], user=request.user, options=form.options())
        messages.success(
            request,
            f"{record.file_name} ({filesizeformat(record.file_size)}) is queued for import; "
            "this page shows its progress.",
        )
        return redirect("admin:portfolio_importrecord_change", record.pk)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Import readings",
        "opts": model_admin.opts,
        "form": form,
        "max_size": filesizeformat(settings.READINGS_UPLOAD_MAX_BYTES),
        "records_url": f"{reverse('admin:portfolio_importrecord_changelist')}?kind__exact={ImportRecord.Kind.READINGS}",
    }
    return TemplateResponse(request, "admin/portfolio/observation/import_readings.html", context)


def readings_import_urls(model_admin):
    """The page's URL, to go in front of the observation admin's own (before ``<path:object_id>/``)."""
    return [
        path(
            "import/",
            model_admin.admin_site.admin_view(lambda request: import_readings_view(request, model_admin)),
            name="portfolio_observation_import",
        ),
    ]
