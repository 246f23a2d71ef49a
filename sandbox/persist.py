"""What a service of the sandbox keeps across restarts: JSON records in a small SQLite file.

Each service has its own file in the data directory (``raptormaps-state.sqlite3``,
``wattcarbon-state.sqlite3``): collections of records by key (uploads, meters, assets, id
counters), one record written per change, each write its own transaction. A restart loads them,
so the ids a client holds still name the same objects; only a reset empties the file.

WAL with ``synchronous = NORMAL``: a killed process loses nothing committed; a power cut may lose
the last writes, which a stand-in can afford.
"""

import json
import sqlite3
import threading

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,  -- JSON
    PRIMARY KEY (collection, key)
)
"""
# An upsert keeps the row's rowid, so records come back in the order they were first written.
UPSERT = (
    "INSERT INTO records (collection, key, body) VALUES (?, ?, ?) "
    "ON CONFLICT (collection, key) DO UPDATE SET body = excluded.body"
)


class StateStore:
    def __init__(self, path):
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute(SCHEMA)

    def put(self, collection, key, value):
        """Write one record (any JSON-ready value), replacing the one under the same key."""
        body = json.dumps(value, separators=(",", ":"))
        with self._lock:
            self._db.execute(UPSERT, (collection, str(key), body))

    def records(self, collection):
        """[(key, value), ...] of a collection, in the order they were first written."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, body FROM records WHERE collection = ? ORDER BY rowid", (collection,)
            ).fetchall()
        return [(key, json.loads(body)) for key, body in rows]

    def counters(self):
        """The ``counters`` collection as a dict (id counters, numbers of tokens issued...)."""
        return dict(self.records("counters"))

    def clear(self):
        with self._lock:
            self._db.execute("DELETE FROM records")

    def close(self):
        with self._lock:
            self._db.close()
