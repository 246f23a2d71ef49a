"""Energy assets registered with WattCarbon, and the events of demand-response assets."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from portfolio.choices import (
    ASSET_KINDS,
    KIND_FIELDS,
    KINDS_WITH_EVENTS,
    AssetKind,
    BuildingType,
    PreviousFuel,
    ReplacementType,
)
from portfolio.fields import TimeZoneField
from portfolio.models.constraints import choices_constraint
from portfolio.models.locations import Located
from portfolio.models.related import related_or_none
from portfolio.timefmt import time_text
from portfolio.validators import MAX_FLOAT, validate_aware, validate_finite

__all__ = ["Asset", "DemandResponseEvent"]

# A plausible year of construction, as WattCarbon would take it: from 1800 to next year (a
# building finished next January). The database holds a fixed outer bound; forms the exact one.
EARLIEST_YEAR_BUILT = 1800
LATEST_YEAR_BUILT = 2100


def latest_year_built():
    return timezone.now().year + 1


def asset_kind_words(asset):
    """An asset's kind in words ('directly measured solar'); an unknown code as stored."""
    return AssetKind(asset.kind).label.lower() if asset.kind in AssetKind.values else asset.kind


def _is_empty(value):
    return value is None or value == ""


class Asset(Located):
    """An energy asset as WattCarbon registers it.

    Which of the kind-specific fields a kind requires is the table ``choices.ASSET_KINDS``.
    That rule is checked by ``clean()`` and not by the database: it is the programme's rule
    and may change, and an asset saved under an older rule must stay readable so the sync
    can report it instead of failing on it.
    """

    portfolio = models.ForeignKey("portfolio.Portfolio", on_delete=models.PROTECT, related_name="assets")
    name = models.CharField(max_length=200)
    custom_id = models.CharField(
        "custom ID", max_length=100, help_text="Your own ID for the site; unique within the portfolio."
    )
    kind = models.CharField(max_length=40, choices=AssetKind.choices)
    timezone = TimeZoneField(help_text="IANA time zone of the site; demand-response event times are written in it.")
    utility = models.CharField(max_length=200, blank=True)
    meters = models.ManyToManyField("portfolio.Meter", blank=True, related_name="assets")
    commenced_operation_date = models.DateField(null=True, blank=True)
    farm = models.ForeignKey(
        "portfolio.Farm",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assets",
        help_text="The farm this asset is, if it is one of ours.",
    )

    # Solar.
    nameplate_capacity_kw = models.FloatField(
        "nameplate capacity (kW)", null=True, blank=True, validators=[validate_finite, MinValueValidator(0.001)]
    )
    inverter_data_id = models.CharField("inverter data ID", max_length=100, blank=True)
    inverter_data_source = models.CharField(max_length=100, blank=True, help_text="For example enphase.")
    external_registry_name = models.CharField(max_length=100, blank=True, help_text="For example GATS.")
    external_registry_asset_id = models.CharField("external registry asset ID", max_length=100, blank=True)

    # Building electrification.
    area_sqft = models.PositiveIntegerField("area (sq ft)", null=True, blank=True, validators=[MinValueValidator(1)])
    previous_fuel = models.CharField(max_length=32, choices=PreviousFuel.choices, blank=True)
    building_type = models.CharField(max_length=32, choices=BuildingType.choices, blank=True)
    replacement_type = models.CharField(max_length=32, choices=ReplacementType.choices, blank=True)
    year_built = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(
                EARLIEST_YEAR_BUILT, "%(show_value)s is before %(limit_value)s: give a year from %(limit_value)s on."
            ),
            MaxValueValidator(latest_year_built, "%(show_value)s is after %(limit_value)s: next year is the latest."),
        ],
    )
    number_of_stories = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(200)]
    )

    class Meta(Located.Meta):
        ordering = ["portfolio", "custom_id"]
        constraints = [
            *Located.Meta.constraints,
            models.UniqueConstraint(
                fields=["portfolio", "custom_id"],
                name="asset_custom_id_unique_in_portfolio",
                violation_error_message="This portfolio already has an asset with this custom ID.",
            ),
            models.CheckConstraint(condition=~Q(custom_id=""), name="asset_custom_id_not_blank"),
            choices_constraint("kind", AssetKind, "asset_kind_known"),
            models.CheckConstraint(
                condition=Q(nameplate_capacity_kw__gt=0, nameplate_capacity_kw__lte=MAX_FLOAT)
                | Q(nameplate_capacity_kw__isnull=True),
                name="asset_nameplate_capacity_positive",
            ),
            models.CheckConstraint(
                condition=Q(area_sqft__gt=0) | Q(area_sqft__isnull=True), name="asset_area_positive"
            ),
            models.CheckConstraint(
                condition=Q(year_built__gte=EARLIEST_YEAR_BUILT, year_built__lte=LATEST_YEAR_BUILT)
                | Q(year_built__isnull=True),
                name="asset_year_built_range",
            ),
            models.CheckConstraint(
                condition=Q(number_of_stories__gte=1) | Q(number_of_stories__isnull=True),
                name="asset_stories_positive",
            ),
        ]

    def __str__(self):
        return f"{self.custom_id} · {self.name}"

    @property
    def kind_spec(self):
        return ASSET_KINDS[AssetKind(self.kind)]

    def kind_errors(self):
        """Field -> message for every kind rule this asset breaks (empty when it is complete)."""
        if self.kind not in AssetKind.values:
            return {}
        spec = self.kind_spec
        label = AssetKind(self.kind).label
        errors = {}
        for field in spec.required:
            if _is_empty(getattr(self, field)):
                errors[field] = f"Required for {label.lower()} assets."
        for field in KIND_FIELDS:
            if field not in spec.fields and not _is_empty(getattr(self, field)):
                errors[field] = f"Not a field of {label.lower()} assets; clear it or change the kind."
        if self.kind == AssetKind.SOLAR and bool(self.external_registry_name) != bool(self.external_registry_asset_id):
            missing = "external_registry_asset_id" if self.external_registry_name else "external_registry_name"
            errors.setdefault(missing, "Give the external registry's name and the asset's ID in it together.")
        return errors

    def clean(self):
        super().clean()
        errors = self.kind_errors()
        farm = related_or_none(self, "farm")
        if farm is not None and self.portfolio_id and farm.portfolio_id != self.portfolio_id:
            errors["farm"] = "This farm belongs to another portfolio."
        if self.pk and self.kind not in KINDS_WITH_EVENTS and self.events.exists():
            errors["kind"] = (
                f"This asset has demand-response events, which {AssetKind(self.kind).label.lower()} assets "
                "cannot have; delete them first."
            )
        if errors:
            raise ValidationError(errors)

    def clean_meters(self, meters):
        """Check meters about to be linked (many-to-many links are not there at clean() time)."""
        foreign = [str(meter) for meter in meters if meter.portfolio_id != self.portfolio_id]
        if foreign:
            raise ValidationError(
                {"meters": f"These meters belong to another portfolio: {', '.join(sorted(foreign))}."}
            )


