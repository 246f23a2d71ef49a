from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.utils.html import format_html

from portfolio.admin.annotations import annotated_column, count_of
from portfolio.admin.deletion import BulkRowsDeleteMixin
from portfolio.admin.large_tables import LargeTableAdmin
from portfolio.admin.local_time import time_column
from portfolio.admin.spreadsheets import SpreadsheetAdminMixin
from portfolio.models import BillReading, IntervalReading, Meter
from portfolio.quantities import quantity
from portfolio.resources import BillReadingResource, IntervalReadingResource, MeterResource

LOCATION_FIELDSET = (
    "Location",
    {
        "description": "An address in parts (street and city at least), a one-line address, or coordinates.",
        "fields": ["street", ("city", "state"), ("postal_code", "country"), "address", ("latitude", "longitude")],
    },
)


@admin.register(Meter)
class MeterAdmin(SpreadsheetAdminMixin, BulkRowsDeleteMixin, admin.ModelAdmin):
    resource_classes = [MeterResource]
    list_display = [
        "name",
        "portfolio",
        "meter_type",
        "location",
        "source",
        "last_interval_end",
        "bill_count",
        "asset_count",
    ]
    list_filter = ["meter_type", "portfolio"]
    list_select_related = ["portfolio", "source_equipment__farm"]
    search_fields = ["name", "address", "street", "city", "source_equipment__equipment_id"]
    autocomplete_fields = ["source_equipment"]
    fieldsets = [(None, {"fields": ["portfolio", "name", "meter_type", "source_equipment"]}), LOCATION_FIELDSET]

    def get_queryset(self, request):
        newest_interval = IntervalReading.objects.filter(meter=OuterRef("pk")).order_by("-start").values("end")[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_interval_end=Subquery(newest_interval),
                bill_count=count_of(BillReading.objects.all(), "meter"),
                asset_count=count_of(Meter.assets.through.objects.all(), "meter"),
            )
        )

    @admin.display(description="location")
    def location(self, obj):
        summary = obj.location_summary
        return format_html('<span class="truncated" title="{}">{}</span>', summary, summary) if summary else "-"

    @admin.display(description="source equipment", ordering="source_equipment__equipment_id")
    def source(self, obj):
        equipment = obj.source_equipment
        if equipment is None:
            return "-"
        path = f"{equipment.farm.farm_id}/{equipment.equipment_id}"
        return format_html('<span class="nowrap" title="{}">{}</span>', equipment, path)

    last_interval_end = time_column("last_interval_end", "last interval ends", zone_path=None)
    bill_count = annotated_column("bill_count", "bills")
    asset_count = annotated_column("asset_count", "assets")


class ReadingAdmin(LargeTableAdmin):
    """Shared by interval and bill readings: meters times years of readings is a big table."""

    list_filter = ["meter__portfolio", "meter__meter_type", "unit"]
    list_select_related = ["meter"]
    search_fields = ["meter__name"]
    autocomplete_fields = ["meter"]
    readonly_fields = ["energy", "ingested_at"]

    @admin.display(description="quantity", ordering="quantity")
    def amount(self, obj):
        return quantity(obj.quantity, obj.unit)

    @admin.display(description="energy", ordering="energy_kwh")
    def energy(self, obj):
        return quantity(obj.energy_kwh, "kWh")


@admin.register(IntervalReading)
class IntervalReadingAdmin(SpreadsheetAdminMixin, ReadingAdmin):
    resource_classes = [IntervalReadingResource]
    list_display = ["meter", "start_shown", "end_shown", "amount", "energy", "ingested"]
    list_filter = [*ReadingAdmin.list_filter, "start"]
    # (meter, start) is the unique index: this order never needs a sort.
    ordering = ["-meter_id", "-start"]
    fields = ["meter", "start", "end", "quantity", "unit", "energy", "ingested_at"]

    start_shown = time_column("start", "start", zone_path=None)
    end_shown = time_column("end", "end", zone_path=None)
    ingested = time_column("ingested_at", "ingested at", zone_path=None)


@admin.register(BillReading)
class BillReadingAdmin(SpreadsheetAdminMixin, ReadingAdmin):
    resource_classes = [BillReadingResource]
    list_display = ["meter", "start_date", "end_date", "amount", "energy", "ingested"]
    list_filter = [*ReadingAdmin.list_filter, "start_date"]
    ordering = ["-meter_id", "-start_date"]
    fields = ["meter", "start_date", "end_date", "quantity", "unit", "energy", "ingested_at"]

    ingested = time_column("ingested_at", "ingested at", zone_path=None)
