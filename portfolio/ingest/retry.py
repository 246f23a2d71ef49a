"""Redo a transaction that lost a lock to another one: a deadlock, a serialization failure, a busy SQLite.

Two imports that touch the same rows write them in the same order (staging.py, catalog.py), so
they wait for each other instead of deadlocking; this covers what ordering cannot (other writers
of the same rows, PostgreSQL's own choices). The database rolled the loser back whole, so redoing
the whole transaction keeps an import all or nothing.
"""

import logging
import random
import time

from django.conf import settings
from django.db import OperationalError, connection, transaction

logger = logging.getLogger(__name__)

DEADLOCK = "40P01"
SERIALIZATION_FAILURE = "40001"
BACKOFF_SECONDS = 0.05  # the first pause is up to this; each retry doubles it (so 0.05, 0.1, 0.2 s at most)


def lost_a_lock(error):
    """Whether ``error`` is a transaction the database gave up on because of another one's locks."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) in (DEADLOCK, SERIALIZATION_FAILURE):
        return True
    # SQLite: another connection kept the write lock past the busy timeout.
    return connection.vendor == "sqlite" and "database is locked" in str(error)


def atomic_with_retries(write, *, what):
    """Run ``write()`` in a transaction; redo it when it loses a lock, at most IMPORT_DEADLOCK_RETRIES times.

    Returns ``(write's result, retries made)``. ``write`` must be safe to run again after a
    rollback. Inside an outer transaction nothing is retried: the outer one is lost too.
    """
    retries_allowed = settings.IMPORT_DEADLOCK_RETRIES if not connection.in_atomic_block else 0
    retries = 0
    while True:
        try:
            with transaction.atomic():
                return write(), retries
        except OperationalError as error:
            if retries >= retries_allowed or not lost_a_lock(error):
                raise
            retries += 1
            pause = random.uniform(BACKOFF_SECONDS / 5, BACKOFF_SECONDS * 2 ** (retries - 1))
            logger.warning(
                "%s lost a lock to another transaction (%s); retry %d of %d (IMPORT_DEADLOCK_RETRIES) in %.2f s",
                what,
                str(error).splitlines()[0],
                retries,
                retries_allowed,
                pause,
            )
            time.sleep(pause)
