from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from portfolio.admin.annotations import annotated_column, count_of, last_observation_of_sensors, sensor_last_observation
from portfolio.admin.charts import FarmChartsMixin, SensorChartsMixin
from portfolio.admin.deletion import BulkRowsDeleteMixin
from portfolio.admin.large_tables import InputFilter, LargeTableAdmin
from portfolio.admin.local_time import SiteTimeZoneMixin, time_column
from portfolio.admin.readings_import import readings_import_urls
from portfolio.admin.spreadsheets import SpreadsheetAdminMixin
from portfolio.choices import SENSOR_TYPES
from portfolio.models import Equipment, Farm, Observation, Sensor
from portfolio.quantities import quantity, unit_symbol
from portfolio.resources import EquipmentResource, FarmResource, SensorResource


def observations_link(query, label):
    url = reverse("admin:portfolio_observation_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, query, label)


class EquipmentInline(admin.TabularInline):
    model = Equipment
    fields = ["equipment_id", "name", "equipment_type", "manufacturer", "model", "serial_number"]
    extra = 0
    show_change_link = True


@admin.register(Farm)
class FarmAdmin(FarmChartsMixin, SpreadsheetAdminMixin, SiteTimeZoneMixin, BulkRowsDeleteMixin, admin.ModelAdmin):
    resource_classes = [FarmResource]
    list_display = [
        "farm_id",
        "name",
        "portfolio",
        "timezone",
        "dc_capacity",
        "equipment_count",
        "sensor_count",
        "last_observation",
        "is_active",
    ]
    list_display_links = ["farm_id", "name"]
    list_filter = ["is_active", "portfolio", "timezone"]
    list_select_related = ["portfolio"]
    search_fields = ["farm_id", "name"]
    fieldsets = [
        (None, {"fields": ["portfolio", "farm_id", "name", "is_active"]}),
        ("Site", {"fields": ["timezone", "commissioned_at", ("latitude", "longitude"), "dc_capacity_kw"]}),
    ]
    inlines = [EquipmentInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                equipment_count=count_of(Equipment.objects.all(), "farm"),
                sensor_count=count_of(Sensor.objects.all(), "equipment__farm"),
                last_observation=last_observation_of_sensors(equipment__farm="pk"),
            )
        )

    equipment_count = annotated_column("equipment_count", "equipment")
    sensor_count = annotated_column("sensor_count", "sensors")
    last_observation = time_column("last_observation", "last reading")

    @admin.display(description="DC capacity", ordering="dc_capacity_kw")
    def dc_capacity(self, obj):
        return quantity(obj.dc_capacity_kw, "kW")


class SensorTypeColumns:
    """What a sensor's type implies (choices.SENSOR_TYPES), as read-only columns."""

    @admin.display(description="unit")
    def unit(self, obj):
        return unit_symbol(obj.unit) if obj.sensor_type in SENSOR_TYPES else "-"

    @admin.display(description="15-min aggregation")
    def aggregation(self, obj):
        return obj.aggregation.label if obj.sensor_type in SENSOR_TYPES else "-"

    @admin.display(description="interval")
    def interval(self, obj):
        return f"{obj.spec.interval_minutes} minutes" if obj.sensor_type in SENSOR_TYPES else "-"


class SensorInline(SensorTypeColumns, admin.TabularInline):
    model = Sensor
    fields = ["sensor_id", "name", "sensor_type", "unit", "aggregation"]
    readonly_fields = ["unit", "aggregation"]
    extra = 0
    show_change_link = True


@admin.register(Equipment)
class EquipmentAdmin(SpreadsheetAdminMixin, BulkRowsDeleteMixin, admin.ModelAdmin):
    resource_classes = [EquipmentResource]
    list_display = [
        "equipment_id",
        "name",
        "equipment_type",
        "farm",
        "manufacturer",
        "model",
        "sensor_count",
        "last_observation",
    ]
    list_display_links = ["equipment_id", "name"]
    list_filter = ["equipment_type", "farm__portfolio", "farm"]
    list_select_related = ["farm"]
    search_fields = ["equipment_id", "name", "serial_number", "farm__farm_id", "farm__name"]
    autocomplete_fields = ["farm"]
    fields = ["farm", "equipment_id", "name", "equipment_type", "manufacturer", "model", "serial_number"]
    inlines = [SensorInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                sensor_count=count_of(Sensor.objects.all(), "equipment"),
                last_observation=last_observation_of_sensors(equipment="pk"),
            )
        )

    sensor_count = annotated_column("sensor_count", "sensors")
    last_observation = time_column("last_observation", "last reading", "farm.timezone")


@admin.register(Sensor)
class SensorAdmin(SensorChartsMixin, SpreadsheetAdminMixin, SensorTypeColumns, BulkRowsDeleteMixin, admin.ModelAdmin):
    resource_classes = [SensorResource]
    list_display = ["__str__", "sensor_type", "unit", "equipment", "farm", "last_observation", "observations"]
    list_filter = ["sensor_type", "equipment__equipment_type", "equipment__farm__portfolio", "equipment__farm"]
    list_select_related = ["equipment__farm"]
    search_fields = [
        "sensor_id",
        "name",
        "equipment__equipment_id",
        "equipment__name",
        "equipment__farm__farm_id",
        "equipment__farm__name",
    ]
    autocomplete_fields = ["equipment"]
    fields = ["equipment", "sensor_id", "name", "sensor_type", "unit", "aggregation", "interval", "last_observation"]
    readonly_fields = ["unit", "aggregation", "interval", "last_observation"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(last_observation=sensor_last_observation())

    @admin.display(description="farm", ordering="equipment__farm__farm_id")
    def farm(self, obj):
        return obj.equipment.farm.farm_id

    last_observation = time_column("last_observation", "last reading", "equipment.farm.timezone")

    @admin.display(description="readings")
    def observations(self, obj):
        return observations_link(f"sensor__id__exact={obj.pk}", "view")


class EquipmentIdFilter(InputFilter):
    title = "equipment ID"
    parameter_name = "equipment_id"

    def queryset(self, request, queryset):
        if value := self.cleaned_value():
            return queryset.filter(sensor__equipment__equipment_id=value)
        return queryset


class SensorIdFilter(InputFilter):
    title = "sensor ID"
    parameter_name = "sensor_id"

    def queryset(self, request, queryset):
        if value := self.cleaned_value():
            return queryset.filter(sensor__sensor_id=value)
        return queryset


@admin.register(Observation)
class ObservationAdmin(LargeTableAdmin):
    """Millions of rows: filters narrow by farm, equipment, sensor and date."""

    list_display = ["observed", "sensor", "reading", "ingested"]
    list_filter = [
        "sensor__equipment__farm",
        EquipmentIdFilter,
        SensorIdFilter,
        "sensor__sensor_type",
        "observed_at",
    ]
    list_select_related = ["sensor__equipment__farm"]
    # (sensor, observed_at) is the unique index: this order never needs a sort.
    ordering = ["-sensor_id", "-observed_at"]
    autocomplete_fields = ["sensor"]
    fields = ["sensor", "observed_at", "value", "ingested_at"]
    readonly_fields = ["ingested_at"]

    observed = time_column("observed_at", "observed at", "sensor.equipment.farm.timezone")
    ingested = time_column("ingested_at", "ingested at", zone_path=None)

    @admin.display(description="value")
    def reading(self, obj):
        return quantity(obj.value, obj.sensor.unit)

    def get_urls(self):
        # In front: the object URLs would take "import/" for an observation's ID.
        return readings_import_urls(self) + super().get_urls()
