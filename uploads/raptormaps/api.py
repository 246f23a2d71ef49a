"""The Raptor Maps API as this app understands it (docs/contracts.md, section 1).

Every path, field name and status this client relies on is here, in one place, so that a
real account showing otherwise is a change to this module only. Assumed (not publicly
documented) facts are marked [assumed].
"""

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from django.views.decorators.debug import sensitive_variables

from uploads.models import Service
from uploads.outbound.http import CallFailed, Client
from uploads.outbound.tokens import CachedToken
from uploads.outbound.xmlerrors import looks_like_xml, read_xml_error

__all__ = ["RaptorMapsApi", "SignedUrl", "TokenAuth", "put_to_signed_url", "url_expired"]

TOKEN_PATH = "/oauth/token"
TOKEN_AUDIENCE = "api://customer-api"
ORG_INTEGRATIONS_PATH = "/insights/api/v1/integrations/org_integrations"  # [assumed]
SIGNED_URL_PATH = ORG_INTEGRATIONS_PATH + "/{id}/signed_url"
# [assumed] a token without expires_in is treated as valid this long (and renewed on any 401).
DEFAULT_TOKEN_SECONDS = 3600
# Renew a cached token this long before it runs out, so it does not expire mid-upload.
TOKEN_RENEW_MARGIN = timedelta(minutes=5)
# The storage behind a signed URL says "expired" or "signature" when the URL is no longer good [assumed].
EXPIRED_URL_STATUSES = (400, 403)
EXPIRED_URL_WORDS = ("expired", "signature")
# The query parameter that lists the headers a signed URL is bound to (S3, Google Cloud Storage) [assumed].
SIGNED_HEADERS_PARAMS = ("x-amz-signedheaders", "x-goog-signedheaders")
# Sent by the HTTP library itself, or never: a signed URL's answer cannot ask for these.
NOT_FROM_THE_ANSWER = frozenset({"authorization", "cookie", "host", "content-length", "transfer-encoding"})
# Org integrations carry third-party credentials in auth_info: never kept, never shown.
ORG_INTEGRATION_FIELDS = ("id", "org_id", "api_type", "query_interval_secs", "settings", "enabled")


class TokenAuth(CachedToken):
    """The bearer token of one integration: a ready API token, or one fetched with client credentials."""

    def __init__(self, integration, api):
        super().__init__(integration, api.fetch_token, TOKEN_RENEW_MARGIN)
        self.integration = integration

    @property
    def renewable(self):
        return self.integration.uses_client_credentials

    def token(self):
        if not self.integration.uses_client_credentials:
            return self.integration.api_token.reveal()
        return super().token()

    def renew(self):
        if self.renewable:
            super().renew()


