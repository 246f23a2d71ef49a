"""Calls of one client made by a few threads at once: HTTP in the threads, the database in the caller's.

A :class:`CallPool` runs calls (functions that use the client) on ``size`` threads sharing the
client's session, one pooled connection each. The threads do HTTP only: the attempts a call
records are kept with its result, and a token renewed in a thread is kept on the token, both
saved by the calling thread when it takes the result (``results``). So a pool thread never opens
a database connection (on SQLite, where one writer at a time is the rule, or inside a test's
transaction, one would be a second writer), and the calling thread stays the only one that
reads and writes the database. A 429 holds back every thread of the client
(``Client.backoff``), and the waits of a retried call are waited in its own thread.
"""

import itertools
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

__all__ = ["CallPool"]


class CallPool:
    """Up to ``size`` calls in flight. ``submit(call, tag)``; then ``results()`` gives (tag, value, error)."""

    def __init__(self, client, size, *, auth=None):
        self.client = client
        self.auth = auth
        self.size = size
        client.share(size)
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="outbound-call")
        self._pending = {}  # future → (order submitted, tag)
        self._order = itertools.count()

    def __len__(self):
        """Calls submitted whose result has not been taken yet."""
        return len(self._pending)

    @property
    def full(self):
        return len(self._pending) >= self.size

    def submit(self, call, tag):
        future = self._executor.submit(self._run, call)
        self._pending[future] = (next(self._order), tag)

    def _run(self, call):
        deferred = self.client.deferring()
        try:
            return call(), None, deferred
        except Exception as exc:
            return None, exc, deferred
        finally:
            self.client.stop_deferring()

    def results(self, timeout=None):
        """The calls that ended (waiting up to ``timeout`` s for one), their attempts saved first.

        Each is (tag, value, error): the call's return value, or the exception it raised.
        """
        if not self._pending:
            return []
        done, _ = wait(self._pending, timeout=timeout, return_when=FIRST_COMPLETED)
        ended = []
        for future in sorted(done, key=lambda future: self._pending[future][0]):
            _, tag = self._pending.pop(future)
            value, error, deferred = future.result()
            self.client.save_deferred(deferred)
            ended.append((tag, value, error))
        if self.auth is not None:
            self.auth.save_pending()
        return ended

    def close(self):
        """Wait for the calls in flight (their results are dropped: take them first) and end the threads."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        for future in list(self._pending):
            if future.done() and not future.cancelled():
                self.client.save_deferred(future.result()[2])
        self._pending.clear()
        if self.auth is not None:
            self.auth.save_pending()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
