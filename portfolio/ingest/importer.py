"""Import one file of readings: read, check, stage, then commit all of it or none of it."""

from dataclasses import dataclass, field
from pathlib import Path

from portfolio.ingest.errors import Problem

TIME_BASES = ("local", "utc")


@dataclass(frozen=True)
class Progress:
    """Where an import is, for a progress bar or the admin page."""

    phase: str  # "reading", "writing" or "done"
    rows_read: int
    bytes_read: int
    bytes_total: int | None


@dataclass
class ImportResult:
    file_format: str  # "Raptor Maps CSV" or "long format"
    rows_read: int = 0
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_skipped: int = 0  # invalid rows left out with skip_invalid, written to errors_path
    problems: list[Problem] = field(default_factory=list)  # the first of the skipped rows' problems
    problem_count: int = 0
    errors_path: Path | None = None
    farms_created: int = 0
    equipment_created: int = 0
    sensors_created: int = 0
    catalog_updated: int = 0  # farms and equipment whose names or details the file changed
    seconds: float = 0.0


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
    raise NotImplementedError
