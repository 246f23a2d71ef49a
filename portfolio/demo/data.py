"""The demo's real public data (portfolio/demo_data/, see SOURCES.md there), read and re-dated.

The extracts are a few weeks long; the demo needs readings up to now. Each is laid end to end
over the calendar, anchored to fixed dates, so a moment always gets the same value whatever day
the demo is loaded (a reload adds readings, never changes one), and the hour of day is kept (the
weather's in local standard time, as in the files; the meter's, with the day of the week, in its
zone).
"""

import calendar
import csv
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "demo_data"

HOUR = timedelta(hours=1)
# Day 0 of every repetition of the weather, and hour 0 of the meter's weeks (a Monday).
WEATHER_EPOCH = date(2000, 1, 1)
METER_EPOCH = datetime(2000, 1, 3)


def _rows(name):
    with open(DATA_DIR / name, newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


@dataclass(frozen=True)
class Site:
    """A weather station's header, and its hours: (GHI, POA, air temperature) per hour from 00:00."""

    slug: str
    station: str
    name: str
    state: str
    utc_offset_hours: float
    latitude: float
    longitude: float
    time_zone: str
    hours: tuple

    @property
    def standard_time(self):
        return timezone(timedelta(hours=self.utc_offset_hours))

    def weather_at(self, moment):
        """(GHI, POA, air temperature) at ``moment``, interpolated between the hours' middles.

        Each hour's row is that hour's average, placed at its middle: at hh:30 local standard
        time the value is the file's own.
        """
        local = moment.astimezone(self.standard_time).replace(tzinfo=None)
        day = (local.date() - WEATHER_EPOCH).days % (len(self.hours) // 24)
        position = day * 24 + (local.hour * 3600 + local.minute * 60 + local.second) / 3600 - 0.5
        before = int(position // 1)
        share = position - before
        first, second = self.hours[before % len(self.hours)], self.hours[(before + 1) % len(self.hours)]
        return tuple(a + (b - a) * share for a, b in zip(first, second, strict=True))


@cache
def sites():
    """slug → Site, from weather-sites.json and each site's hourly file."""
    found = {}
    for header in json.loads((DATA_DIR / "weather-sites.json").read_text(encoding="utf-8")):
        hours = tuple((float(row["ghi"]), float(row["poa"]), float(row["temp_air"])) for row in _rows(header["file"]))
        found[header["slug"]] = Site(
            slug=header["slug"],
            station=header["station"],
            name=header["name"],
            state=header["state"],
            utc_offset_hours=header["utc_offset_hours"],
            latitude=header["latitude"],
            longitude=header["longitude"],
            time_zone=header["time_zone"],
            hours=hours,
        )
    return found


@dataclass(frozen=True)
class Inverter:
    """One row of the CEC inverter list: its make and model, its ratings in W and V."""

    manufacturer: str
    model: str
    ac_rating_w: float  # Paco
    dc_rating_w: float  # Pdco
    dc_voltage_v: float  # Vdco, the nominal DC voltage


@cache
def inverters():
    """The CEC list's name ("Manufacturer: Model") → Inverter."""
    found = {}
    for row in _rows("cec-inverters.csv"):
        manufacturer, model = row["Name"].split(": ", 1)
        found[row["Name"]] = Inverter(
            manufacturer.strip(), model.strip(), float(row["Paco"]), float(row["Pdco"]), float(row["Vdco"])
        )
    return found


@cache
def hourly_kwh():
    """The eemeter sample's hours, from a Monday 00:00, in kWh."""
    return tuple(float(row["kwh"]) for row in _rows("eemeter-hourly-electricity.csv"))


def kwh_in_hour(start, zone):
    """The sample's kWh for the hour starting at ``start``, the same hour of the week in ``zone``."""
    local = start.astimezone(zone).replace(tzinfo=None)
    hours = hourly_kwh()
    return hours[int((local - METER_EPOCH) / HOUR) % len(hours)]


def gas_bills(today, count=12):
    """The sample's monthly bills (start, end, therms) repeated year after year: the last
    ``count`` that end by ``today``.

    Whole years keep the seasons (the heating bills stay in winter), and the same bill always
    lands on the same dates, so a later load adds bills next to the earlier ones, never over them.
    """
    bills = [
        (date.fromisoformat(row["start_date"]), date.fromisoformat(row["end_date"]), float(row["therms"]))
        for row in _rows("eemeter-monthly-gas-bills.csv")
    ]
    years = today.year - bills[0][0].year
    laid = [
        (_months_on(start, 12 * shift), _months_on(end, 12 * shift), therms)
        for shift in (years - 2, years - 1, years)
        for start, end, therms in bills
    ]
    return [bill for bill in laid if bill[1] <= today][-count:]


def _months_on(day, months):
    """The same day of the month ``months`` later (or that month's last, for a 29 February)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
