"""django-q2 entry points: thin wrappers that hand the work to a service."""

from portfolio.ingest import jobs, reaper
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


def reap_stale_imports():
    """Mark imports whose worker died as failed and release their files (scheduled every minute by migration 0007)."""
    reaped = reaper.reap_stale_imports()
    return f"{len(reaped)} import(s) without a worker marked failed" + (
        f": {', '.join(f'#{record.pk}' for record in reaped)}" if reaped else ""
    )
