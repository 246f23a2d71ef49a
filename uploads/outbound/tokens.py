"""A bearer token fetched from a service and cached on its integration or account, encrypted.

Both services hand out short-lived access tokens (Raptor Maps for client credentials, WattCarbon
for an email and API key). The token is kept in the owner's ``access_token`` field until
``margin`` before it expires, so a run or sync does not ask for one each time, and renewed when
the service refuses it (uploads/outbound/http.py calls ``renew()`` once on a 401).
"""

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

    def token(self):
        if self._token is None:
            cached, expires_at = self.owner.access_token, self.owner.access_token_expires_at
            if cached and cached.error is None and expires_at and expires_at - self._margin > timezone.now():
                self._token = cached.reveal()
            else:
                self.renew()
        return self._token

    def headers(self):
        return {"Authorization": f"Bearer {self.token()}"}

    def renew(self):
        self._token, seconds = self._fetch()
        expires_at = timezone.now() + timedelta(seconds=seconds)
        owner = self.owner
        owner.access_token, owner.access_token_expires_at = Secret(self._token), expires_at
        # Saved at once, outside any run's transaction: the next run reuses it. (The field encrypts.)
        type(owner).objects.filter(pk=owner.pk).update(
            access_token=Secret(self._token), access_token_expires_at=expires_at
        )

    def secrets(self):
        return [self._token] if self._token else []
