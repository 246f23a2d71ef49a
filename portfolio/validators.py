"""Field validators shared by the domain models."""

import math
import sys
import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

# The largest finite float: a database CHECK "between -MAX and MAX" rejects inf and NaN.
MAX_FLOAT = sys.float_info.max

LATITUDE_VALIDATORS = [MinValueValidator(-90.0), MaxValueValidator(90.0)]
LONGITUDE_VALIDATORS = [MinValueValidator(-180.0), MaxValueValidator(180.0)]


@lru_cache(maxsize=1)
def timezone_names():
    """Every IANA time zone name this machine knows (tzdata), sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def validate_timezone(value):
    if value not in timezone_names():
        raise ValidationError(
            "%(value)r is not an IANA time zone name (for example America/New_York or Europe/Berlin).",
            code="invalid_timezone",
            params={"value": value},
        )


def validate_finite(value):
    if value is not None and not math.isfinite(value):
        raise ValidationError("%(value)s is not a finite number.", code="not_finite", params={"value": value})


def validate_positive(value):
    # Non-finite values are validate_finite's to report.
    if value is not None and math.isfinite(value) and not value > 0:
        raise ValidationError("Must be greater than zero.", code="not_positive")


def validate_aware(value):
    if value is not None and timezone.is_naive(value):
        raise ValidationError(
            "%(value)s has no time zone; give the UTC offset (for example 2024-06-01 12:00+02:00).",
            code="naive_datetime",
            params={"value": value},
        )
