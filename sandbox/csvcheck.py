"""A strict check of the Raptor Maps CSV (contracts.md section 1.4), reading the file as a stream.

``check_csv_file(path)`` checks a file on disk; ``check_csv(stream)`` any binary stream, such as an
upload's body while it arrives. Memory stays small whatever the file's size: the check keeps the
distinct farm/equipment/sensor descriptions it has seen and the latest observation time of each
sensor, not the rows.

Duplicates: a sensor whose observation times only ever increase down the file cannot repeat
one. Only when a sensor's times go backwards is the file read a second time to find the repeated
rows of that sensor.

Stricter than a plain reading of the columns, as the seed's tables are: every sensor type is at
a 15-minute interval, so an ``observation_time`` is the start of a quarter hour with zero seconds;
a farm is one farm, so one ``farm_id`` keeps one ``farm_name`` down the file; and a file carries
at least one row under its header.

Numbers (decision): an optional minus, digits, an optional fraction and an optional exponent
(``repr(0.00001)`` is ``1e-05``, so the generator's own output may carry one), and finite. No
plus sign, no ``.5`` or ``5.``, no spaces, thousands separators, underscores, NaN or infinity.
"""

import csv
import itertools
import math
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from functools import cache

# Written out from the contract, not imported from the app (portfolio.ingest.formats): the sandbox
# checks what the app sends, so it must not share the app's mistakes.
HEADERS = (
    "farm_id",
    "farm_name",
    "timezone",
    "commissioning date",
    "farm_latitude",
    "farm_longitude",
    "equipment_id",
    "equipment_name",
    "equipment_type",
    "sensor_id",
    "sensor_name",
    "sensor_type",
    "observation_time",
    "measured_value",
)
(
    FARM_ID,
    FARM_NAME,
    TIMEZONE,
    COMMISSIONING_DATE,
    FARM_LATITUDE,
    FARM_LONGITUDE,
    EQUIPMENT_ID,
    EQUIPMENT_NAME,
    EQUIPMENT_TYPE,
    SENSOR_ID,
    SENSOR_NAME,
    SENSOR_TYPE,
    OBSERVATION_TIME,
    MEASURED_VALUE,
) = range(len(HEADERS))
# Required columns that describe the farm, equipment and sensor (the time and value are checked per row).
REQUIRED_DESCRIPTION = (FARM_ID, FARM_NAME, EQUIPMENT_ID, EQUIPMENT_NAME, SENSOR_TYPE)

# The seed's "Sensor Type By Equipment" table, written out here (the project has its own copy in
# portfolio.choices; the two are kept apart on purpose). Lower-case equipment spellings are assumed.
EQUIPMENT_TYPES = ("inverter", "combiner", "meter", "weather_station")
ELECTRICAL = ("inverter", "combiner")
# sensor type -> the equipment types that may carry it, in the seed's order.
SENSOR_EQUIPMENT = {
    "dc_voltage": ELECTRICAL,
    "dc_current_amp": ELECTRICAL,
    "ac_power": ELECTRICAL,
    "dc_power": ELECTRICAL,
    "production_meter_energy": ("meter",),
    "production_meter_power": ("meter",),
    "irradiance_poa": ("weather_station",),
    "irradiance_ghi": ("weather_station",),
}
# Every sensor type is at a 15-minute interval (the seed's table): a row's observation_time is the
# start of a quarter hour, seconds zero.
INTERVAL_MINUTES = 15

MAX_PROBLEMS = 20
READ_SIZE = 1 << 20
BOM = b"\xef\xbb\xbf"
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
STRAY_CARRIAGE_RETURN = "a carriage return (\\r) inside the line: lines must end with \\n or \\r\\n"
# Caches of values already checked, emptied when they grow past this (they are only caches).
CACHE_LIMIT = 10_000
# Farms whose name is remembered for the one-farm-one-name check (a real file has a handful).
FARM_LIMIT = 100_000


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    column: int | None = None  # 1-based, as a spreadsheet counts

    def __str__(self):
        if self.column is None:
            return f"line {self.line}: {self.message}"
        return f"line {self.line}, column {self.column} ({HEADERS[self.column - 1]}): {self.message}"


@dataclass(frozen=True)
class CsvReport:
    rows: int  # data rows, not counting the header
    problems: tuple  # the first MAX_PROBLEMS problems, by line
    problem_count: int  # all of them

    @property
    def valid(self):
        return self.problem_count == 0

    def messages(self):
        return [str(problem) for problem in self.problems]


