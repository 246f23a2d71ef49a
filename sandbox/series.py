"""The timeseries WattCarbon's stand-in receives (meter intervals and bills), kept in a SQLite file.

Millions of rows go through the sandbox (a benchmark sends 1,000 meters of hourly data for a
year), so they live on disk, not in memory: one SQLite file in the data directory, kept across
restarts (with the meters, persist.py) and emptied on reset. One connection, guarded by a lock; each upload is one
transaction, so a file with a bad row stores nothing (all or nothing).

Interval starts are stored as whole microseconds since the Unix epoch (UTC): two spellings of
the same instant (``01:00:00+01:00`` and ``00:00:00+00:00``) are one row. Bill dates as text.
"""

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

SCHEMA = """
CREATE TABLE IF NOT EXISTS intervals (
    meter INTEGER NOT NULL,
    start INTEGER NOT NULL,  -- microseconds since the epoch, UTC
    kwh REAL NOT NULL,
    PRIMARY KEY (meter, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bills (
    meter INTEGER NOT NULL,
    start TEXT NOT NULL,  -- YYYY-MM-DD
    finish TEXT NOT NULL,
    kwh REAL NOT NULL,
    PRIMARY KEY (meter, start)
) WITHOUT ROWID;
"""
UPSERT_INTERVAL = (
    "INSERT INTO intervals (meter, start, kwh) VALUES (?, ?, ?) "
    "ON CONFLICT (meter, start) DO UPDATE SET kwh = excluded.kwh"
)
UPSERT_BILL = (
    "INSERT INTO bills (meter, start, finish, kwh) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (meter, start) DO UPDATE SET finish = excluded.finish, kwh = excluded.kwh"
)
INTERVAL_STATS = "SELECT count(*), total(kwh), min(start), max(start) FROM intervals WHERE meter = ?"
BILL_STATS = "SELECT count(*), total(kwh), min(start), max(start) FROM bills WHERE meter = ?"


def instant(moment):
    """An aware datetime as the stored integer (microseconds since the epoch)."""
    return (moment - EPOCH) // MICROSECOND


def instant_iso(value):
    """The stored integer back as ISO 8601 in UTC: ``2024-01-01T00:00:00+00:00``."""
    return (EPOCH + value * MICROSECOND).isoformat()


class Stale(Exception):
    """The sandbox was reset while the upload arrived: it belongs to a state that is gone."""


@dataclass(frozen=True)
class Written:
    """What an accepted upload did, and the meter's series after it."""

    received: int
    inserted: int
    updated: int
    count: int
    kwh: float
    first: object  # the first start (an instant, or a date as text), None when empty
    last: object


class SeriesStore:
    def __init__(self, path):
        self._path = path
        self._lock = threading.Lock()
        self._db = None
        with self._lock:
            self._open()

    def reset(self):
        """Delete the file and start an empty one."""
        with self._lock:
            self._close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                self._path.with_name(self._path.name + suffix).unlink(missing_ok=True)
            self._open()

    def _open(self):
        """Open the file, as it was left or new."""
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        # WAL with synchronous OFF: a killed sandbox loses nothing committed (the OS has it); a
        # power cut may. Speed over durability, for a stand-in.
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -16000")  # 16 MB
        db.executescript(SCHEMA)
        self._db = db

    def close(self):
        with self._lock:
            self._close()

    def _close(self):
        if self._db is not None:
            self._db.close()
            self._db = None

    def write_intervals(self, meter, rows, valid, current):
        """Upsert ``rows`` ((start instant, kwh) pairs, read lazily) in one transaction.

        ``valid()`` is asked once the rows are read: False rolls everything back and returns None.
        ``current()`` False means the sandbox was reset meanwhile: raises Stale.
        """
        return self._write(UPSERT_INTERVAL, INTERVAL_STATS, meter, ((meter, *row) for row in rows), valid, current)

    def write_bills(self, meter, rows, valid, current):
        """Upsert ``rows`` ((start date, end date, kwh), dates as YYYY-MM-DD) like ``write_intervals``."""
        return self._write(UPSERT_BILL, BILL_STATS, meter, ((meter, *row) for row in rows), valid, current)

    def _write(self, upsert, stats, meter, rows, valid, current):
        with self._lock:
            if not current():
                raise Stale
            db = self._db
            db.execute("BEGIN")
            try:
                before = db.execute(stats, (meter,)).fetchone()[0]
                cursor = db.executemany(upsert, rows)
                received = cursor.rowcount
                if not valid():
                    db.execute("ROLLBACK")
                    return None
                count, kwh, first, last = db.execute(stats, (meter,)).fetchone()
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        inserted = count - before
        return Written(received, inserted, received - inserted, count, kwh, first, last)

    def intervals(self, meter):
        """The meter's intervals by start: [(start instant, kwh), ...]."""
        with self._lock:
            return self._db.execute(
                "SELECT start, kwh FROM intervals WHERE meter = ? ORDER BY start", (meter,)
            ).fetchall()

    def bills(self, meter):
        """The meter's bills by start date: [(start, end, kwh), ...]."""
        with self._lock:
            return self._db.execute(
                "SELECT start, finish, kwh FROM bills WHERE meter = ? ORDER BY start", (meter,)
            ).fetchall()
