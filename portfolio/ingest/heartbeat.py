"""A running import's sign of life: ``ImportRecord.heartbeat_at``, stamped while its worker works.

The job stamps it when it starts and with every progress write; a ``Heartbeat`` thread also
stamps it every few seconds on a connection of its own, so phases that report no progress
(the readings commit, a spreadsheet's one transaction) still show the worker alive. A record
"running" whose heartbeat is older than ``IMPORT_STALE_AFTER_SECONDS`` lost its worker
(``portfolio.ingest.reaper``).
"""

import logging
import threading

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from portfolio.models import ImportRecord

__all__ = ["Heartbeat", "beat", "heartbeat_interval"]

logger = logging.getLogger(__name__)

# Beat this many times per stale period, so a few missed beats (a busy database) are no death.
BEATS_PER_STALE_PERIOD = 6
# ... but never more often than this (a small stale setting in tests) nor less often than 30 s.
MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS = 0.2, 30.0


def heartbeat_interval():
    """Seconds between two beats of a running import."""
    interval = settings.IMPORT_STALE_AFTER_SECONDS / BEATS_PER_STALE_PERIOD
    return min(MAX_INTERVAL_SECONDS, max(MIN_INTERVAL_SECONDS, interval))


def beat(record_id):
    """Stamp the record's heartbeat, only while it is running (never on a finished or reaped record)."""
    return ImportRecord.objects.filter(pk=record_id, status=ImportRecord.Status.RUNNING).update(
        heartbeat_at=timezone.now()
    )


class Heartbeat:
    """``with Heartbeat(record):`` stamps the record's heartbeat from a thread until the block ends.

    The thread has its own database connection, so its beats commit while the job's own
    transaction is open. Not started when the job itself runs inside a transaction (a test's,
    or a caller's): another connection could not see the record, and on SQLite it would wait
    for the caller's write lock. The job's own stamps (start, progress) still happen there.
    """

    def __init__(self, record):
        self.record_id = record.pk
        self.interval = heartbeat_interval()
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if not transaction.get_connection().in_atomic_block:
            self._thread = threading.Thread(target=self._run, name=f"import-{self.record_id}-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return False

    def _run(self):
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not beat(self.record_id):
                        return  # finished, or reaped: nothing left to keep alive
                except DatabaseError as exc:  # e.g. SQLite locked by the import's own transaction
                    logger.debug("Import #%s heartbeat not written: %s", self.record_id, exc)
        finally:
            connection.close()  # this thread's own connection
