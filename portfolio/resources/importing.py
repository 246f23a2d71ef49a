"""Import one spreadsheet file: the same steps and messages from the admin and the command line.

Read the file, match its columns, import every row in one transaction, and keep the rows
only when all of them are valid. Every import that is confirmed, and every file refused,
leaves an ``ImportRecord``; a dry run that finds nothing wrong (the admin's preview) does not.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from import_export.results import RowResult

from portfolio.models import ImportRecord
from portfolio.models.imports import MAX_PROBLEMS
from portfolio.resources.files import read_sheet
from portfolio.resources.problems import Problem, SpreadsheetError

__all__ = ["Outcome", "Upload", "import_spreadsheet"]

# How many changed rows the admin's preview lists.
MAX_PREVIEW_ROWS = 200


@dataclass
class Upload:
    """A file to import: its name, size and a way to read its bytes (only once the size is known to be fine)."""

    name: str
    size: int
    read: object  # () -> bytes

    @classmethod
    def from_bytes(cls, name, data):
        return cls(name, len(data), lambda: data)

    @classmethod
    def from_path(cls, path):
        path = Path(path)
        return cls(path.name, path.stat().st_size, path.read_bytes)

    @classmethod
    def from_uploaded_file(cls, uploaded):
        return cls(uploaded.name, uploaded.size, lambda: b"".join(uploaded.chunks()))


@dataclass
class Outcome:
    """What came of an import or a dry run."""

    target: str
    file_name: str
    dry_run: bool
    status: str = ""  # an ImportRecord status, or "previewed" for a dry run without problems
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_invalid: int = 0
    problems: list[Problem] = field(default_factory=list)
    message: str = ""
    changes: list = field(default_factory=list)  # (row, "new" or "update", diff cells) for the preview
    diff_headers: list = field(default_factory=list)
    data: bytes = b""
    record: ImportRecord | None = None

    @property
    def ok(self):
        return not self.problems

    @property
    def rows_read(self):
        return self.rows_new + self.rows_updated + self.rows_unchanged + self.rows_invalid


def import_spreadsheet(resource, upload, *, source, user=None, dry_run=False):
    """Import ``upload`` with ``resource`` (a SpreadsheetResource instance); return an Outcome.

    Nothing is committed unless every row is valid (and never on a dry run).
    """
    outcome = Outcome(target=resource.resource_name, file_name=upload.name, dry_run=dry_run)
    started_at = timezone.now()
    limit = settings.SPREADSHEET_UPLOAD_MAX_BYTES
    try:
        if upload.size > limit:
            raise SpreadsheetError.about_file(
                f"The file is {filesizeformat(upload.size)} ({upload.size:,} bytes); "
                f"the limit is {filesizeformat(limit)} ({limit:,} bytes). Split it into smaller files."
            )
        outcome.data = upload.read()
        sheet = read_sheet(outcome.data)
        resource.prepare(sheet)
        if not len(sheet):
            raise SpreadsheetError.about_file("The file has a header row but no rows to import.")
        result = resource.import_data(
            sheet,
            dry_run=dry_run,
            raise_errors=False,
            use_transactions=True,
            rollback_on_validation_errors=True,
            retain_instance_in_row_result=True,
            user=user,
            file_name=upload.name,
        )
    except SpreadsheetError as exc:
        outcome.status = ImportRecord.Status.REFUSED
        outcome.problems = exc.problems
        outcome.message = f"Nothing was imported: {_file_problem_summary(exc.problems)}"
    except Exception as exc:
        outcome.status = ImportRecord.Status.FAILED
        outcome.problems = [Problem(None, None, f"The import stopped: {exc}")]
        outcome.message = "Nothing was imported: the import stopped with an error."
        _record(outcome, upload, user, source, started_at)
        raise
    else:
        _count(outcome, result, resource)
    if not (dry_run and outcome.ok):
        _record(outcome, upload, user, source, started_at)
    return outcome


def _file_problem_summary(problems):
    if len(problems) == 1:
        return str(problems[0])
    return f"{len(problems)} problems."


def _count(outcome, result, resource):
    totals = result.totals
    outcome.rows_new = totals[RowResult.IMPORT_TYPE_NEW]
    outcome.rows_updated = totals[RowResult.IMPORT_TYPE_UPDATE]
    outcome.rows_unchanged = totals[RowResult.IMPORT_TYPE_SKIP]
    outcome.rows_invalid = totals[RowResult.IMPORT_TYPE_INVALID] + totals[RowResult.IMPORT_TYPE_ERROR]
    outcome.problems = resource.problems(result)
    outcome.diff_headers = result.diff_headers
    noun = resource.resource_name
    counts = f"{outcome.rows_new} new, {outcome.rows_updated} updated, {outcome.rows_unchanged} unchanged"
    if result.has_errors():
        outcome.status = ImportRecord.Status.FAILED
        outcome.message = f"Nothing was imported: the database refused {_rows(outcome.rows_invalid)} of {noun}."
    elif outcome.problems:
        outcome.status = ImportRecord.Status.REFUSED
        outcome.message = f"Nothing was imported: {_rows(outcome.rows_invalid)} of {noun} invalid."
    elif outcome.dry_run:
        outcome.status = "previewed"
        outcome.message = f"Ready to import {noun}: {counts}."
    else:
        outcome.status = ImportRecord.Status.IMPORTED
        outcome.message = f"Imported {noun}: {counts}."
    for index, row_result in enumerate(result.rows, start=1):
        if len(outcome.changes) >= MAX_PREVIEW_ROWS:
            break
        if row_result.import_type in (RowResult.IMPORT_TYPE_NEW, RowResult.IMPORT_TYPE_UPDATE):
            outcome.changes.append((resource.sheet_row(index), row_result.import_type, row_result.diff or []))


def _rows(count):
    return f"{count} row is" if count == 1 else f"{count} rows are"


def _record(outcome, upload, user, source, started_at):
    # Outside the import's (rolled back) transaction, so a refusal is kept too.
    with transaction.atomic():
        outcome.record = ImportRecord.objects.create(
            kind=ImportRecord.Kind.SPREADSHEET,
            target=outcome.target,
            source=source,
            user=user if user is not None and user.is_authenticated else None,
            file_name=upload.name[:255],
            file_size=upload.size,
            sha256=hashlib.sha256(outcome.data).hexdigest() if outcome.data else "",
            options={"dry_run": outcome.dry_run},
            status=outcome.status,
            created_at=started_at,
            started_at=started_at,
            finished_at=timezone.now(),
            bytes_read=len(outcome.data),
            rows_read=outcome.rows_read,
            rows_new=outcome.rows_new,
            rows_updated=outcome.rows_updated,
            rows_unchanged=outcome.rows_unchanged,
            rows_invalid=outcome.rows_invalid,
            message=outcome.message,
            problems=[problem.as_dict() for problem in outcome.problems[:MAX_PROBLEMS]],
        )