def check_csv_file(path, max_problems=MAX_PROBLEMS):
    """Check a CSV file on disk against the contract."""
    with open(path, "rb") as stream:
        return check_csv(stream, path, max_problems=max_problems)


def check_csv(stream, path, max_problems=MAX_PROBLEMS):
    """Check a binary stream to its end; ``path`` holds the same bytes, for the duplicates pass."""
    check = _Check(max_problems)
    check.read(stream)
    if check.unordered_series:
        with open(path, "rb") as again:
            check.find_duplicates(again)
    return check.report()


@cache
def time_zones():
    return frozenset(zoneinfo.available_timezones())


def is_timestamp(text):
    if not TIMESTAMP.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:  # the right shape, but no such day or time (2024-02-30, 25:00:00)
        return False
    return True


class _Check:
    def __init__(self, max_problems):
        self.max_problems = max_problems
        self.problems = []
        self.problem_count = 0
        self.rows = 0
        self.unordered_series = set()
        self._descriptions = {}  # the first 12 fields of a row -> its series key
        self._latest = {}  # series key -> latest observation_time so far
        self._good_times = set()
        self._farm_names = {}  # farm_id -> (farm_name, the line it was first seen on)

    def problem(self, line, message, column=None):
        self.problem_count += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(Problem(line, message, column))

    def report(self):
        problems = sorted(self.problems, key=lambda problem: (problem.line, problem.column or 0))
        return CsvReport(self.rows, tuple(problems), self.problem_count)

    # --- reading ----------------------------------------------------------------------------------

    def lines(self, stream, first_pass=True):
        """The stream's lines as text, split on \\n only (csv sees the \\r of \\r\\n and accepts it).

        Each piece is one physical line, so the csv reader's line_num counts physical lines.
        """
        carry = b""
        lines_before = 0
        chunk = stream.read(READ_SIZE)
        if chunk.startswith(BOM):
            if first_pass:
                self.problem(1, "starts with a byte order mark (BOM); the file must be UTF-8 without one")
            chunk = chunk[len(BOM) :]
        while chunk:
            data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n") + 1
            if cut:
                block, carry = data[:cut], data[cut:]
                pieces = self._decode(block, lines_before, first_pass).split("\n")
                pieces.pop()  # the empty string after the last \n
                lines_before += len(pieces)
                yield from pieces
            else:
                carry = data
            chunk = stream.read(READ_SIZE)
        if carry:  # a last line without a line end
            yield self._decode(carry, lines_before, first_pass)

    def _decode(self, block, lines_before, first_pass):
        try:
            return block.decode("utf-8")
        except UnicodeDecodeError as error:
            if first_pass:
                line = lines_before + block.count(b"\n", 0, error.start) + 1
                offset = error.start - (block.rfind(b"\n", 0, error.start) + 1) + 1
                bad = block[error.start]
                self.problem(line, f"not valid UTF-8 (byte 0x{bad:02x} at byte {offset} of the line)")
            return block.decode("utf-8", errors="replace")

    def read(self, stream):
        lines = self.lines(stream)
        header = next(lines, None)
        if header is None:
            self.problem(1, "the file is empty; expected the header row")
            return
        header, line_number = self._parse(header, lines, 1)
        if header is not None and self._check_header(header):
            self._check_rows(lines, line_number)
            if not self.rows:
                self.problem(line_number, "the header row only: a file carries at least one row of readings")
        else:  # columns would be misread: count the rows, check nothing more
            self._count_rows(lines)

    def _parse(self, first_line, lines, line_number):
        """One record with the csv module, reading more lines when a quoted field holds line ends.

        Returns (fields or None when it is not valid CSV, the number of the record's last line).
        """
        reader = csv.reader(itertools.chain((first_line,), lines), strict=True)
        try:
            fields = next(reader)
        except csv.Error as error:
            self.problem(line_number, f"not valid CSV: {error}")
            fields = None
        return fields, line_number + reader.line_num - 1

    def _check_header(self, header):
        if tuple(header) == HEADERS:
            return True
        for index, (expected, found) in enumerate(zip(HEADERS, header, strict=False)):
            if expected != found:
                self.problem(1, f'expected the header "{expected}", found "{found}"', index + 1)
                return False
        self.problem(1, f"expected {len(HEADERS)} headers ({','.join(HEADERS)}), found {len(header)}")
        return False

    def _count_rows(self, lines):
        reader = csv.reader(lines)
        while True:
            try:
                for _ in reader:
                    self.rows += 1
                return
            except csv.Error:  # only counting here
                continue

    def _check_rows(self, lines, line_number):
        """Check every data row. The hot loop: a 1 GB upload is millions of rows.

        A line without quotes, NUL or carriage returns (but the one of \\r\\n) is split on commas, which is what the
        csv module would make of it, only faster; other lines go through the csv module. The first
        twelve fields (farm, equipment, sensor) repeat from row to row, so each distinct
        combination is checked once and remembered.
        """
        descriptions = self._descriptions
        observe = self._observe
        rows = 0
        for line in lines:
            line_number += 1
            rows += 1
            text = line[:-1] if line.endswith("\r") else line
            if "\r" in text and '"' not in text:
                self.problem(line_number, STRAY_CARRIAGE_RETURN)
                continue
            if '"' in text or "\x00" in text or "\r" in text:
                start = line_number
                fields, line_number = self._parse(line, lines, line_number)
                if fields is not None:
                    self._check_fields(fields, start)
                continue
            parts = text.rsplit(",", 2)
            if len(parts) != 3:
                self._field_count_problem(text.split(",") if text else [], line_number)
                continue
            prefix, time, value = parts
            series = descriptions.get(prefix)
            if series is None:
                description = prefix.split(",")
                if len(description) != OBSERVATION_TIME:
                    self._field_count_problem(parts, line_number, len(description) + 2)
                    continue
                series = self._check_description(description, line_number, key=prefix)
            observe(series, time, value, line_number)
        self.rows = rows

    def _check_fields(self, fields, line_number):
        """The checks of one row the csv module parsed."""
        if len(fields) != len(HEADERS):
            self._field_count_problem(fields, line_number)
            return
        description = fields[:OBSERVATION_TIME]
        key = tuple(description)
        series = self._descriptions.get(key) or self._check_description(description, line_number, key=key)
        self._observe(series, fields[OBSERVATION_TIME], fields[MEASURED_VALUE], line_number)

    def _field_count_problem(self, fields, line_number, count=None):
        count = len(fields) if count is None else count
        self.problem(line_number, f"expected {len(HEADERS)} fields, found {count}" if count else "blank line")

    def _observe(self, series, time, value, line_number):
        """Check a row's time and value, and follow the order of each sensor's times."""
        if time not in self._good_times and not self._check_time(time, line_number):
            time = None
        if not NUMBER.fullmatch(value) or (("e" in value or "E" in value) and not _finite(value)):
            self._number_problem(value, line_number, MEASURED_VALUE)
        if time is not None:
            last = self._latest.get(series)
            if last is None or time > last:
                self._latest[series] = time
            else:
                self.unordered_series.add(series)

    # --- checks -----------------------------------------------------------------------------------

    def _check_description(self, description, line, key):
        """Check the farm, equipment and sensor columns once per distinct combination (``key``)."""
        for index in REQUIRED_DESCRIPTION:
            if not description[index].strip():
                self.problem(line, "required, but empty", index + 1)
        zone = description[TIMEZONE]
        if zone and zone not in time_zones():
            self.problem(line, f'"{zone}" is not an IANA time zone name', TIMEZONE + 1)
        commissioned = description[COMMISSIONING_DATE]
        if commissioned and not is_timestamp(commissioned):
            self.problem(line, _timestamp_message(commissioned), COMMISSIONING_DATE + 1)
        self._check_coordinate(description[FARM_LATITUDE], 90, line, FARM_LATITUDE)
        self._check_coordinate(description[FARM_LONGITUDE], 180, line, FARM_LONGITUDE)
        self._check_types(description[EQUIPMENT_TYPE], description[SENSOR_TYPE], line)
        self._check_farm_name(description[FARM_ID], description[FARM_NAME], line)
        series = (description[FARM_ID], description[EQUIPMENT_ID], description[SENSOR_ID] or description[SENSOR_TYPE])
        if len(self._descriptions) >= CACHE_LIMIT:
            self._descriptions.clear()
        self._descriptions[key] = series
        return series

    def _check_farm_name(self, farm_id, farm_name, line):
        """One farm, one name: every row of a farm_id carries the farm_name of its first row."""
        if not farm_id.strip() or not farm_name.strip() or "\ufffd" in farm_name:
            return  # reported as required, or as bytes that are not UTF-8
        first = self._farm_names.get(farm_id)
        if first is None:
            if len(self._farm_names) < FARM_LIMIT:
                self._farm_names[farm_id] = (farm_name, line)
        elif first[0] != farm_name:
            self.problem(
                line, f'farm {farm_id} is named "{first[0]}" on line {first[1]}, "{farm_name}" here', FARM_NAME + 1
            )

    def _check_coordinate(self, text, limit, line, index):
        if not text:
            return
        if not NUMBER.fullmatch(text) or not _finite(text):
            self._number_problem(text, line, index)
        elif not -limit <= float(text) <= limit:
            self.problem(line, f'"{text}" is out of range (-{limit} to {limit})', index + 1)

    def _check_types(self, equipment_type, sensor_type, line):
        if equipment_type and equipment_type not in EQUIPMENT_TYPES:
            allowed = ", ".join(EQUIPMENT_TYPES)
            self.problem(line, f'"{equipment_type}" is not an equipment type ({allowed})', EQUIPMENT_TYPE + 1)
            equipment_type = ""
        if not sensor_type:
            return  # reported as required
        carriers = SENSOR_EQUIPMENT.get(sensor_type)
        if carriers is None:
            allowed = ", ".join(SENSOR_EQUIPMENT)
            self.problem(line, f'"{sensor_type}" is not a sensor type ({allowed})', SENSOR_TYPE + 1)
        elif equipment_type and equipment_type not in carriers:
            allowed = ", ".join(name for name, types in SENSOR_EQUIPMENT.items() if equipment_type in types)
            self.problem(
                line,
                f'sensor type "{sensor_type}" is not allowed on equipment type "{equipment_type}" (allowed: {allowed})',
                SENSOR_TYPE + 1,
            )

    def _check_time(self, time, line):
        if not time.strip():
            self.problem(line, "required, but empty", OBSERVATION_TIME + 1)
            return False
        if not is_timestamp(time):
            self.problem(line, _timestamp_message(time), OBSERVATION_TIME + 1)
            return False
        minute, second = int(time[14:16]), int(time[17:19])
        if minute % INTERVAL_MINUTES or second:
            self.problem(
                line,
                f'"{time}" is not the start of a {INTERVAL_MINUTES}-minute interval (:00, :15, :30 or :45, seconds 00)',
                OBSERVATION_TIME + 1,
            )
            return False
        if len(self._good_times) >= CACHE_LIMIT:
            self._good_times.clear()
        self._good_times.add(time)
        return True

    def _number_problem(self, text, line, index):
        if not text.strip():
            self.problem(line, "required, but empty", index + 1)
        elif NUMBER.fullmatch(text):
            self.problem(line, f'"{text}" is not a finite number', index + 1)
        else:
            self.problem(line, f'"{text}" is not a plain decimal number', index + 1)

    # --- the duplicates pass ------------------------------------------------------------------------

    def find_duplicates(self, stream):
        """Read the file again for the sensors whose times went backwards; report repeated times."""
        reader = csv.reader(self.lines(stream, first_pass=False), strict=True)
        first_seen = {}
        line_before = 0
        while True:
            try:
                for row in reader:
                    line = line_before + 1
                    line_before = reader.line_num
                    if line == 1 or len(row) != len(HEADERS):
                        continue
                    series = (row[FARM_ID], row[EQUIPMENT_ID], row[SENSOR_ID] or row[SENSOR_TYPE])
                    if series not in self.unordered_series:
                        continue
                    first = first_seen.setdefault((series, row[OBSERVATION_TIME]), line)
                    if first != line:
                        self.problem(
                            line,
                            f"duplicate row: farm {series[0]}, equipment {series[1]}, sensor {series[2]} "
                            f"at {row[OBSERVATION_TIME]} is on line {first} already",
                            OBSERVATION_TIME + 1,
                        )
                return
            except csv.Error:  # reported by the first pass
                line_before = reader.line_num


def _finite(text):
    return math.isfinite(float(text))


def _timestamp_message(text):
    return f'"{text}" is not a date and time as YYYY-MM-DD HH:MM:SS'
