"""Utility meters as WattCarbon knows them, and their interval and bill readings."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from portfolio.choices import KWH_PER_UNIT, UNITS_BY_METER_TYPE, EnergyUnit, EquipmentType, MeterType, SensorType
from portfolio.models.constraints import choices_constraint
from portfolio.models.locations import Located
from portfolio.models.related import related_or_none
from portfolio.text import with_article
from portfolio.timefmt import time_text
from portfolio.validators import MAX_FLOAT, validate_aware, validate_finite

__all__ = ["BillReading", "IntervalReading", "Meter"]

PRODUCTION_METER_SENSOR_TYPES = (SensorType.PRODUCTION_METER_ENERGY, SensorType.PRODUCTION_METER_POWER)

# Intervals are hourly, daily or shorter; a local day across a DST change lasts 25 hours.
LONGEST_INTERVAL = timedelta(hours=25)


class Meter(Located):
    """A utility meter: electricity or gas, optionally fed by a farm's production meter."""

    portfolio = models.ForeignKey("portfolio.Portfolio", on_delete=models.PROTECT, related_name="meters")
    name = models.CharField(max_length=200, help_text="Unique within the portfolio.")
    meter_type = models.CharField(max_length=16, choices=MeterType.choices, default=MeterType.ELECTRICITY)
    source_equipment = models.ForeignKey(
        "portfolio.Equipment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="utility_meters",
        limit_choices_to={"equipment_type": EquipmentType.METER},
        help_text="The farm meter whose production-meter sensor feeds this meter's intervals.",
    )
    # Observations of the source sensor ingested up to here have been turned into hourly
    # intervals (portfolio/production.py).
    derived_through = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(Located.Meta):
        ordering = ["portfolio", "name"]
        constraints = [
            *Located.Meta.constraints,
            models.UniqueConstraint(
                fields=["portfolio", "name"],
                name="meter_name_unique_in_portfolio",
                violation_error_message="This portfolio already has a meter with this name.",
            ),
            choices_constraint("meter_type", MeterType, "meter_type_known"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        equipment = related_or_none(self, "source_equipment")
        if equipment is None:
            return
        errors = []
        if equipment.equipment_type != EquipmentType.METER:
            errors.append("Choose a meter; %(equipment)s is %(equipment_type)s.")
        elif not equipment.sensors.filter(sensor_type__in=PRODUCTION_METER_SENSOR_TYPES).exists():
            errors.append("%(equipment)s has no production_meter_energy or production_meter_power sensor.")
        if self.meter_type != MeterType.ELECTRICITY:
            errors.append("A production meter feeds an electricity meter only.")
        if self.portfolio_id and equipment.farm.portfolio_id != self.portfolio_id:
            errors.append("%(equipment)s belongs to a farm of another portfolio.")
        if errors:
            params = {
                "equipment": equipment.equipment_id,
                "equipment_type": with_article(equipment.get_equipment_type_display().lower()),
            }
            raise ValidationError({"source_equipment": [ValidationError(message, params=params) for message in errors]})


def _energy_kwh():
    """kWh from the quantity as entered, computed by the database so it can never disagree."""
    return models.GeneratedField(
        expression=Case(
            *(When(unit=unit, then=F("quantity") * Value(factor)) for unit, factor in KWH_PER_UNIT.items()),
            output_field=models.FloatField(),
        ),
        output_field=models.FloatField(),
        db_persist=True,
        verbose_name="energy (kWh)",
    )


class Reading(models.Model):
    """Energy over a period, as entered (quantity and unit) and in kWh.

    Positive for generation and savings, negative for extra consumption.
    """

    quantity = models.FloatField(validators=[validate_finite], help_text="As read, in the unit given.")
    unit = models.CharField(max_length=8, choices=EnergyUnit.choices, default=EnergyUnit.KWH)
    energy_kwh = _energy_kwh()
    ingested_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        abstract = True
        constraints = [
            choices_constraint("unit", EnergyUnit, "%(class)s_unit_known"),
            models.CheckConstraint(
                condition=Q(quantity__gte=-MAX_FLOAT, quantity__lte=MAX_FLOAT),
                name="%(class)s_quantity_finite",
                violation_error_message="The quantity must be a finite number.",
            ),
        ]

    def save(self, *args, **kwargs):
        # A reading written again (an edit, a re-import that changed it) is sent again: the
        # uploads find what to send by ingested_at.
        self.ingested_at = timezone.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "ingested_at"}
        super().save(*args, **kwargs)

    def clean_unit(self, meter):
        allowed = UNITS_BY_METER_TYPE[MeterType(meter.meter_type)]
        if self.unit not in allowed:
            raise ValidationError(
                {
                    "unit": ValidationError(
                        "%(a_meter)s is read in %(allowed)s, not %(unit)s.",
                        params={
                            "a_meter": with_article(f"{meter.meter_type} meter").capitalize(),
                            "allowed": " or ".join(allowed),
                            "unit": self.unit,
                        },
                    )
                }
            )

    def clean_overlap(self, meter, overlapping):
        clash = overlapping.filter(meter=meter).exclude(pk=self.pk).first()
        if clash is not None:
            raise ValidationError(
                "This period overlaps the reading %(clash)s of meter %(meter)s.",
                code="overlap",
                params={"clash": clash.period, "meter": meter},
            )


class IntervalReading(Reading):
    """Energy over an interval of a day or less (hourly, daily or sub-hourly)."""

    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="interval_readings", db_index=False)
    start = models.DateTimeField(validators=[validate_aware])
    end = models.DateTimeField(validators=[validate_aware])

    class Meta(Reading.Meta):
        ordering = ["meter", "start"]
        constraints = [
            *Reading.Meta.constraints,
            models.UniqueConstraint(
                fields=["meter", "start"],
                name="interval_reading_unique_meter_start",
                violation_error_message="This meter already has an interval reading starting at this time.",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="interval_reading_end_after_start",
                violation_error_message="The end must be after the start.",
            ),
        ]
        indexes = [models.Index(fields=["meter", "ingested_at", "id"], name="interval_reading_ingested")]

    def __str__(self):
        return self.period

    @property
    def period(self):
        return f"{time_text(self.start).rsplit(' ', 1)[0]} to {time_text(self.end)}"

    def clean(self):
        super().clean()
        if self.start is None or self.end is None or timezone.is_naive(self.start) or timezone.is_naive(self.end):
            return  # the field validators report these
        if self.end <= self.start:
            raise ValidationError({"end": "The end must be after the start."})
        if self.end - self.start > LONGEST_INTERVAL:
            raise ValidationError({"end": "An interval reading covers a day at most; enter longer periods as bills."})
        meter = related_or_none(self, "meter")
        if meter is not None:
            self.clean_unit(meter)
            # An overlapping interval starts at most LONGEST_INTERVAL earlier: a bounded
            # stretch of the (meter, start) index, not every earlier reading of the meter.
            nearby = IntervalReading.objects.filter(start__gt=self.start - LONGEST_INTERVAL, start__lt=self.end)
            self.clean_overlap(meter, nearby.filter(end__gt=self.start))


