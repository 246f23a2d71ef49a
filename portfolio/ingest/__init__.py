"""The fast path for large files of readings (Raptor Maps CSV and the long format).

``import_readings`` is the entry point for the command, the admin page's worker and tests.
"""

from portfolio.ingest.errors import InvalidRow, Problem, ReadingsFileError
from portfolio.ingest.importer import ImportResult, Progress, import_readings

__all__ = ["ImportResult", "InvalidRow", "Problem", "Progress", "ReadingsFileError", "import_readings"]
