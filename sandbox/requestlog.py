"""The log of every API call the sandbox received, so tests can count and inspect calls."""

import itertools
import threading
from datetime import UTC, datetime


def utc_now_iso():
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RequestLog:
    """Thread-safe list of calls; an entry is written when a call starts and completed when it ends."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = []
        self._ids = itertools.count(1)

    def start(self, service, operation, method, path, fault=None, user_agent=None):
        """Record a call in progress (status None until ``finish``); return its entry."""
        entry = {
            "id": next(self._ids),
            "service": service,
            "operation": operation,
            "method": method,
            "path": path,  # never the query string: a signed URL's query is a credential
            "status": None,
            "fault": fault,  # the mode of the fault that hit this call
            "user_agent": (user_agent or "")[:200] or None,  # how the client named itself
            "note": None,
            "time": utc_now_iso(),
            "duration_ms": None,
        }
        with self._lock:
            self._entries.append(entry)
        return entry

    def finish(self, entry, status, duration, note=None):
        with self._lock:
            entry.update(status=status, note=note, duration_ms=round(duration * 1000, 1))

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._ids = itertools.count(1)

    def snapshot(self):
        with self._lock:
            return [dict(entry) for entry in self._entries]