class RaptorMapsApi:
    """Calls for one integration: token, org integrations, signed URL, and the PUT of a file."""

    def __init__(self, integration, *, run=None, heartbeat=None, policy=None, timeout=None, deadline=None):
        self.integration = integration
        self.base_url = integration.base_url.rstrip("/")
        self.auth = TokenAuth(integration, self)
        self.client = Client(
            Service.RAPTORMAPS,
            run=run,
            subject=integration,
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
        """Every secret value this client holds, for redaction."""
        values = self.auth.secrets()
        for secret in (self.integration.api_token, self.integration.client_secret, self.integration.access_token):
            if secret and secret.error is None:
                values.append(secret.reveal())
        return values

    def _params(self):
        org_id = self.integration.org_id
        return {"org_id": org_id} if org_id is not None else None

    def fetch_token(self):
        """(access_token, seconds it is valid) from the client credentials."""
        integration = self.integration
        response = self.client.call(
            "token",
            "POST",
            f"{self.base_url}{TOKEN_PATH}",
            json={
                "client_id": integration.client_id,
                "client_secret": integration.client_secret.reveal(),
                "audience": TOKEN_AUDIENCE,
            },
            expect_json=True,
        )
        payload = _json(response, "token")
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not token or not isinstance(token, str):
            raise CallFailed("token: the answer has no access_token.", operation="token")
        expires_in = payload.get("expires_in")
        seconds = expires_in if isinstance(expires_in, int | float) and expires_in > 0 else DEFAULT_TOKEN_SECONDS
        return token, seconds

    def _get_json(self, operation, path):
        """An authenticated GET of the API, its answer parsed as JSON."""
        response = self.client.call(
            operation, "GET", f"{self.base_url}{path}", params=self._params(), auth=self.auth, expect_json=True
        )
        return _json(response, operation)

    def org_integrations(self):
        """The org's integrations, without their auth_info."""
        payload = self._get_json("org_integrations", ORG_INTEGRATIONS_PATH)
        if isinstance(payload, dict):
            payload = [payload]
        if not isinstance(payload, list):
            # With the status it came with: an answer arrived, it was the wrong shape.
            raise CallFailed(
                "org_integrations: expected a list of integrations.", operation="org_integrations", status_code=200
            )
        return [{name: item.get(name) for name in ORG_INTEGRATION_FIELDS} for item in payload if isinstance(item, dict)]

    def signed_url(self):
        """A SignedUrl: the URL, and the headers it was signed with when the answer names them."""
        integration_id = self.integration.integration_id
        try:
            payload = self._get_json("signed_url", SIGNED_URL_PATH.format(id=integration_id))
        except CallFailed as exc:
            if exc.status_code != 404:
                raise
            # The stored id names no integration of this org: say which, and what to check. The
            # integration here is left as it is (a person decides which id is right).
            message = (
                f"Raptor Maps has no org integration {integration_id} (deleted, or another org?): "
                "check the integration ID with Test connection."
            )
            raise CallFailed(message, operation="signed_url", status_code=404, body=exc.body, reason=message) from None
        # The seed does `url = resp.json()`: a bare string. An object with url/signed_url is accepted too,
        # with the headers (x-amz-meta-*) the URL is signed for in "headers" [assumed].
        headers = {}
        if isinstance(payload, dict):
            headers = payload.get("headers") or {}
            payload = payload.get("url") or payload.get("signed_url")
        if not isinstance(payload, str) or not payload.startswith(("https://", "http://")):
            raise CallFailed("signed_url: the answer is not a URL.", operation="signed_url")
        if not isinstance(headers, dict) or not all(
            isinstance(name, str) and isinstance(value, str) for name, value in headers.items()
        ):
            raise CallFailed("signed_url: the answer's headers are not names and text values.", operation="signed_url")
        refused = sorted(name for name in headers if name.lower() in NOT_FROM_THE_ANSWER)
        if refused:
            raise CallFailed(
                f"signed_url: the answer asks for the header(s) {', '.join(refused)}, which a PUT to "
                "a signed URL never carries.",
                operation="signed_url",
            )
        return SignedUrl(payload, headers)

    def put_file(self, path, progress=None):
        """PUT one CSV part to a fresh signed URL (a new one per PUT, and again if it expired)."""
        return put_to_signed_url(self.client, self.signed_url, path, progress)


class SignedUrl(str):
    """A signed URL, and the headers (``x-amz-meta-*``) it was signed with, which the PUT must send.

    A plain string is a SignedUrl with no headers beyond the Content-Type.
    """

    def __new__(cls, url, headers=None):
        signed = super().__new__(cls, url)
        signed.headers = dict(headers or {})
        return signed


def put_headers(url):
    """The headers of the PUT to ``url``: the Content-Type, and any the URL's answer gave with it.

    A URL whose signed-headers list names a header with no value to send is refused here, before
    the PUT, rather than sent for the storage to refuse.
    """
    headers = {"Content-Type": "text/csv", **getattr(url, "headers", {})}
    query = {name.lower(): value for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    signed = next((query[name] for name in SIGNED_HEADERS_PARAMS if name in query), "")
    have = {name.lower() for name in headers} | {"host", "content-length"}
    missing = sorted({name for name in signed.lower().split(";") if name} - have)
    if missing:
        raise CallFailed(
            f"put: the signed URL is signed for the header(s) {', '.join(missing)}, and the signed URL's "
            "answer gave no value for them.",
            operation="put",
        )
    return headers


def put_to_signed_url(client, signed_url, path, progress=None):
    """PUT a file to a signed storage URL, sending only what such a signature allows.

    ``signed_url`` is a string (a SignedUrl when it has headers) or a callable giving a fresh
    one per attempt. The request carries Content-Type: text/csv, the headers the URL was signed
    with, and a Content-Length, the body streamed from disk; no bearer token, no chunked
    encoding, none of the client library's default headers.
    """
    return client.call(
        "put",
        "PUT",
        signed_url,
        headers=put_headers,
        body_path=path,
        bare=True,
        is_expired_url=url_expired,
        progress=progress,
        url_name="signed URL",  # checked like a base URL: https, a public host (uploads/outbound/netguard.py)
    )


def url_expired(response):
    """Whether the storage refused the PUT because the signed URL is no longer valid.

    An XML error (S3's ``<Error>``) is read with defusedxml, and only its Code and Message
    count; one that cannot be read safely says nothing of expiry.
    """
    if response.status_code not in EXPIRED_URL_STATUSES:
        return False
    if looks_like_xml(response):
        error = read_xml_error(response.content)
        text = f"{error.code} {error.message}".lower()
    else:
        text = response.text[:2000].lower()
    return any(word in text for word in EXPIRED_URL_WORDS)


def _json(response, operation):
    try:
        return response.json()
    except ValueError:
        raise CallFailed(
            f"{operation}: the answer is not JSON.", operation=operation, status_code=response.status_code
        ) from None
