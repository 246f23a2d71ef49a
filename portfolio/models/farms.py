"""Solar farms, their equipment, the sensors on it and the readings those sensors produce."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portfolio.choices import SENSOR_TYPES, EquipmentType, SensorType, sensor_types_for
from portfolio.fields import TimeZoneField
from portfolio.models.constraints import choices_constraint
from portfolio.models.locations import coordinate_constraints, validate_coordinates
from portfolio.models.related import related_or_none
from portfolio.text import with_article
from portfolio.timefmt import time_text
from portfolio.validators import (
    LATITUDE_VALIDATORS,
    LONGITUDE_VALIDATORS,
    MAX_FLOAT,
    validate_aware,
    validate_finite,
    validate_positive,
)

__all__ = ["Equipment", "Farm", "Observation", "Sensor"]


def _a(equipment_type):
    """'an inverter', 'a weather station/pyranometer': for messages."""
    return with_article(EquipmentType(equipment_type).label.lower())


class Farm(models.Model):
    portfolio = models.ForeignKey("portfolio.Portfolio", on_delete=models.PROTECT, related_name="farms")
    farm_id = models.CharField(
        "farm ID", max_length=100, unique=True, help_text="The farm's external ID, as written in the Raptor Maps CSV."
    )
    name = models.CharField(max_length=200)
    timezone = TimeZoneField(help_text="IANA time zone of the site, for example America/New_York.")
    commissioned_at = models.DateTimeField("commissioning date and time", null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True, validators=LATITUDE_VALIDATORS)
    longitude = models.FloatField(null=True, blank=True, validators=LONGITUDE_VALIDATORS)
    dc_capacity_kw = models.FloatField(
        "DC capacity (kW)", null=True, blank=True, validators=[validate_finite, validate_positive]
    )
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["farm_id"]
        constraints = [
            models.CheckConstraint(condition=~Q(farm_id=""), name="farm_id_not_blank"),
            models.CheckConstraint(
                condition=Q(dc_capacity_kw__gt=0, dc_capacity_kw__lte=MAX_FLOAT) | Q(dc_capacity_kw__isnull=True),
                name="farm_dc_capacity_positive",
                violation_error_message="The DC capacity must be a positive number of kW.",
            ),
            *coordinate_constraints("farm"),
        ]

    def __str__(self):
        return f"{self.farm_id} · {self.name}"

    def clean(self):
        super().clean()
        validate_coordinates(self)


class EquipmentManager(models.Manager):
    def get_queryset(self):
        # str() names the farm; every list and select of equipment needs it.
        return super().get_queryset().select_related("farm")


class Equipment(models.Model):
    farm = models.ForeignKey(Farm, on_delete=models.CASCADE, related_name="equipment")
    equipment_id = models.CharField("equipment ID", max_length=100, help_text="Unique within the farm.")
    name = models.CharField(max_length=200)
    equipment_type = models.CharField(max_length=32, choices=EquipmentType.choices)
    manufacturer = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    serial_number = models.CharField(max_length=100, blank=True)

    objects = EquipmentManager()

    class Meta:
        ordering = ["farm", "equipment_id"]
        verbose_name_plural = "equipment"
        constraints = [
            models.UniqueConstraint(
                fields=["farm", "equipment_id"],
                name="equipment_id_unique_in_farm",
                violation_error_message="This farm already has equipment with this equipment ID.",
            ),
            models.CheckConstraint(condition=~Q(equipment_id=""), name="equipment_id_not_blank"),
            choices_constraint("equipment_type", EquipmentType, "equipment_type_known"),
        ]

    def __str__(self):
        return f"{self.farm.farm_id}/{self.equipment_id} · {self.name}"

    def clean(self):
        super().clean()
        if self.pk is None or self.equipment_type not in EquipmentType.values:
            return
        # Changing the type must not strand sensors the new type may not have.
        allowed = sensor_types_for(self.equipment_type)
        stranded = sorted(set(self.sensors.exclude(sensor_type__in=allowed).values_list("sensor_type", flat=True)))
        if stranded:
            raise ValidationError(
                {
                    "equipment_type": ValidationError(
                        "This equipment has sensors of types %(stranded)s, which %(equipment)s may not have; "
                        "change or remove those sensors first.",
                        code="sensors_stranded",
                        params={"stranded": ", ".join(stranded), "equipment": _a(self.equipment_type)},
                    )
                }
            )


def sensor_type_error(sensor_type, equipment_type):
    """The ValidationError for a sensor type the contract does not allow on this equipment type, else None."""
    allowed = sensor_types_for(equipment_type)
    if sensor_type in allowed or equipment_type not in EquipmentType.values:
        return None
    # str(): an enum member (SensorType.X, as code assigns it) would show its repr, not its value.
    return ValidationError(
        "%(sensor_type)r is not a sensor type of %(equipment)s; allowed: %(allowed)s.",
        code="sensor_type_not_allowed",
        params={"sensor_type": str(sensor_type), "equipment": _a(equipment_type), "allowed": ", ".join(allowed)},
    )


class SensorManager(models.Manager):
    def get_queryset(self):
        # str() is the sensor's path (farm/equipment/sensor); every list and select needs it.
        return super().get_queryset().select_related("equipment__farm")


class Sensor(models.Model):
    """A sensor on a piece of equipment.

    Unit, interval and aggregation follow from the sensor type (``choices.SENSOR_TYPES``).
    A sensor without a ``sensor_id`` is known by its equipment and type, so there is at
    most one such sensor per type on a piece of equipment.
    """

    equipment = models.ForeignKey(Equipment, on_delete=models.CASCADE, related_name="sensors")
    sensor_id = models.CharField(
        "sensor ID", max_length=100, blank=True, help_text="Optional; unique within the equipment when given."
    )
    name = models.CharField(max_length=200, blank=True)
    sensor_type = models.CharField(max_length=32, choices=SensorType.choices)

    objects = SensorManager()

    class Meta:
        ordering = ["equipment", "sensor_type", "sensor_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["equipment", "sensor_id"],
                condition=~Q(sensor_id=""),
                name="sensor_id_unique_in_equipment",
                violation_error_message="This equipment already has a sensor with this sensor ID.",
            ),
            models.UniqueConstraint(
                fields=["equipment", "sensor_type"],
                condition=Q(sensor_id=""),
                name="one_unnamed_sensor_per_type",
                violation_error_message=(
                    "This equipment already has a sensor of this type without a sensor ID; give this one a sensor ID."
                ),
            ),
            choices_constraint("sensor_type", SensorType, "sensor_type_known"),
        ]

    def __str__(self):
        return f"{self.equipment.farm.farm_id}/{self.equipment.equipment_id}/{self.sensor_id or self.sensor_type}"

    @property
    def spec(self):
        return SENSOR_TYPES[SensorType(self.sensor_type)]

    @property
    def unit(self):
        return self.spec.unit

    @property
    def aggregation(self):
        return self.spec.aggregation

    def clean(self):
        super().clean()
        equipment = related_or_none(self, "equipment")
        if equipment is None or self.sensor_type not in SensorType.values:
            return  # the field validators report these
        error = sensor_type_error(self.sensor_type, equipment.equipment_type)
        if error:
            raise ValidationError({"sensor_type": error})


class Observation(models.Model):
    """One reading of one sensor at one time.

    The big table. Keys are chosen for its two questions (README, "The observation
    table"): "these sensors in this time range" is the unique (sensor, observed_at) index,
    "everything ingested since X" is the index on ingested_at (BRIN on PostgreSQL, migration 0011).
    The foreign key needs no index of its own: the unique index leads with it. It has no database
    constraint either: checking it row by row was a quarter of an import's time, so the import
    checks and locks the file's sensors once instead (ingest/staging.py); deleting a sensor
    through Django deletes its readings first (on_delete=CASCADE is Django's, not the database's).
    """

    sensor = models.ForeignKey(
        Sensor, on_delete=models.CASCADE, related_name="observations", db_index=False, db_constraint=False
    )
    observed_at = models.DateTimeField(validators=[validate_aware])
    value = models.FloatField(validators=[validate_finite])
    ingested_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sensor", "observed_at"],
                name="observation_unique_sensor_time",
                violation_error_message="This sensor already has a value at this time.",
            ),
            models.CheckConstraint(
                condition=Q(value__gte=-MAX_FLOAT, value__lte=MAX_FLOAT),
                name="observation_value_finite",
                violation_error_message="The value must be a finite number.",
            ),
        ]
        indexes = [models.Index(fields=["ingested_at"], name="observation_ingested_at")]

    def __str__(self):
        return f"{time_text(self.observed_at, precision='seconds')} = {self.value:g}"
