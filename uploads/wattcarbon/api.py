"""The WattCarbon API as this app understands it (docs/contracts.md, section 2).

Every path, field name and status this client relies on is here, in one place, so that a
real account showing otherwise is a change to this module only. Assumed (not publicly
documented) facts are marked [assumed].
"""

from datetime import timedelta

from django.views.decorators.debug import sensitive_variables

from uploads.models import Service
from uploads.outbound.http import CallFailed, Client, MultipartBody
from uploads.outbound.tokens import CachedToken

__all__ = ["WattCarbonApi", "names_custom_id", "remote_asset_id"]

TOKEN_PATH = "/auth/token"
METERS_PATH = "/accounts/{account}/meters"  # [assumed]
INTERVALS_PATH = METERS_PATH + "/{meter}/intervals"  # [assumed]
BILLS_PATH = METERS_PATH + "/{meter}/bills"  # [assumed]
ASSETS_PATH = "/accounts/{account}/assets"
ASSET_PATH = ASSETS_PATH + "/{asset}"  # [assumed]
DOCUMENTS_PATH = ASSET_PATH + "/documents"  # [assumed]
DR_EVENTS_DOCUMENT = "demand_response_events"
# The token lasts 24 hours [doc]; an answer without expires_in is taken to mean that.
DEFAULT_TOKEN_SECONDS = 24 * 3600
# Renew a cached token this long before it runs out, so it does not expire mid-sync.
TOKEN_RENEW_MARGIN = timedelta(minutes=10)
# Refusals that may mean "this customId is taken" [assumed]: 409, or 400/422 naming customId.
DUPLICATE_STATUSES = (400, 409, 422)


class WattCarbonApi:
    """The calls of one account. Each returns parsed JSON, or raises a ServiceError (uploads/outbound/http.py)."""

    def __init__(self, account, *, run=None, heartbeat=None, policy=None, timeout=None, deadline=None):
        self.account = account
        self.base_url = account.base_url.rstrip("/")
        self.auth = CachedToken(account, self.fetch_token, TOKEN_RENEW_MARGIN)
        self.client = Client(
            Service.WATTCARBON,
            run=run,
            subject=account,
            secrets=self.secrets,
            heartbeat=heartbeat,
            policy=policy,
            timeout=timeout,
            deadline=deadline,
        )

    def close(self):
        self.client.close()

    @sensitive_variables("values")
    def secrets(self):
        values = self.auth.secrets()
        for secret in (self.account.api_key, self.account.access_token):
            if secret and secret.error is None:
                values.append(secret.reveal())
        return values

    def _url(self, template, **ids):
        return self.base_url + template.format(account=self.account.account_id, **ids)

    def _call(self, operation, method, url, subject=None, **kwargs):
        response = self.client.call(operation, method, url, auth=self.auth, subject=subject, expect_json=True, **kwargs)
        return _json(response, operation)

    # -- token ------------------------------------------------------------------------------------

    def fetch_token(self):
        """(access_token, seconds it is valid) for the account's email and API key."""
        account = self.account
        response = self.client.call(
            "token",
            "POST",
            f"{self.base_url}{TOKEN_PATH}",
            data={"grant_type": "password", "username": account.email, "password": account.api_key.reveal()},
            expect_json=True,
        )
        payload = _json(response, "token")
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not token or not isinstance(token, str):
            raise CallFailed("token: the answer has no access_token.", operation="token")
        expires_in = payload.get("expires_in")  # [assumed]
        seconds = expires_in if isinstance(expires_in, int | float) and expires_in > 0 else DEFAULT_TOKEN_SECONDS
        return token, seconds

    # -- meters -----------------------------------------------------------------------------------

    def create_meter(self, payload, subject=None):
        """The new meter's id. Not repeated after an unknown outcome (OutcomeUnknown)."""
        answer = self._call(
            "create_meter", "POST", self._url(METERS_PATH), subject=subject, json=payload, idempotent=False
        )
        return _remote_id(answer, "create_meter", integer=True)

    def upload_intervals(self, meter_id, content, subject=None):
        """Send a ``start_datetime,energy_kwh`` CSV; rows replace earlier ones with the same start [assumed].

        ``content`` is the file's bytes, or a list of blocks of them. Any thread may call (a pool of uploads).
        """
        return self._upload("upload_intervals", self._url(INTERVALS_PATH, meter=meter_id), content, subject)

    def upload_bills(self, meter_id, content, subject=None):
        return self._upload("upload_bills", self._url(BILLS_PATH, meter=meter_id), content, subject)

    def _upload(self, operation, url, content, subject):
        # The blocks go into the body as they are (no copy of the file), afresh for each attempt.
        blocks = [content] if isinstance(content, bytes) else content
        body = MultipartBody("file", f"{operation.removeprefix('upload_')}.csv", "text/csv", blocks)
        return self._call(operation, "POST", url, subject=subject, multipart=body)

    # -- assets -----------------------------------------------------------------------------------

    def create_asset(self, payload, subject=None):
        """The new asset (JSON). Not repeated after an unknown outcome: look it up by customId instead."""
        answer = self._call(
            "create_asset", "POST", self._url(ASSETS_PATH), subject=subject, json=payload, idempotent=False
        )
        _remote_id(answer, "create_asset")
        return answer

    def assets(self, custom_id=None, subject=None):
        """The account's assets, or those with this customId [assumed: ?customId= filters the list]."""
        operation = "list_assets" if custom_id is None else "find_asset"
        params = None if custom_id is None else {"customId": custom_id}
        answer = self._call(operation, "GET", self._url(ASSETS_PATH), subject=subject, params=params)
        if isinstance(answer, dict):
            answer = answer.get("items", answer.get("results", [answer]))
        if not isinstance(answer, list):
            raise CallFailed(f"{operation}: expected a list of assets.", operation=operation)
        return [item for item in answer if isinstance(item, dict)]

    def find_asset(self, custom_id, subject=None):
        """The account's asset with this customId, or None."""
        return next((item for item in self.assets(custom_id, subject) if item.get("customId") == custom_id), None)

    def update_asset(self, asset_id, changes, subject=None):
        return self._call("update_asset", "PATCH", self._url(ASSET_PATH, asset=asset_id), subject=subject, json=changes)

    def upload_events(self, asset_id, content, subject=None):
        """A new demand_response_events document. Not repeated after an unknown outcome."""
        return self._call(
            "upload_document",
            "POST",
            self._url(DOCUMENTS_PATH, asset=asset_id),
            subject=subject,
            data={"type": DR_EVENTS_DOCUMENT},
            files={"file": ("demand_response_events.csv", content, "text/csv")},
            idempotent=False,
        )


def names_custom_id(error):
    """Whether a refused create says the customId is taken (contract 2.3: status not documented)."""
    if error.status_code not in DUPLICATE_STATUSES:
        return False
    return error.status_code == 409 or "customid" in (error.body or "").lower()


def remote_asset_id(answer):
    return str(_remote_id(answer, "asset"))


def _remote_id(answer, operation, integer=False):
    value = answer.get("id") if isinstance(answer, dict) else None
    if integer:
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise CallFailed(f"{operation}: the answer has no numeric id.", operation=operation)
    elif value in (None, ""):
        raise CallFailed(f"{operation}: the answer has no id.", operation=operation)
    return value


def _json(response, operation):
    try:
        return response.json()
    except ValueError:
        raise CallFailed(
            f"{operation}: the answer is not JSON.", operation=operation, status_code=response.status_code
        ) from None
