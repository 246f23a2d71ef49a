"""How one cell becomes a value and back: strict, with messages a person can act on.

django-import-export's stock widgets are lenient where a spreadsheet should not be: they read
"1,234.5" by the server's locale, anything unknown as False, and naive times in UTC. These
read exactly one spelling of each value, say what is wrong in words, and export values in
the same spelling so that an exported file imports unchanged. A widget raises ValueError
with the message; the resource files it under the cell's column.
"""

import math
import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_date, parse_datetime
from import_export.widgets import ForeignKeyWidget, ManyToManyWidget, Widget

from portfolio.resources.files import ExportedDate, ExportedTime

REQUIRED = "This column is required; the cell is empty."

# A plain decimal number: what Excel writes in a CSV file, and what a person types.
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
TRUE_WORDS = {"true", "yes", "y", "1"}
FALSE_WORDS = {"false", "no", "n", "0"}
EXAMPLE_TIME = "2024-06-01T14:00:00-04:00"


def is_blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value):
    """A cell as text: XLSX numbers that are whole (an ID typed as 17) lose the '.0'."""
    if type(value) is str:  # most cells: the quick way first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


class TextWidget(Widget):
    """Text, surrounding spaces removed."""

    def __init__(self, coerce_to_string=True, allow_blank=True):
        super().__init__(coerce_to_string=coerce_to_string)

    def clean(self, value, row=None, **kwargs):
        return cell_text(value)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class NumberWidget(Widget):
    """A finite decimal number: 1234.5, -73.92, 1e-3. No thousands separators, no NaN or inf."""

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number.")
        if isinstance(value, int | float):
            number, text = float(value), repr(value)
        else:
            text = str(value).strip()
            if text.lower() in NOT_FINITE:
                raise ValueError(f"{text!r} is not a finite number; enter a number or leave the cell empty.")
            if not NUMBER.fullmatch(text):
                if re.fullmatch(r"[+-]?[\d.,]+", text) and "," in text:
                    raise ValueError(
                        f"{text!r} is not a number: write it without thousands separators and with a decimal "
                        f"point, for example {text.replace(',', '')!r}."
                        if "." in text
                        else f"{text!r} is not a number: write it without separators and with a decimal point, "
                        "for example 1234.5."
                    )
                raise ValueError(f"{text!r} is not a number.")
            number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"{text} is not a finite number; enter a number or leave the cell empty.")
        return number

    def render(self, value, obj=None, **kwargs):
        # A native number, so the file writers never mistake -73.9 for a formula.
        return "" if value is None else value


class WholeNumberWidget(NumberWidget):
    def clean(self, value, row=None, **kwargs):
        number = super().clean(value, row, **kwargs)
        if number is None:
            return None
        if not number.is_integer():
            raise ValueError(f"{cell_text(value)!r} is not a whole number.")
        return int(number)


class YesNoWidget(Widget):
    """TRUE/FALSE as Excel writes them; also yes/no and 1/0."""

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        if isinstance(value, bool):
            return value
        text = cell_text(value)
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise ValueError(f"{text!r} is not yes or no; write TRUE or FALSE.")

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else bool(value)


class ChoiceWidget(Widget):
    """One value of a domain enumeration; the message lists the allowed values."""

    def __init__(self, choices, noun, **kwargs):
        super().__init__()
        self.values = [str(value) for value, _label in choices]
        self.noun = noun
        self._by_folded = {value.casefold(): value for value in self.values}

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return ""
        text = cell_text(value)
        known = self._by_folded.get(text.casefold())
        if known is None:
            raise ValueError(f"{text!r} is not {self.noun}; allowed: {', '.join(self.values)}.")
        return known

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class DateWidget(Widget):
    """A date as YYYY-MM-DD (or an Excel date cell)."""

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        if isinstance(value, datetime):
            if value.time() != time(0):
                raise ValueError(f"{value.isoformat()!r} is a date and time; enter the date only.")
            return value.date()
        if isinstance(value, date):
            return value
        text = cell_text(value)
        try:
            parsed = parse_date(text)
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValueError(f"{text!r} is not a date; write it as YYYY-MM-DD, for example 2024-06-30.")
        return parsed

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else ExportedDate(value)


