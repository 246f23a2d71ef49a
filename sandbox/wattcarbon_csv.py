"""Strict checks of the three CSV files WattCarbon takes (contracts.md 2.2 and 2.4), read as streams.

- meter intervals: ``start_datetime,energy_kwh``; the start is ISO 8601 with a UTC offset;
- meter bills: ``start_date,end_date,energy_kwh``; dates ``YYYY-MM-DD``, the end after the start;
- demand-response events: ``Event Start Time,Event End Time``; ``YYYY-MM-DD HH:MM:SS±HH:MM``.

The sandbox's own copy of the rules, written from the contract, not shared with the app. Each
reader takes a binary file and a ``Problems`` and yields the good rows; a problem names its line
and column the way the API's errors do (``loc: ["file", "line 3", "start_datetime"]``). The
caller stores nothing when any problem was found. Rows are read lazily, so a big file never sits
whole in memory.

Decisions where the contract says nothing:

- UTF-8, no byte order mark; RFC 4180 quoting (``csv`` in strict mode); no blank lines.
- Energy: an optional minus, digits, an optional fraction and exponent (``repr`` of a float);
  finite. No plus sign, ``.5``, spaces, thousands separators, NaN or infinity. Negative values
  are allowed (extra consumption is negative).
- Interval starts: anything ``datetime.fromisoformat`` reads that carries an offset (``Z`` too);
  the same instant twice in one file is refused, however it is spelled.
- Bills: the same start date twice in one file is refused. DR events: only the shape and order
  of each event are checked (events may overlap).
"""

import contextlib
import csv
import io
import math
import re
from datetime import date, datetime

from sandbox.series import instant, instant_iso

MAX_PROBLEMS = 20
INTERVAL_HEADER = ("start_datetime", "energy_kwh")
BILL_HEADER = ("start_date", "end_date", "energy_kwh")
EVENT_HEADER = ("Event Start Time", "Event End Time")
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
EVENT_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}")
LOCAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
BOM = "\ufeff"


class Problems:
    """The problems of one file: the first MAX_PROBLEMS kept, all counted."""

    def __init__(self, max_problems=MAX_PROBLEMS):
        self.max_problems = max_problems
        self.count = 0
        self._kept = []

    def __bool__(self):
        return self.count > 0

    def add(self, line, column, message, kind):
        """A problem on ``line`` (None: the file as a whole) in ``column`` (None: the whole line)."""
        self.count += 1
        if len(self._kept) < self.max_problems:
            loc = ["file"] + ([] if line is None else [f"line {line}"]) + ([] if column is None else [column])
            self._kept.append({"loc": loc, "msg": message, "type": kind})

    def detail(self):
        """The API's error detail: a list of ``{loc, msg, type}``, and a last entry for those left out."""
        detail = list(self._kept)
        if self.count > len(self._kept):
            more = self.count - len(self._kept)
            detail.append({"loc": ["file"], "msg": f"{more} more problem(s) not listed", "type": "too_many_errors"})
        return detail


def data_rows(file, header, problems):
    """(line, fields) for each data row of the right width; problems of shape go to ``problems``.

    A wrong header stops the reading: the columns cannot be trusted.
    """
    text = io.TextIOWrapper(file, encoding="utf-8", newline="")
    reader = csv.reader(text, strict=True)
    width = len(header)
    rows = 0
    try:
        first = next(reader, None)
        if first is None:
            problems.add(None, None, f"the file is empty: it needs the header {','.join(header)}", "csv_empty")
            return
        if first and first[0].startswith(BOM):
            problems.add(1, None, "the file starts with a byte order mark (BOM): send UTF-8 without one", "csv_header")
            return
        if tuple(first) != header:
            problems.add(1, None, f"the header must be exactly {','.join(header)}, not {','.join(first)}", "csv_header")
            return
        for fields in reader:
            rows += 1
            if len(fields) == width:
                yield reader.line_num, fields
            elif not fields:
                problems.add(reader.line_num, None, "a blank line", "csv_row")
            else:
                problems.add(
                    reader.line_num,
                    None,
                    f"{len(fields)} field(s), expected {width} ({','.join(header)})",
                    "csv_row",
                )
    except csv.Error as error:
        problems.add(reader.line_num, None, f"not valid CSV: {error}", "csv_syntax")
        return
    except UnicodeDecodeError:
        # Decoded a block at a time: the line is where the reading had got to, not exact.
        problems.add(None, None, f"the file is not UTF-8 text (near line {reader.line_num + 1})", "csv_encoding")
        return
    finally:
        with contextlib.suppress(ValueError):
            text.detach()  # the caller closes the file
    if rows == 0:
        problems.add(None, None, f"the file has the header {','.join(header)} but no rows", "csv_empty")


