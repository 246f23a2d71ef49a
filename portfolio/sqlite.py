"""What SQLite is for, said where it matters: when the workers start, and when a run finds the database locked.

SQLite lets one connection write at a time. A spreadsheet import writes every row in one
transaction (all or nothing), so it holds the write lock for its whole run; a sync or upload
that needs the lock meanwhile waits for the busy timeout, then fails with "database is locked".
PostgreSQL locks rows, not the database: the worker's runs go on beside the import (README,
"SQLite or PostgreSQL"; bench/import_during_sync.py measures both).
"""

import sys
from contextlib import contextmanager

from django.core import checks
from django.db import OperationalError, connection

__all__ = ["ADVICE", "is_database_locked", "locked_database_message", "said_plainly_when_locked", "workers_on_sqlite"]

ADVICE = "SQLite is for one user and trials; use PostgreSQL (DATABASE_URL) for workers alongside people importing."
WORKERS_COMMAND = "qcluster"


def on_sqlite():
    return connection.vendor == "sqlite"


def busy_timeout_seconds():
    return connection.settings_dict.get("OPTIONS", {}).get("timeout")


def workers_on_sqlite(app_configs=None, **kwargs):
    """portfolio.W001, when ``manage.py qcluster`` starts on SQLite (other commands stay quiet)."""
    if sys.argv[1:2] != [WORKERS_COMMAND] or not on_sqlite():
        return []
    return [
        checks.Warning(
            f"The workers run on SQLite. {ADVICE}",
            hint=(
                "A spreadsheet import holds SQLite's write lock for its whole run; a sync or upload meanwhile "
                f"waits {busy_timeout_seconds()} s (SQLITE_BUSY_TIMEOUT_SECONDS), then fails with "
                '"database is locked" and the next scheduled run goes on from there.'
            ),
            id="portfolio.W001",
        )
    ]


def is_database_locked(error):
    """Whether ``error`` is SQLite giving up on the write lock after its busy timeout."""
    return isinstance(error, OperationalError) and "database is locked" in str(error)


def locked_database_message(what):
    """Why ``what`` (a sync, an upload) stopped on a locked SQLite database, and what to do about it."""
    return (
        f"{what} stopped: another process held the SQLite database's write lock for longer than "
        f"{busy_timeout_seconds()} s (a spreadsheet import holds it for its whole run). What it had saved "
        f"stays; the next run goes on from there. {ADVICE}"
    )


@contextmanager
def said_plainly_when_locked(what, logger):
    """Log why ``what`` stopped when it ends on a locked SQLite database (the error still propagates)."""
    try:
        yield
    except OperationalError as error:
        if is_database_locked(error):
            logger.error(locked_database_message(what))
        raise
