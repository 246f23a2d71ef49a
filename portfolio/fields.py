"""Model fields of the domain."""

from django import forms
from django.db import models

from portfolio.validators import timezone_names, validate_timezone


class TimeZoneField(models.CharField):
    """An IANA time zone name, checked against the tz database, chosen from a list in forms."""

    default_validators = [validate_timezone]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        # Always a list: the admin would otherwise put its text box on every CharField.
        choices = [("", "---------")] + [(name, name) for name in timezone_names()]
        kwargs["widget"] = forms.Select(choices=choices)
        return super().formfield(**kwargs)