def interval_rows(file, problems):
    """(start instant, kwh) for each good row of an intervals file."""
    seen = {}  # start instant -> line
    for line, (start_text, energy_text) in data_rows(file, INTERVAL_HEADER, problems):
        start = _start_instant(start_text, line, problems)
        energy = _energy(energy_text, line, problems)
        if start is None:
            continue
        if start in seen:
            problems.add(
                line,
                "start_datetime",
                f"{start_text} is the start of line {seen[start]} already ({instant_iso(start)}): "
                "each interval once per file",
                "duplicate",
            )
            continue
        seen[start] = line
        if energy is not None and not problems:
            yield start, energy


def bill_rows(file, problems):
    """(start date, end date, kwh) for each good row of a bills file, dates as YYYY-MM-DD."""
    seen = {}  # start date -> line
    for line, (start_text, end_text, energy_text) in data_rows(file, BILL_HEADER, problems):
        start = _date(start_text, line, "start_date", problems)
        end = _date(end_text, line, "end_date", problems)
        energy = _energy(energy_text, line, problems)
        if start is not None and end is not None and end <= start:
            problems.add(line, "end_date", f"{end_text} is not after start_date {start_text}", "value_error")
            continue
        if start is None:
            continue
        if start in seen:
            problems.add(line, "start_date", f"{start_text} starts line {seen[start]} already", "duplicate")
            continue
        seen[start] = line
        if end is not None and energy is not None and not problems:
            yield start_text, end_text, energy


def event_rows(file, problems):
    """[(start, end), ...] of a demand-response events file, the times as written (at least one event)."""
    events = []
    for line, (start_text, end_text) in data_rows(file, EVENT_HEADER, problems):
        start = _event_time(start_text, line, "Event Start Time", problems)
        end = _event_time(end_text, line, "Event End Time", problems)
        if start is not None and end is not None:
            if end <= start:
                problems.add(line, "Event End Time", f"{end_text} is not after {start_text}", "value_error")
            else:
                events.append((start_text, end_text))
    return events


# --- one value each: the parsed value, or None after adding a problem -------------------------------------


def _start_instant(text, line, problems):
    if not text:
        problems.add(line, "start_datetime", "empty: a start is required", "missing")
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.add(
            line,
            "start_datetime",
            f"{text!r} is not an ISO 8601 date and time (e.g. 2024-01-01T00:00:00+00:00)",
            "datetime_parsing",
        )
        return None
    if moment.tzinfo is None:
        problems.add(
            line,
            "start_datetime",
            f"{text!r} has no UTC offset: write e.g. 2024-01-01T00:00:00+00:00",
            "timezone_aware",
        )
        return None
    return instant(moment)


def _energy(text, line, problems):
    if not text:
        problems.add(line, "energy_kwh", "empty: energy is required", "missing")
        return None
    if not NUMBER.fullmatch(text):
        problems.add(line, "energy_kwh", f"{text!r} is not a decimal number", "float_parsing")
        return None
    value = float(text)
    if not math.isfinite(value):
        problems.add(line, "energy_kwh", f"{text!r} is not a finite number", "finite_number")
        return None
    return value


def _date(text, line, column, problems):
    if not text:
        problems.add(line, column, "empty: a date is required", "missing")
        return None
    if DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    problems.add(line, column, f"{text!r} is not a date YYYY-MM-DD", "date_parsing")
    return None


def _event_time(text, line, column, problems):
    if not text:
        problems.add(line, column, "empty: a time is required", "missing")
        return None
    if EVENT_TIME.fullmatch(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    elif LOCAL_TIME.fullmatch(text):
        problems.add(
            line, column, f"{text!r} has no UTC offset: write e.g. 2021-01-01 17:00:00-05:00", "timezone_aware"
        )
        return None
    example = "2021-01-01 17:00:00-05:00"
    problems.add(line, column, f"{text!r} is not a time YYYY-MM-DD HH:MM:SS±HH:MM (e.g. {example})", "datetime_parsing")
    return None