class DemandResponseEvent(models.Model):
    """A demand-response event of a ``demand_response_eemetered`` asset."""

    asset = models.ForeignKey(
        Asset,
        on_delete=models.CASCADE,
        related_name="events",
        limit_choices_to={"kind__in": KINDS_WITH_EVENTS},
    )
    start = models.DateTimeField(validators=[validate_aware])
    end = models.DateTimeField(validators=[validate_aware])

    class Meta:
        ordering = ["asset", "start"]
        verbose_name = "demand-response event"
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "start"],
                name="event_unique_asset_start",
                violation_error_message="This asset already has an event starting at this time.",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="event_end_after_start",
                violation_error_message="The end must be after the start.",
            ),
        ]

    def __str__(self):
        # In the asset's own zone, as the event is sent to WattCarbon.
        zone = self.asset.timezone if self.asset_id else None
        return f"{time_text(self.start, zone).rsplit(' ', 1)[0]} to {time_text(self.end, zone)}"

    @property
    def duration(self):
        return self.end - self.start

    def clean(self):
        super().clean()
        asset = related_or_none(self, "asset")
        if asset is not None and asset.kind not in KINDS_WITH_EVENTS:
            kinds = ", ".join(AssetKind(kind).label.lower() for kind in KINDS_WITH_EVENTS)
            raise ValidationError(
                {"asset": f"Only {kinds} assets have demand-response events; this one is {asset_kind_words(asset)}."}
            )
        if self.start is None or self.end is None or timezone.is_naive(self.start) or timezone.is_naive(self.end):
            return  # the field validators report these
        if self.end <= self.start:
            raise ValidationError({"end": "The end must be after the start."})
        if asset is not None and asset.pk is not None:
            clash = asset.events.filter(start__lt=self.end, end__gt=self.start).exclude(pk=self.pk).first()
            if clash is not None:
                raise ValidationError(f"This event overlaps the event {clash} of the same asset.", code="overlap")
