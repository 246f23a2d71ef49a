import itertools

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from portfolio.admin.annotations import annotated_column, count_of
from portfolio.admin.imports import human_duration
from portfolio.admin.local_time import SiteTimeZoneMixin, time_column
from portfolio.admin.meters import LOCATION_FIELDSET
from portfolio.admin.spreadsheets import SpreadsheetAdminMixin
from portfolio.choices import ASSET_KINDS, KINDS_WITH_EVENTS, AssetKind
from portfolio.models import Asset, DemandResponseEvent
from portfolio.resources import AssetResource, DemandResponseEventResource
from portfolio.timefmt import time_text


def kind_fieldsets():
    """One fieldset per kind that has fields of its own, built from choices.ASSET_KINDS."""
    fieldsets = []
    for kind, spec in ASSET_KINDS.items():
        if not spec.fields:
            continue
        required = ", ".join(Asset._meta.get_field(name).verbose_name for name in spec.required)
        fieldsets.append(
            (
                f"{AssetKind(kind).label} fields",
                {
                    "fields": list(spec.fields),
                    "classes": ["kind-fields", f"kind-{kind}"],
                    "description": f"Required for {AssetKind(kind).label.lower()} assets: {required}."
                    if required
                    else "",
                },
            )
        )
    return fieldsets


class AssetForm(forms.ModelForm):
    class Meta:
        model = Asset
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets choose the fields)

    def _post_clean(self):
        super()._post_clean()
        # Many-to-many links are not on the instance yet, so the model cannot check them itself.
        if "meters" in self.cleaned_data and self.instance.portfolio_id:
            try:
                self.instance.clean_meters(self.cleaned_data["meters"])
            except ValidationError as exc:
                self._update_errors(exc)


class EventFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        # The model checks against saved events; this checks the rows submitted together.
        periods = sorted(
            (form.cleaned_data["start"], form.cleaned_data["end"])
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("start")
            and form.cleaned_data.get("end")
        )
        for (start, end), (next_start, _) in itertools.pairwise(periods):
            if next_start < end:
                raise ValidationError(f"The events starting {time_text(start)} and {time_text(next_start)} overlap.")


class DemandResponseEventInline(admin.TabularInline):
    model = DemandResponseEvent
    formset = EventFormSet
    fields = ["start", "end"]
    extra = 1


@admin.register(Asset)
class AssetAdmin(SpreadsheetAdminMixin, SiteTimeZoneMixin, admin.ModelAdmin):
    resource_classes = [AssetResource]
    form = AssetForm
    list_display = [
        "custom_id",
        "name",
        "kind",
        "portfolio",
        "farm_id",
        "meter_count",
        "event_count",
        "commenced_operation_date",
        "complete",
    ]
    list_display_links = ["custom_id", "name"]
    list_filter = ["kind", "portfolio", "utility"]
    list_select_related = ["portfolio", "farm"]
    search_fields = ["custom_id", "name", "utility", "farm__farm_id"]
    autocomplete_fields = ["farm", "meters"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "portfolio",
                    "custom_id",
                    "name",
                    "kind",
                    "timezone",
                    "utility",
                    "commenced_operation_date",
                    "farm",
                    "meters",
                ]
            },
        ),
        LOCATION_FIELDSET,
        *kind_fieldsets(),
    ]

    class Media:
        js = ["portfolio/asset_kind.js"]

    def get_inlines(self, request, obj):
        return [DemandResponseEventInline] if obj is not None and obj.kind in KINDS_WITH_EVENTS else []

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                meter_count=count_of(Asset.meters.through.objects.all(), "asset"),
                event_count=count_of(DemandResponseEvent.objects.all(), "asset"),
            )
        )

    meter_count = annotated_column("meter_count", "meters")

    @admin.display(description="farm", ordering="farm__farm_id")
    def farm_id(self, obj):
        # The ID alone: the farm's name is the asset's, most often.
        return obj.farm.farm_id if obj.farm_id else "-"

    @admin.display(description="events", ordering="event_count")
    def event_count(self, obj):
        return obj.event_count if obj.kind in KINDS_WITH_EVENTS else "-"

    @admin.display(description="kind fields complete", boolean=True)
    def complete(self, obj):
        return not obj.kind_errors()


@admin.register(DemandResponseEvent)
class DemandResponseEventAdmin(SpreadsheetAdminMixin, SiteTimeZoneMixin, admin.ModelAdmin):
    site_timezone_field = "asset__timezone"
    resource_classes = [DemandResponseEventResource]
    list_display = ["asset", "start_local", "end_local", "duration"]
    list_filter = ["asset__portfolio", "asset"]
    list_select_related = ["asset"]
    search_fields = ["asset__custom_id", "asset__name"]
    autocomplete_fields = ["asset"]
    date_hierarchy = "start"

    # In the asset's own zone, as they are sent to WattCarbon; UTC on hover.
    start_local = time_column("start", "start", "asset.timezone")
    end_local = time_column("end", "end", "asset.timezone")

    @admin.display(description="duration")
    def duration(self, obj):
        return human_duration(obj.duration.total_seconds())
