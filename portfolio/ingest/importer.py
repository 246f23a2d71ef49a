"""Import one file of readings: read, check, stage, then commit all of it or none of it."""

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.utils import timezone

from portfolio.console import Step
from portfolio.ingest import formats
from portfolio.ingest.catalog import Catalog
from portfolio.ingest.errors import UNKNOWN_SENSORS_LISTED, InvalidRow, Problem, ReadingsFileError, UnknownSensor
from portfolio.ingest.parsing import parse_datetime, parse_float, to_utc
from portfolio.ingest.records import BadLine, Records
from portfolio.ingest.retry import atomic_with_retries
from portfolio.ingest.source import TextSource, refuse
from portfolio.ingest.staging import RepeatedKeys, SensorsDeleted, stage_for_connection
from portfolio.quantities import count
from portfolio.resources.files import escape_formula

TIME_BASES = ("local", "utc")
MAX_PROBLEMS = 100  # listed; the rest are counted
PROGRESS_EVERY_ROWS = 10_000
PROGRESS_SECONDS = 0.5
TIME_CACHE_SIZE = 200_000  # distinct (time text, zone) pairs kept; a file repeats each time per sensor
# Refused sets of catalog columns remembered, so their next rows are refused without a second look;
# past this many (a file naming hundreds of thousands of unknown sensors) memory stays flat instead.
MAX_REMEMBERED_REFUSALS = 10_000


@dataclass(frozen=True)
class Progress:
    """Where an import is, for a progress bar or the admin page."""

    phase: str  # "reading", "writing" or "done"
    rows_read: int
    bytes_read: int
    bytes_total: int | None

    def as_step(self):
        """For a console: reading is measured in bytes of the file and told in rows; the rest in rows read."""
        if self.phase == "reading":
            rows = count(self.rows_read, "rows")
            return Step(self.phase, self.bytes_read, self.bytes_total, figures=(rows,), rate=(self.rows_read, "rows"))
        return Step(self.phase, figures=(f"{self.rows_read:,} rows read",))


@dataclass
class ImportResult:
    file_format: str  # "Raptor Maps CSV" or "long format"
    rows_read: int = 0
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    # Repeats of a sensor and instant already in the file with the same value (an identical line
    # twice, or a local hour that repeats when daylight saving ends): stored once, counted here.
    rows_merged: int = 0
    rows_skipped: int = 0  # invalid rows left out with skip_invalid, written to errors_path
    problems: list[Problem] = field(default_factory=list)  # the first of the skipped rows' problems
    problem_count: int = 0
    errors_path: Path | None = None
    farms_created: int = 0
    equipment_created: int = 0
    sensors_created: int = 0
    catalog_updated: int = 0  # farms and equipment whose names or details the file changed
    unknown_sensor_rows: int = 0  # rows (long format) naming a farm, equipment or sensor that does not exist
    unknown_sensors: list[str] = field(default_factory=list)  # the first UNKNOWN_SENSORS_LISTED of them
    seconds: float = 0.0
    retries: int = 0  # times the write was redone after losing a lock to another import (IMPORT_DEADLOCK_RETRIES)


def import_readings(
    path,
    *,
    portfolio=None,
    time_basis="local",
    skip_invalid=False,
    errors_path=None,
    progress=None,
):
    """Import the readings in the CSV file at ``path`` and return an ``ImportResult``.

    - ``portfolio``: where farms that a Raptor Maps file introduces are created; may be None
      when the database holds exactly one portfolio.
    - ``time_basis``: how times without an offset are read: ``"local"`` (the farm's time
      zone) or ``"utc"``.
    - ``skip_invalid``: load the good rows and write the rejected ones, with the reason, to
      ``errors_path`` (default: ``<input stem>.errors.csv`` next to the input). Without it,
      any invalid row refuses the whole file.
    - ``progress``: called with a ``Progress`` now and then (at most a few times a second).

    Raises ``ReadingsFileError`` (nothing committed) for a file that cannot be imported.
    """
    if time_basis not in TIME_BASES:
        raise ValueError(f"time_basis must be one of {TIME_BASES}, not {time_basis!r}")
    path = Path(path)
    if errors_path is None:
        errors_path = path.with_name(f"{path.stem}.errors.csv")
    started = time.monotonic()
    with TextSource(path) as source:
        run = _Run(source, Catalog(portfolio=portfolio, time_basis=time_basis), skip_invalid, errors_path, progress)
        try:
            result = run.execute()
        finally:
            run.close_errors()
    result.seconds = time.monotonic() - started
    return result


