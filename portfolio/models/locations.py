"""Where a thing is: coordinates for farms, and the full WattCarbon location for meters and assets."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from portfolio.validators import LATITUDE_VALIDATORS, LONGITUDE_VALIDATORS

__all__ = ["Located", "coordinate_constraints", "validate_coordinates"]

ADDRESS_PARTS = ("street", "city", "state", "postal_code", "country")
# WattCarbon takes an address object only whole: every part, or the one-line address instead.
REQUIRED_ADDRESS_PARTS = ADDRESS_PARTS
ADDRESS_PART_LABELS = {
    "street": "street",
    "city": "city",
    "state": "state",
    "postal_code": "postal code",
    "country": "country",
}


def coordinate_constraints(prefix):
    """Database checks for an optional latitude/longitude pair: both or neither, in range."""
    return [
        models.CheckConstraint(
            condition=Q(latitude__isnull=True, longitude__isnull=True)
            | Q(latitude__isnull=False, longitude__isnull=False),
            name=f"{prefix}_coordinates_paired",
            violation_error_message="Give both latitude and longitude, or neither.",
        ),
        models.CheckConstraint(
            condition=Q(latitude__gte=-90, latitude__lte=90) | Q(latitude__isnull=True),
            name=f"{prefix}_latitude_range",
        ),
        models.CheckConstraint(
            condition=Q(longitude__gte=-180, longitude__lte=180) | Q(longitude__isnull=True),
            name=f"{prefix}_longitude_range",
        ),
    ]


def complete_address():
    """Every address part filled in (a database condition)."""
    condition = Q()
    for part in ADDRESS_PARTS:
        condition &= ~Q(**{part: ""})
    return condition


def validate_coordinates(instance):
    """Both latitude and longitude, or neither (the message names the missing one)."""
    if (instance.latitude is None) != (instance.longitude is None):
        missing = "longitude" if instance.longitude is None else "latitude"
        raise ValidationError({missing: "Give both latitude and longitude, or neither."})


class Located(models.Model):
    """A location as WattCarbon takes it: an address in parts, a one-line address, or coordinates.

    At least one of the three must be complete. The WattCarbon payload picks the first
    complete one in that order.
    """

    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True, help_text="State, province or region.")
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=64, blank=True, help_text="For example US.")
    address = models.CharField(
        "one-line address",
        max_length=300,
        blank=True,
        help_text="For example 60 Greene St Riverside IA, when the address is not given in parts.",
    )
    latitude = models.FloatField(null=True, blank=True, validators=LATITUDE_VALIDATORS)
    longitude = models.FloatField(null=True, blank=True, validators=LONGITUDE_VALIDATORS)

    class Meta:
        abstract = True
        constraints = [
            *coordinate_constraints("%(app_label)s_%(class)s"),
            models.CheckConstraint(
                condition=~Q(address="") | complete_address() | Q(latitude__isnull=False),
                name="%(app_label)s_%(class)s_location_given",
                violation_error_message="Give a location: an address in parts, a one-line address, or coordinates.",
            ),
        ]

    @property
    def has_address_parts(self):
        return all(getattr(self, part) for part in REQUIRED_ADDRESS_PARTS)

    @property
    def has_coordinates(self):
        return self.latitude is not None and self.longitude is not None

    @property
    def location_summary(self):
        if self.has_address_parts:
            return ", ".join(getattr(self, part) for part in ADDRESS_PARTS if getattr(self, part))
        if self.address:
            return self.address
        if self.has_coordinates:
            return f"{self.latitude:.5f}, {self.longitude:.5f}"
        return ""

    def clean_location(self):
        errors = {}
        if any(getattr(self, part) for part in ADDRESS_PARTS):
            missing = [part for part in REQUIRED_ADDRESS_PARTS if not getattr(self, part)]
            for part in missing:
                errors[part] = (
                    f"An address in parts needs all five parts (street, city, state, postal code and "
                    f"country); the {ADDRESS_PART_LABELS[part]} is missing. Or clear the parts and give "
                    f"a one-line address or coordinates."
                )
        try:
            validate_coordinates(self)
        except ValidationError as exc:
            errors.update(exc.error_dict)
        if not errors and not (self.has_address_parts or self.address or self.has_coordinates):
            errors["address"] = "Give a location: an address in parts, a one-line address, or latitude and longitude."
        if errors:
            raise ValidationError(errors)

    def clean(self):
        super().clean()
        self.clean_location()
