"""django-q2 entry points: thin wrappers that hand the work to a service."""

from portfolio.ingest import jobs
from portfolio.resources import jobs as spreadsheet_jobs
from portfolio.resources import previews


def import_readings(record_id):
    """Run the queued readings import ``record_id`` (an ImportRecord) and record its outcome."""
    return jobs.run_readings_import(record_id)


def import_spreadsheet(record_id):
    """Run the queued spreadsheet preview or import ``record_id`` (an ImportRecord) and record its outcome."""
    return spreadsheet_jobs.run_spreadsheet_import(record_id)


def clean_spreadsheet_previews():
    """Delete expired spreadsheet previews and their files (scheduled hourly by migration 0006)."""
    expired, orphans = previews.clean_previews()
    return f"{expired} expired preview(s) and {orphans} unreferenced file(s) deleted"
