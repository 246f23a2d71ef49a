"""Utility meters and their interval and bill readings; a meter is known by its portfolio and name."""

from django.core.exceptions import ValidationError
from django.utils import timezone

from portfolio.models import BillReading, IntervalReading, Meter
from portfolio.models.locations import ADDRESS_PARTS
from portfolio.models.meters import LONGEST_INTERVAL
from portfolio.resources.base import SpreadsheetResource, related, shown
from portfolio.resources.bulk import BulkReadings
from portfolio.resources.relations import equipment_column, portfolio_column
from portfolio.resources.widgets import RelatedByKey

__all__ = ["BillReadingResource", "IntervalReadingResource", "MeterResource"]

LOCATION_COLUMNS = (*ADDRESS_PARTS, "address", "latitude", "longitude")


class MeterResource(SpreadsheetResource):
    resource_name = "meters"
    key_columns = ("portfolio", "name")
    required_columns = ("portfolio", "name")
    portfolio_path = "portfolio__slug"
    export_related = ("portfolio", "source_equipment__farm")

    portfolio = portfolio_column()
    source_farm_id = shown("source_equipment__farm__farm_id", "source_farm_id")
    source_equipment_id = equipment_column("source_equipment", "source_farm_id", "source_equipment_id", required=False)

    class Meta:
        model = Meter
        fields = ("portfolio", "name", "meter_type", "source_farm_id", "source_equipment_id", *LOCATION_COLUMNS)
        import_id_fields = ("portfolio", "name")


def meter_column():
    return related(
        "meter",
        "meter",
        RelatedByKey(
            Meter,
            {"portfolio__slug": "portfolio", "name": "meter"},
            field="name",
            missing="Portfolio {portfolio!r} has no meter named {meter!r}.",
        ),
    )


def meter_zone(meter):
    """A meter's site time zone: its farm's (through the production meter), else its assets' if they agree."""
    if meter.source_equipment_id:
        return meter.source_equipment.farm.timezone
    zones = set(meter.assets.values_list("timezone", flat=True))
    return zones.pop() if len(zones) == 1 else None


class IntervalReadingResource(BulkReadings, SpreadsheetResource):
    resource_name = "interval-readings"
    key_columns = ("portfolio", "meter", "start")
    required_columns = ("portfolio", "meter", "start", "end", "quantity")
    portfolio_path = "meter__portfolio__slug"
    export_related = ("meter__portfolio", "meter__source_equipment__farm")

    portfolio = shown("meter__portfolio__slug", "portfolio")
    meter = meter_column()

    class Meta:
        model = IntervalReading
        fields = ("portfolio", "meter", "start", "end", "quantity", "unit")
        import_id_fields = ("meter", "start")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._zones = {}

    def _meter_zone(self, meter):
        if meter.pk not in self._zones:
            self._zones[meter.pk] = meter_zone(meter)
        return self._zones[meter.pk]

    def row_zone(self, row):
        try:
            meter = self.fields["meter"].clean(row)
        except ValueError:
            return None, "the meter is not known"
        return self.meter_zone_of(meter)

    def meter_zone_of(self, meter):
        zone = self._meter_zone(meter)
        if zone is None:
            return None, f"meter {meter.name!r} has no site time zone (no farm meter feeds it, and no one asset has it)"
        return zone, None

    def instance_zone(self, reading):
        return self._meter_zone(reading.meter)

    longest = LONGEST_INTERVAL

    def clean_period(self, reading):
        # IntervalReading.clean, before the unit and the overlap.
        if reading.start is None or reading.end is None or timezone.is_naive(reading.start):
            return False
        if timezone.is_naive(reading.end):
            return False
        if reading.end <= reading.start:
            raise ValidationError({"end": "The end must be after the start."})
        if reading.end - reading.start > LONGEST_INTERVAL:
            raise ValidationError({"end": "An interval reading covers a day at most; enter longer periods as bills."})
        return True


class BillReadingResource(BulkReadings, SpreadsheetResource):
    resource_name = "bill-readings"
    key_columns = ("portfolio", "meter", "start_date")
    required_columns = ("portfolio", "meter", "start_date", "end_date", "quantity")
    portfolio_path = "meter__portfolio__slug"
    export_related = ("meter__portfolio",)

    portfolio = shown("meter__portfolio__slug", "portfolio")
    meter = meter_column()

    class Meta:
        model = BillReading
        fields = ("portfolio", "meter", "start_date", "end_date", "quantity", "unit")
        import_id_fields = ("meter", "start_date")

    start_field, end_field = "start_date", "end_date"

    def clean_period(self, bill):
        # BillReading.clean, before the unit and the overlap (consecutive bills may share a day).
        if bill.start_date is None or bill.end_date is None:
            return False
        if bill.end_date <= bill.start_date:
            raise ValidationError({"end_date": "The end date must be after the start date."})
        return True
