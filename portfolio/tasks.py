"""django-q2 entry points: thin wrappers that hand the work to a service."""

from portfolio.ingest import jobs


def import_readings(record_id):
    """Run the queued readings import ``record_id`` (an ImportRecord) and record its outcome."""
    return jobs.run_readings_import(record_id)