def localize(naive, zone):
    """A naive wall-clock time in ``zone``, refused when the clocks make it missing or ambiguous."""
    earlier, later = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return earlier
    shown = naive.isoformat(sep=" ")
    if earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(f"{shown!r} does not exist in {zone.key} (the clocks go forward then); check the time.")
    offsets = " or ".join(moment.isoformat()[-6:] for moment in (earlier, later))
    raise ValueError(f"{shown!r} happens twice in {zone.key} (the clocks go back then); add the UTC offset, {offsets}.")


class SiteTimeWidget(Widget):
    """A date and time: ISO 8601 with a UTC offset, or without one in the site's time zone.

    The resource passes ``site_zone``: a callable returning (zone name or None, why there is
    none), asked only when a time has no offset. Exported in the site's zone, with its offset.
    """

    def clean(self, value, row=None, site_zone=None, **kwargs):
        if is_blank(value):
            return None
        if isinstance(value, datetime):
            moment, text = value, value.isoformat(sep=" ")
        elif isinstance(value, date):
            raise ValueError(f"{value.isoformat()!r} is a date without a time; write for example {EXAMPLE_TIME}.")
        else:
            text = cell_text(value)
            try:
                moment = parse_datetime(text)
            except ValueError:
                moment = None
            if moment is None:
                raise ValueError(f"{text!r} is not a date and time; write ISO 8601, for example {EXAMPLE_TIME}.")
        if moment.utcoffset() is not None:
            return moment
        zone, why_none = site_zone() if site_zone else (None, "there is no site time zone")
        if zone is None:
            raise ValueError(f"{text!r} has no UTC offset and {why_none}; add the offset, for example {EXAMPLE_TIME}.")
        return localize(moment, ZoneInfo(zone))

    def render(self, value, obj=None, site_zone=None, **kwargs):
        if value is None:
            return ""
        return ExportedTime(value, ZoneInfo(site_zone) if site_zone else None)


class RelatedByKey(ForeignKeyWidget):
    """A related object found by its natural key, which may span several columns of the row.

    ``columns`` maps lookups on the related model to the row's columns, for example
    ``{"portfolio__slug": "portfolio", "name": "meter"}``; ``field`` is what this column shows
    on export; ``missing`` is the message when nothing matches, formatted with the row's cells.
    Lookups are cached for the import: the objects referred to are not what the file changes.
    """

    def __init__(self, model, columns, *, field, missing, required=True):
        super().__init__(model, field=field)
        self.columns = columns
        self.missing = missing
        self.required = required
        self._found = {}

    def clean(self, value, row=None, **kwargs):
        cells = {lookup: cell_text((row or {}).get(column)) for lookup, column in self.columns.items()}
        if not any(cells.values()):
            if self.required:
                raise ValueError(REQUIRED)
            return None
        empty = [column for lookup, column in self.columns.items() if not cells[lookup]]
        if empty:
            raise ValueError(f"Give {' and '.join(self.columns.values())} together; {', '.join(empty)} is empty.")
        key = tuple(cells.values())
        if key not in self._found:
            self._found[key] = self.model._default_manager.filter(**cells).first()
        if self._found[key] is None:
            raise ValueError(self.missing.format(**{column: cells[lookup] for lookup, column in self.columns.items()}))
        return self._found[key]


class MetersByName(ManyToManyWidget):
    """Meters of the row's portfolio, by name, separated by semicolons: "Office gas; Warehouse"."""

    separator = ";"

    def __init__(self, model, portfolio_column="portfolio", **kwargs):
        super().__init__(model, separator=self.separator, field="name")
        self.portfolio_column = portfolio_column

    def clean(self, value, row=None, **kwargs):
        names = list(dict.fromkeys(name.strip() for name in cell_text(value).split(self.separator) if name.strip()))
        if not names:
            return []
        slug = cell_text((row or {}).get(self.portfolio_column))
        meters = self.model._default_manager.filter(portfolio__slug=slug, name__in=names)
        found = {meter.name: meter for meter in meters}
        unknown = [name for name in names if name not in found]
        if unknown:
            listed = ", ".join(repr(name) for name in unknown)
            raise ValueError(f"Portfolio {slug!r} has no meter named {listed}.")
        return [found[name] for name in names]

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return f"{self.separator} ".join(sorted(meter.name for meter in value.all()))
