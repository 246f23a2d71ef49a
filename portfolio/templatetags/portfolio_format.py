"""Templates write times and quantities as the admin's Python code does (timefmt, quantities)."""

from django import template

from portfolio.quantities import quantity
from portfolio.timefmt import time_html

register = template.Library()


@register.filter
def when(moment, zone=None):
    """``{{ moment|when:farm.timezone }}``: '2026-03-08 02:15 MST' with the UTC time on hover."""
    return time_html(moment, zone or None)


@register.filter(name="quantity")
def quantity_filter(value, unit=""):
    """``{{ value|quantity:"kWh" }}``: '10,257.48 kWh'."""
    return quantity(value, unit)