class _Refused(NamedTuple):
    """What a row's catalog columns got instead of a sensor: the problem, and the unknown sensor's label."""

    problem: Problem
    unknown: str | None


class _Run:
    """One import: the reading loop, the problems found, and the commit."""

    def __init__(self, source, catalog, skip_invalid, errors_path, progress):
        self.source = source
        self.catalog = catalog
        self.skip_invalid = skip_invalid
        self.errors_path = Path(errors_path)
        self.progress = progress
        self.problems = []
        self.problem_count = 0
        self.rows_read = 0
        self.unknown_sensor_rows = 0
        self.unknown_sensors = {}  # label -> None: the first UNKNOWN_SENSORS_LISTED, in file order
        self._errors_file = None
        self._errors_writer = None
        self._last_phase, self._last_report = None, 0.0

    # --- problems ----------------------------------------------------------------------------

    def reject(self, line, problem_or_error, row):
        problem = problem_or_error if isinstance(problem_or_error, Problem) else problem_or_error.problem
        problem = Problem(line, problem.column, problem.message)
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        if self.skip_invalid:
            self._write_error(problem, row)

    def _write_error(self, problem, row):
        if self._errors_writer is None:
            self._errors_file = open(self.errors_path, "w", newline="", encoding="utf-8")  # noqa: SIM115
            self._errors_writer = csv.writer(self._errors_file)
            self._errors_writer.writerow(["line", "column", "error", *self.file_format.headers])
        # Escaped: whoever opens this file in a spreadsheet must not run a formula from the input.
        cells = [problem.line, problem.column or "", problem.message, *row]
        self._errors_writer.writerow([escape_formula(cell) for cell in cells])

    def note_unknown(self, label):
        self.unknown_sensor_rows += 1
        if len(self.unknown_sensors) < UNKNOWN_SENSORS_LISTED:
            self.unknown_sensors.setdefault(label)

    def close_errors(self):
        if self._errors_file is not None:
            self._errors_file.close()

    def refusal(self):
        return ReadingsFileError(
            self.problems,
            self.problem_count,
            rows_read=self.rows_read,
            unknown_sensor_rows=self.unknown_sensor_rows,
            unknown_sensors=list(self.unknown_sensors),
        )

    def report(self, phase):
        if self.progress is None:
            return
        now = time.monotonic()
        if phase == self._last_phase and now - self._last_report < PROGRESS_SECONDS:
            return
        self._last_phase, self._last_report = phase, now
        self.progress(Progress(phase, self.rows_read, self.source.bytes_read, self.source.size))

    # --- reading -----------------------------------------------------------------------------

    def execute(self):
        records = Records(self.source.text, self.source.encoding)
        rows = iter(records)
        _, header = next(rows, (1, None))
        if isinstance(header, BadLine):
            raise refuse(f"The header row cannot be read: {header.message}")
        if not header or not any(cell.strip() for cell in header):
            raise refuse("The file has no header row: the first line is blank.")
        self.file_format = formats.detect_format(header)
        records.width = len(self.file_format.headers)
        with stage_for_connection() as stage:
            self.report("reading")
            self.read_rows(rows, stage)
            if not self.rows_read:
                raise ReadingsFileError([Problem(None, None, "The file has a header row but no readings.")])
            if self.problem_count and not self.skip_invalid:
                raise self.refusal()
            self.report("writing")
            result = self.commit(stage)
        self.report("done")
        return result

    def read_rows(self, rows, stage):
        """Check and stage each row of ``rows`` (from ``Records``); reject the rest with their reason."""
        catalog = self.catalog
        raptor = self.file_format.is_raptor
        by_type = self.file_format is formats.LONG_BY_TYPE
        width = len(self.file_format.headers)
        time_column, value_column = (12, 13) if raptor else (3, 4)
        self.time_column = time_column
        time_name, value_name = self.file_format.headers[time_column], self.file_format.headers[value_column]
        refs = self._refs = {}  # the row's catalog columns -> SensorRef, or _Refused (MAX_REMEMBERED_REFUSALS)
        refusals_remembered = 0
        times = {}  # (time text, zone) -> UTC text for the staging table
        time_text = stage.time_text
        make_row = stage.make_row
        batch, batch_rows = [], stage.batch_rows
        keep = True  # after the first problem of a file that will be refused, staging stops
        next_report = PROGRESS_EVERY_ROWS
        for line, row in rows:
            self.rows_read += 1
            if self.rows_read >= next_report:
                next_report += PROGRESS_EVERY_ROWS
                self.report("reading")
            if row.__class__ is BadLine:  # not CSV text: reported with its line, and reading goes on
                self.reject(line, Problem(None, None, row.message), [])
                keep = self.skip_invalid
                continue
            if len(row) != width:
                if not row:  # a blank line
                    self.rows_read -= 1
                    continue
                hint = " (is the last line cut short?)" if len(row) < width else ""
                self.reject(line, Problem(None, None, f"{len(row)} columns, expected {width}{hint}"), row)
                continue
            key = tuple(row[:12]) if raptor else (row[0], row[1], row[2])
            sensor = refs.get(key)
            if sensor is None:
                try:
                    sensor = catalog.raptor_sensor(row, line) if raptor else catalog.long_sensor(*key, by_type)
                except UnknownSensor as error:
                    sensor = _Refused(error.problem, "/".join(part.strip() for part in key))
                except InvalidRow as error:
                    sensor = _Refused(error.problem, None)
                if sensor.__class__ is not _Refused:
                    refs[key] = sensor
                elif refusals_remembered < MAX_REMEMBERED_REFUSALS:
                    refusals_remembered += 1
                    refs[key] = sensor
            if sensor.__class__ is _Refused:  # a Problem, not the exception: that would keep its traceback
                self.reject(line, sensor.problem, row)
                if sensor.unknown is not None:
                    self.note_unknown(sensor.unknown)
                keep = self.skip_invalid
                continue
            try:
                text = row[time_column]
                observed_at = times.get((text, sensor.zone))
                if observed_at is None:
                    moment = parse_datetime(text, time_name)
                    observed_at = time_text(to_utc(moment, sensor.zone, time_name, text))
                    if len(times) >= TIME_CACHE_SIZE:
                        times.clear()
                    times[(text, sensor.zone)] = observed_at
                text = row[value_column]
                try:
                    value = float(text)
                except ValueError:
                    value = parse_float(text, value_name)  # raises with the reason
                if value - value != 0.0 or "_" in text:  # NaN, inf; float() also reads '1_000'
                    value = parse_float(text, value_name)
            except InvalidRow as error:
                self.reject(line, error, row)
                keep = self.skip_invalid
                continue
            if keep:
                batch.append(make_row(line, sensor.ref, observed_at, value, text))
                if len(batch) >= batch_rows:
                    stage.write(batch)
                    batch = []
        if keep:
            stage.write(batch)
        self.report("reading")

    # --- writing -----------------------------------------------------------------------------

    def check_conflicts(self, stage):
        """Keys given twice with different values: refuse, or leave them out (and list them)."""
        if self.skip_invalid:
            self._reject_conflicting_rows(stage)
            return
        total, conflicts = stage.conflicts(MAX_PROBLEMS)
        for conflict in conflicts:
            label = self.catalog.refs[conflict.sensor_ref].label
            first_line, first_value = conflict.lines[0], conflict.values[0]
            for line, value in zip(conflict.lines[1:], conflict.values[1:], strict=True):
                if value != first_value:
                    message = (
                        f"sensor {label} at {conflict.observed_at} is given twice: {value!r} here "
                        f"and {first_value!r} on line {first_line}"
                    )
                    self.reject(line, Problem(None, None, message), [])
                    break
        if total:
            self.problem_count += total - len(conflicts)
            raise self.refusal()

    def _reject_conflicting_rows(self, stage):
        """With skip_invalid: read the file again and write every row of a conflicting key to the errors file."""
        _, conflicts = stage.conflicts(None)
        keys = {(conflict.sensor_ref, conflict.staged_at): conflict for conflict in conflicts}
        time_column, width = self.time_column, len(self.file_format.headers)
        value_name = self.file_format.headers[time_column + 1]
        with TextSource(self.source.path) as source:
            records = Records(source.text, source.encoding)
            rows = iter(records)
            next(rows)
            records.width = width
            for line, row in rows:
                if row.__class__ is BadLine or len(row) != width:
                    continue
                sensor = self._refs.get(tuple(row[:12]) if self.file_format.is_raptor else tuple(row[:3]))
                if sensor is None or sensor.__class__ is _Refused:
                    continue
                try:
                    observed_at = self._time_text(row[time_column], sensor.zone, stage)
                    parse_float(row[time_column + 1], value_name)  # a bad value was rejected already
                except InvalidRow:
                    continue
                conflict = keys.get((sensor.ref, observed_at))
                if conflict is not None:
                    message = (
                        f"sensor {sensor.label} at {conflict.observed_at} is given more than once with "
                        "different values; none of them was imported"
                    )
                    self.reject(line, Problem(None, None, message), row)

    def _time_text(self, text, zone, stage):
        name = self.file_format.headers[self.time_column]
        return stage.time_text(to_utc(parse_datetime(text, name), zone, name, text))

    def commit(self, stage):
        result = ImportResult(self.file_format.name, rows_read=self.rows_read)
        distinct = stage.prepare(self.check_conflicts)
        now = timezone.now()

        def write():  # all of the import's writes: redone whole when another import wins a lock
            sensor_pks, counts = self.catalog.apply()
            return counts, *stage.upsert(sensor_pks, now)

        retries = 0
        while True:
            try:
                (counts, new, updated), lost_locks = atomic_with_retries(
                    write, what=f"The import of {self.source.path.name}"
                )
                break
            except RepeatedKeys:
                # A key staged twice (look for them now, once), or new keys another import wrote first.
                if stage.grouped and retries >= settings.IMPORT_DEADLOCK_RETRIES:
                    raise
                if stage.grouped:
                    retries += 1
                distinct = stage.prepare(self.check_conflicts, grouped=True)
            except SensorsDeleted as error:
                labels = [ref.label for ref in self.catalog.refs if ref.sensor.pk in error.sensor_pks]
                raise ReadingsFileError(
                    [
                        Problem(None, None, f"Sensor {label} was deleted while this file was imported.")
                        for label in labels
                    ],
                    rows_read=self.rows_read,
                ) from None
        result.retries = lost_locks + retries
        result.rows_new, result.rows_updated = new, updated
        result.rows_unchanged = distinct - new - updated
        result.rows_merged = self.rows_read - self.problem_count - distinct
        for name, number in counts.items():
            setattr(result, name, number)
        result.rows_skipped = self.problem_count
        result.problems = self.problems
        result.problem_count = self.problem_count
        result.errors_path = self.errors_path if self._errors_writer is not None else None
        result.unknown_sensor_rows = self.unknown_sensor_rows
        result.unknown_sensors = list(self.unknown_sensors)
        return result
