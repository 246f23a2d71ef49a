"""Model fields of the domain."""

from django import forms
from django.db import models
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

from portfolio.validators import timezone_names, validate_timezone


class LongSelect(forms.Select):
    """A select of hundreds of options, written in Python: Django renders each option through a
    template include, and the ~600 time zones took 0.2-0.3 s of a farm's change page. The same
    HTML as Django's select.html, whitespace aside."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        groups = []
        for group_name, options, _index in widget["optgroups"]:
            rendered = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                ((str(option["value"]), flatatt(option["attrs"]), option["label"]) for option in options),
            )
            groups.append(
                format_html('<optgroup label="{}">{}</optgroup>', group_name, rendered) if group_name else rendered
            )
        return format_html(
            '<select name="{}"{}>{}</select>',
            widget["name"],
            flatatt(widget["attrs"]),
            format_html_join("", "{}", ((g,) for g in groups)),
        )


class TimeZoneField(models.CharField):
    """An IANA time zone name, checked against the tz database, chosen from a list in forms."""

    default_validators = [validate_timezone]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        # Always a list: the admin would otherwise put its text box on every CharField.
        choices = [("", "---------")] + [(name, name) for name in timezone_names()]
        kwargs["widget"] = LongSelect(choices=choices)
        return super().formfield(**kwargs)
