"""Import one spreadsheet file: the same steps and messages from the admin and the command line.

Check the file's bounds (size; for XLSX what it unpacks to: ``bounds``), read it, match
its columns, import every row in one transaction, and keep the rows only when all of them
are valid. Every import that is confirmed, and every file refused, leaves an
``ImportRecord``; a dry run that finds nothing wrong (the admin's preview) does not, unless
a worker runs it for a record of its own.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from import_export.results import RowResult

from portfolio.console import Step, size
from portfolio.models import ImportRecord
from portfolio.models.imports import MAX_PROBLEMS
from portfolio.quantities import count
from portfolio.resources import bounds
from portfolio.resources.collector import collector_paused
from portfolio.resources.files import read_sheet
from portfolio.resources.problems import Problem, SpreadsheetError

__all__ = ["Outcome", "Upload", "import_sheets", "import_spreadsheet"]

# How many changed rows the admin's preview lists.
MAX_PREVIEW_ROWS = 200
# Progress is reported every so many rows checked (and at the last).
ROWS_PER_REPORT = 100


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
    status: str = ""  # an ImportRecord status ("previewed": a dry run without problems)
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_invalid: int = 0
    problems: list[Problem] = field(default_factory=list)
    message: str = ""
    changes: list = field(default_factory=list)  # (row, "new" or "update", diff cells) for the preview
    diff_headers: list = field(default_factory=list)
    data: bytes = b""
    result: object = None  # django-import-export's Result (of the last sheet), when the rows were read
    record: ImportRecord | None = None

    @property
    def ok(self):
        return not self.problems

    @property
    def rows_read(self):
        return self.rows_new + self.rows_updated + self.rows_unchanged + self.rows_invalid


def import_spreadsheet(resource, upload, *, source, user=None, dry_run=False, record=None, progress=None):
    """Import ``upload`` with ``resource`` (a SpreadsheetResource instance); return an Outcome.

    Nothing is committed unless every row is valid (and never on a dry run). ``record``: a
    queued ImportRecord to fill in (a worker's import) instead of creating one. ``progress``:
    called with a ``portfolio.console.Step`` at each phase and as each row is checked.
    """
    return import_sheets(
        resource.resource_name,
        upload,
        lambda data: [(resource, read_sheet(data))],
        source=source,
        user=user,
        dry_run=dry_run,
        record=record,
        progress=progress,
    )


def import_sheets(target, upload, read, *, source, user=None, dry_run=False, record=None, progress=None):
    """Import the sheets ``read(data)`` returns as (resource, sheet) pairs, in that order, all or none."""
    outcome = Outcome(target=target, file_name=upload.name, dry_run=dry_run)
    report = progress or (lambda step: None)
    started_at = record.started_at if record is not None and record.started_at else timezone.now()
    several = None
    try:
        bounds.check_size(upload.size)
        outcome.data = upload.read()
        bounds.check_archive(outcome.data)
        report(Step("reading the file", figures=(size(len(outcome.data)),)))
        with collector_paused():
            sheets = read(outcome.data)
        if record is not None:
            # For the record's page, before the rows are checked in one long transaction.
            rows = sum(len(sheet) for _resource, sheet in sheets)
            ImportRecord.objects.filter(pk=record.pk).update(bytes_read=len(outcome.data), rows_read=rows)
        several = len(sheets) > 1
        for resource, sheet in sheets:
            _on_sheet(several, resource, resource.prepare, sheet)
        if not any(len(sheet) for _resource, sheet in sheets):
            raise SpreadsheetError.about_file("The file has a header row but no rows to import.")
        _watch_rows(sheets, report)
        with transaction.atomic():
            for resource, sheet in sheets:
                result = resource.import_data(
                    sheet,
                    dry_run=False,  # this transaction is rolled back instead, after the last sheet
                    raise_errors=False,
                    use_transactions=True,
                    rollback_on_validation_errors=True,
                    retain_instance_in_row_result=True,
                    user=user,
                    file_name=upload.name,
                )
                _count(outcome, resource, result, several)
            if dry_run or outcome.problems:
                transaction.set_rollback(True)
    except SpreadsheetError as exc:
        outcome.status = ImportRecord.Status.REFUSED
        outcome.problems = exc.problems
        summary = str(exc.problems[0]) if len(exc.problems) == 1 else f"{len(exc.problems)} problems."
        outcome.message = f"Nothing was imported: {summary}"
    except Exception as exc:
        outcome.status = ImportRecord.Status.FAILED
        outcome.problems = [Problem(None, None, f"The import stopped: {exc}")]
        outcome.message = "Nothing was imported: the import stopped with an error."
        _record(outcome, upload, user, source, started_at, record)
        raise
    else:
        _conclude(outcome)
    if not (dry_run and outcome.ok) or record is not None:
        _record(outcome, upload, user, source, started_at, record)
    return outcome


def _watch_rows(sheets, report):
    """Have each resource report the rows it checks, across all the sheets, as they go."""
    total = sum(len(sheet) for _resource, sheet in sheets)
    done = 0

    def checked(resource):
        def on_row():
            nonlocal done
            done += 1
            if done % ROWS_PER_REPORT == 0 or done == total:  # a report per row would cost more than the row
                report(Step("checking rows", done, total, "rows", figures=(f"sheet {resource.resource_name}",)))

        return on_row

    for resource, _sheet in sheets:
        resource.on_row = checked(resource)
    report(Step("checking rows", 0, total, "rows", figures=(count(len(sheets), "sheets"),)))


def _on_sheet(several, resource, step, *args):
    """Run a step; in a workbook, problems say which sheet they are on."""
    try:
        return step(*args)
    except SpreadsheetError as exc:
        if several:
            raise SpreadsheetError([problem.on_sheet(resource.resource_name) for problem in exc.problems]) from None
        raise


def _count(outcome, resource, result, several):
    outcome.result = result
    totals = result.totals
    outcome.rows_new += totals[RowResult.IMPORT_TYPE_NEW]
    outcome.rows_updated += totals[RowResult.IMPORT_TYPE_UPDATE]
    outcome.rows_unchanged += totals[RowResult.IMPORT_TYPE_SKIP]
    outcome.rows_invalid += totals[RowResult.IMPORT_TYPE_INVALID] + totals[RowResult.IMPORT_TYPE_ERROR]
    problems = resource.problems(result)
    outcome.problems += [problem.on_sheet(resource.resource_name) for problem in problems] if several else problems
    if result.has_errors():
        outcome.status = ImportRecord.Status.FAILED
    outcome.diff_headers = result.diff_headers
    for index, row_result in enumerate(result.rows, start=1):
        if len(outcome.changes) >= MAX_PREVIEW_ROWS:
            break
        if row_result.import_type in (RowResult.IMPORT_TYPE_NEW, RowResult.IMPORT_TYPE_UPDATE):
            outcome.changes.append((resource.sheet_row(index), row_result.import_type, row_result.diff or []))


def _conclude(outcome):
    counts = f"{outcome.rows_new} new, {outcome.rows_updated} updated, {outcome.rows_unchanged} unchanged"
    invalid = f"{outcome.rows_invalid} of {outcome.rows_read} rows {'is' if outcome.rows_invalid == 1 else 'are'}"
    if outcome.status == ImportRecord.Status.FAILED:
        outcome.message = f"Nothing was imported: {invalid} refused by the database."
    elif outcome.problems:
        outcome.status = ImportRecord.Status.REFUSED
        outcome.message = f"Nothing was imported: {invalid} invalid."
    elif outcome.dry_run:
        outcome.status = ImportRecord.Status.PREVIEWED
        outcome.message = f"Ready to import {outcome.target}: {counts}."
    else:
        outcome.status = ImportRecord.Status.IMPORTED
        outcome.message = f"Imported {outcome.target}: {counts}."


def _record(outcome, upload, user, source, started_at, record=None):
    # After the import's transaction, so a refusal is kept too.
    fields = dict(
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
    if record is None:
        outcome.record = ImportRecord.objects.create(**fields)
        return
    fields["options"] = {**record.options, **fields["options"]}
    for name in ("created_at", "source", "user"):
        del fields[name]  # as the record was queued
    for name, value in fields.items():
        setattr(record, name, value)
    # Only the outcome: the queueing request may still be writing the task id.
    record.save(update_fields=list(fields))
    outcome.record = record
