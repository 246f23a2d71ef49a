"""The one error type of the readings import: what is wrong, and where in the file."""

from dataclasses import dataclass

UNKNOWN_SENSORS_LISTED = 200  # unknown sensors named in a summary; the errors file has every row


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: its line (1 = the header), the column, and why, in words."""

    line: int | None
    column: str | None
    message: str

    def __str__(self):
        where = ", ".join(part for part in (self.line and f"line {self.line}", self.column) if part)
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self):
        return {"line": self.line, "column": self.column, "message": self.message}


class ReadingsFileError(Exception):
    """The file cannot be imported; nothing was committed.

    ``problems`` lists what is wrong (the first ones, up to a limit); ``problem_count``
    counts all of them. ``unknown_sensor_rows`` counts the rows that name a sensor that does
    not exist, and ``unknown_sensors`` names the first of those sensors.
    """

    def __init__(self, problems, problem_count=None, *, rows_read=0, unknown_sensor_rows=0, unknown_sensors=()):
        self.problems = list(problems)
        self.problem_count = problem_count if problem_count is not None else len(self.problems)
        self.rows_read = rows_read
        self.unknown_sensor_rows = unknown_sensor_rows
        self.unknown_sensors = list(unknown_sensors)
        super().__init__(self.summary())

    def summary(self):
        unknown = unknown_sensors_summary(self.unknown_sensor_rows, self.unknown_sensors)
        unknown = f"\n{unknown}" if unknown else ""
        if self.problem_count == 1:
            return str(self.problems[0]) + unknown
        shown = "\n".join(f"  {problem}" for problem in self.problems)
        more = self.problem_count - len(self.problems)
        tail = f"\n  ... and {more} more" if more > 0 else ""
        return f"{self.problem_count} problems; nothing was imported:\n{shown}{tail}{unknown}"


def unknown_sensors_summary(rows, labels):
    """'3 rows name a farm, equipment or sensor that does not exist: F-1/INV-1/S-9, ...', or ''.

    ``labels`` are the first UNKNOWN_SENSORS_LISTED unknown sensors (farm/equipment/sensor).
    """
    if not rows:
        return ""
    which = f"; the first {len(labels)}" if len(labels) >= UNKNOWN_SENSORS_LISTED else ""
    plural = "s name" if rows != 1 else " names"
    return f"{rows:,} row{plural} a farm, equipment or sensor that does not exist{which}: {', '.join(labels)}"


class InvalidRow(ReadingsFileError):
    """Raised by the row parsers for one bad row; the importer collects these."""

    def __init__(self, message, column=None, line=None):
        super().__init__([Problem(line, column, message)])

    def summary(self):
        return str(self.problems[0])

    @property
    def problem(self):
        return self.problems[0]


class UnknownSensor(InvalidRow):
    """A long-format row names a farm, equipment or sensor that does not exist (yet)."""
