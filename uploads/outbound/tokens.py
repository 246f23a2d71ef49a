"""A bearer token fetched from a service and cached on its integration or account, encrypted.

Both services hand out short-lived access tokens (Raptor Maps for client credentials, WattCarbon
for an email and API key). The token is kept in the owner's ``access_token`` field until
``margin`` before it expires, so a run or sync does not ask for one each time, and renewed when
the service refuses it (uploads/outbound/http.py calls ``renew()`` once on a 401).

Threads of a pool of uploads share one token: a 401 in several of them renews it once, and a
token renewed in a pool thread is saved by the thread that made the token (``save_pending``),
the only one that touches the database.
"""

import threading
from datetime import timedelta

from django.utils import timezone

from uploads.secrets import Secret

__all__ = ["CachedToken"]


class CachedToken:
    """``fetch()`` returns (token, seconds it is valid); ``owner`` has access_token and access_token_expires_at."""

    renewable = True

    def __init__(self, owner, fetch, margin):
        self.owner = owner
        self._fetch = fetch
        self._margin = margin
        self._token = None
        self._lock = threading.RLock()
        self._thread = threading.get_ident()  # the thread that saves a renewed token
        self._unsaved = None  # (token, expires_at) renewed in another thread, not saved yet
        self._used = threading.local()  # the token this thread's last request carried

    def token(self):
        with self._lock:
            if self._token is None:
                cached, expires_at = self.owner.access_token, self.owner.access_token_expires_at
                if cached and cached.error is None and expires_at and expires_at - self._margin > timezone.now():
                    self._token = cached.reveal()
                else:
                    self._renew()
            return self._token

    def headers(self):
        self._used.token = self.token()
        return {"Authorization": f"Bearer {self._used.token}"}

    def renew(self):
        with self._lock:
            used = getattr(self._used, "token", None)
            if used is not None and used != self._token:
                return  # another thread renewed the token this thread's request was refused with
            self._renew()

    def _renew(self):
        self._token, seconds = self._fetch()
        expires_at = timezone.now() + timedelta(seconds=seconds)
        owner = self.owner
        owner.access_token, owner.access_token_expires_at = Secret(self._token), expires_at
        self._unsaved = (self._token, expires_at)
        if threading.get_ident() == self._thread:
            self.save_pending()

    def save_pending(self):
        """Save a token renewed since the last save (call from the thread that made this object)."""
        with self._lock:
            unsaved, self._unsaved = self._unsaved, None
        if unsaved is None:
            return
        token, expires_at = unsaved
        owner = self.owner
        # Saved at once, outside any run's transaction: the next run reuses it. (The field encrypts.)
        type(owner).objects.filter(pk=owner.pk).update(access_token=Secret(token), access_token_expires_at=expires_at)

    def secrets(self):
        return [self._token] if self._token else []
