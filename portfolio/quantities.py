"""How a quantity is written for people: ``10,257.48 kWh``, grouped, rounded and with its unit."""

from django.template.defaultfilters import filesizeformat

__all__ = ["UNIT_SYMBOLS", "byte_size", "count", "quantity", "unit_symbol"]

# Units as the contracts spell them, as people read them.
UNIT_SYMBOLS = {"W/m^2": "W/m²", "degC": "°C", "C": "°C"}


def unit_symbol(unit):
    return UNIT_SYMBOLS.get(unit, unit or "")


def quantity(value, unit="", places=2):
    """'10,257.48 kWh': thousands grouped, ``places`` decimals, the unit after a space; '-' for None."""
    if value is None or value == "":
        return "-"
    text = f"{value:,.{places}f}"
    if text.startswith("-") and not text.strip("-0.,"):  # -0.00 reads as a mistake
        text = text[1:]
    symbol = unit_symbol(unit)
    return f"{text} {symbol}" if symbol else text


def count(value, noun="", singular=None):
    """'12,345 rows', '1 row': a whole number, grouped; ``noun`` is the plural, and for one
    ``singular`` or the plural without its s."""
    if noun and value == 1:
        noun = singular or noun.removesuffix("s")
    return quantity(value, noun, places=0)


def byte_size(value):
    """'1.5 MB': a size in bytes, in the unit that reads best; '-' for None."""
    return filesizeformat(value) if value is not None else "-"