class BillReading(Reading):
    """Energy over a billing cycle, from its start date to its end date."""

    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="bill_readings", db_index=False)
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta(Reading.Meta):
        ordering = ["meter", "start_date"]
        constraints = [
            *Reading.Meta.constraints,
            models.UniqueConstraint(
                fields=["meter", "start_date"],
                name="bill_reading_unique_meter_start",
                violation_error_message="This meter already has a bill starting on this date.",
            ),
            models.CheckConstraint(
                condition=Q(end_date__gt=F("start_date")),
                name="bill_reading_end_after_start",
                violation_error_message="The end date must be after the start date.",
            ),
        ]
        indexes = [models.Index(fields=["meter", "ingested_at", "id"], name="bill_reading_ingested")]

    def __str__(self):
        return self.period

    @property
    def period(self):
        return f"{self.start_date:%Y-%m-%d} to {self.end_date:%Y-%m-%d}"

    def clean(self):
        super().clean()
        if self.start_date is None or self.end_date is None:
            return
        if self.end_date <= self.start_date:
            raise ValidationError({"end_date": "The end date must be after the start date."})
        meter = related_or_none(self, "meter")
        if meter is not None:
            self.clean_unit(meter)
            # Consecutive bills may share their boundary day.
            self.clean_overlap(
                meter, BillReading.objects.filter(start_date__lt=self.end_date, end_date__gt=self.start_date)
            )
