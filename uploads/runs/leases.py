"""Named leases: one holder at a time for a job, across workers and machines (uploads/models/leases.py)."""

import contextlib
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from uploads.models import Lease

__all__ = ["LeaseHolder", "LeaseLost", "free_if_lapsed"]


class LeaseLost(Exception):
    """The lease lapsed while its holder was still working (it went quiet for too long)."""


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaseHolder:
    """Try to take the lease ``name``; keep it alive with :meth:`keep_alive`; :meth:`release` it.

    Renewal is throttled to a third of the lease's length, so calling ``keep_alive`` often
    (between rows, between blocks of an upload) costs nothing. A holder that dies stops
    renewing, and after ``seconds`` another worker may take over.
    """

    def __init__(self, name, seconds=None, owner=None):
        self.name = name
        self.seconds = seconds if seconds is not None else settings.UPLOADS_LEASE_SECONDS
        self.owner = owner or f"{worker_name()}:{uuid.uuid4().hex[:8]}"
        self.held = False
        self._renewed = 0.0

    def acquire(self):
        """Take the lease if it is free or lapsed; return whether this holder has it."""
        self._ensure_row()
        now = timezone.now()
        with transaction.atomic():
            taken = (
                Lease.objects.filter(name=self.name)
                .filter(Q(expires_at__isnull=True) | Q(expires_at__lt=now) | Q(owner=self.owner))
                .update(owner=self.owner, acquired_at=now, expires_at=now + timedelta(seconds=self.seconds))
            )
        self.held = bool(taken)
        self._renewed = time.monotonic()
        return self.held

    def holder(self):
        """(owner, expires_at) of whoever holds the lease now, or None."""
        row = Lease.objects.filter(name=self.name, expires_at__gte=timezone.now()).values_list("owner", "expires_at")
        return row.first()

    def keep_alive(self, force=False):
        if not self.held:
            return
        if not force and time.monotonic() - self._renewed < self.seconds / 3:
            return
        now = timezone.now()
        with transaction.atomic():
            renewed = Lease.objects.filter(name=self.name, owner=self.owner).update(
                expires_at=now + timedelta(seconds=self.seconds)
            )
        self._renewed = time.monotonic()
        if not renewed:
            self.held = False
            raise LeaseLost(
                f"The lease {self.name!r} lapsed and was taken over: by another worker, or by the reaper of "
                "interrupted runs, which found this run silent for longer than the lease."
            )

    @contextlib.contextmanager
    def kept_alive(self):
        """Renew the lease from a background thread while the block runs.

        For work with no place to call :meth:`keep_alive` from, such as one long database
        statement building a file. The thread uses its own database connection; if the process
        dies, so does the thread, and the lease lapses as it should.
        """
        stop = threading.Event()

        def renew():
            try:
                while not stop.wait(self.seconds / 3):
                    now = timezone.now()
                    Lease.objects.filter(name=self.name, owner=self.owner).update(
                        expires_at=now + timedelta(seconds=self.seconds)
                    )
            finally:
                connection.close()

        thread = threading.Thread(target=renew, name=f"lease {self.name}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self._renewed = time.monotonic()

    def release(self):
        if not self.held:
            return
        with transaction.atomic():
            Lease.objects.filter(name=self.name, owner=self.owner).update(owner="", expires_at=None)
        self.held = False

    def _ensure_row(self):
        if Lease.objects.filter(name=self.name).exists():
            return
        try:
            with transaction.atomic():
                Lease.objects.create(name=self.name)
        except IntegrityError:
            pass  # another worker created it first; fine


def free_if_lapsed(name, now=None):
    """Free the lease ``name`` if its holder stopped renewing it: return when it lapsed, or None if it is held.

    For the reaper of interrupted runs (uploads/reaper.py); call it inside a transaction. The row
    is locked (PostgreSQL; SQLite's IMMEDIATE transactions lock the whole database) until that
    transaction ends, so a holder that renewed in time keeps it, and no new holder takes it in
    between. A lease that is free already, or has no row, counts as lapsed at ``now``; a lapsed
    holder still alive learns of it at its next renewal (``LeaseLost``).
    """
    now = now or timezone.now()
    row = Lease.objects.select_for_update().filter(name=name).first()
    if row is not None and row.expires_at is not None and row.expires_at >= now:
        return None
    if row is None or row.expires_at is None:
        return now
    Lease.objects.filter(pk=row.pk).update(owner="", expires_at=None)
    return row.expires_at
