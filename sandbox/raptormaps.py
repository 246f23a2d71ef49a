"""The Raptor Maps stand-in: OAuth tokens, org integrations, signed URLs and the PUT they sign.

It follows contracts.md section 1, assumptions included (paths, ``expires_in``, error statuses).
The defaults below are what the demo data and the tests use; ``POST /_sandbox/config`` changes
them and ``POST /_sandbox/reset`` puts them back.
"""

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from http import HTTPStatus

from sandbox.exchange import BadRequest, IncompleteBody, Response, json_error, json_response, route
from sandbox.persist import StateStore
from sandbox.requestlog import utc_now_iso
from sandbox.service import ConfiguredService
from sandbox.settings_values import flag, whole
from sandbox.signing import CONTENT_TYPE, MAX_EXPIRES, META_PREFIX, Check, UrlSigner, signed_meta_headers
from sandbox.storage import s3_error, store_body

AUDIENCE = "api://customer-api"
DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_API_TOKEN = "sandbox-api-token"
DEFAULT_ORG_ID = 1
DEFAULT_INTEGRATION_ID = 101  # csv_upload, enabled: the one to upload to
DISABLED_INTEGRATION_ID = 102  # sftp, disabled: its signed URL is refused
DEFAULT_QUERY_INTERVAL_SECS = 900
DEFAULT_TOKEN_TTL = 3600
DEFAULT_SIGNED_URL_TTL = 15 * 60
DEFAULT_MAX_PUT_BYTES = 5_000_000_000
BUCKET = "raptormaps-uploads"
STATE_FILE = "raptormaps-state.sqlite3"
ISSUER = "https://sandbox.raptormaps.invalid/"

INTEGRATION_FIELDS = ("id", "org_id", "api_type", "auth_info", "query_interval_secs", "settings", "enabled")
# Fake third-party secrets, there so a client can prove it never stores or logs them.
DEFAULT_ORG_INTEGRATIONS = (
    {
        "id": DEFAULT_INTEGRATION_ID,
        "org_id": DEFAULT_ORG_ID,
        "api_type": "csv_upload",
        "auth_info": {"username": "sandbox-feed", "password": "sandbox-feed-password"},
        "query_interval_secs": DEFAULT_QUERY_INTERVAL_SECS,
        "settings": {},
        "enabled": True,
    },
    {
        "id": DISABLED_INTEGRATION_ID,
        "org_id": DEFAULT_ORG_ID,
        "api_type": "sftp",
        "auth_info": {"username": "sandbox-sftp", "password": "sandbox-sftp-password"},
        "query_interval_secs": DEFAULT_QUERY_INTERVAL_SECS,
        "settings": {},
        "enabled": False,
    },
)

API = "/insights/api/v1/integrations/org_integrations"
OBJECT_KEY = re.compile(r"(?P<org_id>[0-9]+)/(?P<integration_id>[0-9]+)/[0-9a-f-]+\.csv")
SIGNATURE_MISMATCH = "The request signature we calculated does not match the signature you provided"
S3_CODES = {400: "BadRequest", 403: "AccessDenied", 404: "NoSuchKey", 500: "InternalError", 503: "SlowDown"}


@dataclass(frozen=True)
class Settings:
    token_ttl: int = DEFAULT_TOKEN_TTL
    signed_url_ttl: int = DEFAULT_SIGNED_URL_TTL
    max_put_bytes: int = DEFAULT_MAX_PUT_BYTES
    clients: tuple = ((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),)
    api_tokens: tuple = (DEFAULT_API_TOKEN,)
    org_integrations: tuple = field(default_factory=lambda: copy.deepcopy(DEFAULT_ORG_INTEGRATIONS))
    # Off only to measure transport alone: uploads are then stored and hashed, not checked.
    check_csv: bool = True
    # On: signed URLs are signed with object metadata (x-amz-meta-* headers the PUT must send), and
    # the signed_url answer is {"url", "headers"} instead of the seed's bare string.
    signed_metadata: bool = False

    def as_json(self):
        return {
            "token_ttl": self.token_ttl,
            "signed_url_ttl": self.signed_url_ttl,
            "max_put_bytes": self.max_put_bytes,
            "clients": [{"client_id": cid, "client_secret": secret} for cid, secret in self.clients],
            "api_tokens": list(self.api_tokens),
            "org_integrations": copy.deepcopy(list(self.org_integrations)),
            "check_csv": self.check_csv,
            "signed_metadata": self.signed_metadata,
        }


class RaptorMaps(ConfiguredService):
    title = "Raptor Maps"
    name = "raptormaps"
    operations = ("token", "org_integrations", "signed_url", "put")
    handler_fault_modes = {
        "org_integrations": frozenset({"expire_token"}),
        "signed_url": frozenset({"expired", "expire_token"}),
    }
    json_operations = ("token", "org_integrations", "signed_url")  # a PUT answers nothing, or S3's XML

    def __init__(self, data_dir):
        self._lock = threading.Lock()
        self._secret = secrets.token_bytes(32)
        self._signer = UrlSigner(self._secret)
        self._storage = data_dir / BUCKET
        self._state = StateStore(data_dir / STATE_FILE)
        self._initial = Settings()
        self._generation = 0
        self._start()

    def _start(self):
        """The start settings, no tokens; the uploads received before a restart (persist.py)."""
        counters = self._state.counters()
        with self._lock:
            self._settings = self._initial
            self._tokens = {}  # issued access token -> when it expires (epoch seconds); not kept
            self._tokens_issued = counters.get("tokens_issued", 0)
            self._signed_urls_issued = counters.get("signed_urls_issued", 0)
            # A record whose file is gone (removed by hand) is dropped with it.
            self._uploads = [
                upload for _, upload in self._state.records("uploads") if (self._storage / upload["key"]).is_file()
            ]
            self._incomplete = [record for _, record in self._state.records("incomplete")]
            # One signed URL per PUT. URLs signed before a restart no longer match its new secret anyway.
            self._used_keys = {upload["key"] for upload in self._uploads}
            self._receiving = set()
            # A PUT still arriving when the sandbox resets must not record into the new state.
            self._generation += 1
            self._storage.mkdir(parents=True, exist_ok=True)

    def reset(self):
        """Start afresh: the start settings, no tokens, no uploads, an empty storage folder."""
        with self._lock:
            self._generation += 1  # a PUT arriving meanwhile records nothing, in memory or on disk
            self._state.clear()
            shutil.rmtree(self._storage, ignore_errors=True)
        self._start()

    def close(self):
        self._state.close()

    # --- the service's shape ------------------------------------------------------------------------

    def routes(self):
        return [
            route("POST", r"/oauth/token", "token", self.issue_token),
            route("GET", API, "org_integrations", self.list_org_integrations),
            route("GET", API + r"/(?P<integration_id>[0-9]+)/signed_url", "signed_url", self.signed_url),
            route("PUT", r"/storage/(?P<bucket>[^/]+)/(?P<key>.+)", "put", self.put_object),
        ]

    def control_routes(self):
        return [route("GET", r"/_sandbox/uploads/(?P<key>.+)", "upload_content", self.upload_content)]

    def fault_response(self, operation, status, message):
        if operation == "put":
            code = S3_CODES.get(status, HTTPStatus(status).phrase.replace(" ", ""))
            return s3_error(status, code, message)
        return json_error(status, HTTPStatus(status).phrase.lower().replace(" ", "_"), message)

    def snapshot(self):
        with self._lock:
            return {
                "org_integrations": copy.deepcopy(list(self._settings.org_integrations)),
                "uploads": copy.deepcopy(self._uploads),
                "incomplete_uploads": copy.deepcopy(self._incomplete),
                "tokens_issued": self._tokens_issued,
                "signed_urls_issued": self._signed_urls_issued,
                "config": self._settings.as_json(),
            }

    def kept(self):
        with self._lock:
            count = len(self._uploads)
        return f"Raptor Maps {count} upload(s)" if count else ""

    def describe(self, base_url):
        with self._lock:
            settings = self._settings
        logins = [f"client_id {cid} / client_secret {secret}" for cid, secret in settings.clients]
        logins += [f"API token {token}" for token in settings.api_tokens]
        integrations = [
            f"{item['id']} ({item['api_type']}, org {item['org_id']}{'' if item['enabled'] else ', disabled'})"
            for item in settings.org_integrations
        ]
        return (
            f"Raptor Maps at {base_url} (token: POST /oauth/token, audience {AUDIENCE}). "
            f"Log in with {' or '.join(logins) or 'nothing (no clients configured)'}. "
            f"Org integrations: {', '.join(integrations) or 'none'}."
        )

    # --- OAuth and bearer tokens --------------------------------------------------------------------

    def issue_token(self, request):
        try:
            payload = request.json()
        except BadRequest as error:
            return json_error(400, "invalid_request", str(error))
        if not isinstance(payload, dict):
            return json_error(400, "invalid_request", "the body must be a JSON object")
        missing = [name for name in ("client_id", "client_secret", "audience") if not _text(payload.get(name))]
        if missing:
            return json_error(400, "invalid_request", f"missing {', '.join(missing)}")
        if payload["audience"] != AUDIENCE:
            return json_error(400, "invalid_request", f'audience must be "{AUDIENCE}", not "{payload["audience"]}"')
        with self._lock:
            settings = self._settings
            if (payload["client_id"], payload["client_secret"]) not in settings.clients:
                return json_error(401, "access_denied", "unknown client_id or wrong client_secret")
            now = time.time()
            token = self._jwt(payload["client_id"], now, settings.token_ttl)
            self._tokens[token] = now + settings.token_ttl
            self._tokens_issued += 1
            self._state.put("counters", "tokens_issued", self._tokens_issued)
        return json_response(200, {"access_token": token, "token_type": "Bearer", "expires_in": settings.token_ttl})

    def _jwt(self, client_id, now, ttl):
        """A JWT-shaped token (HS256 under the sandbox's secret); the sandbox checks it by lookup."""
        claims = {
            "iss": ISSUER,
            "sub": f"{client_id}@clients",
            "aud": AUDIENCE,
            "iat": int(now),
            "exp": int(now + ttl),
            "jti": uuid.uuid4().hex,
        }
        signing_input = _b64json({"alg": "HS256", "typ": "JWT"}) + "." + _b64json(claims)
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64(signature)

    def _refuse_unauthorised(self, request):
        """A 401 response unless the request carries a valid bearer token; None when it does.

        An ``expire_token`` fault expires the token on the spot: an issued one runs out (a new one
        from /oauth/token works), a static API token is revoked until the sandbox resets."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _unauthorised("missing_token", "send Authorization: Bearer <access token>")
        expire = request.fault is not None and request.fault.mode == "expire_token"
        with self._lock:
            settings = self._settings
            if token in settings.api_tokens:
                if not expire:
                    return None
                kept = tuple(item for item in settings.api_tokens if item != token)
                self._settings = replace(settings, api_tokens=kept)
                return _unauthorised("invalid_token", "the API token expired; ask for a new one")
            expires_at = self._tokens.get(token)
            if expires_at is not None and expire:
                expires_at = self._tokens[token] = min(expires_at, time.time())
        if expires_at is None:
            return _unauthorised("invalid_token", "unknown access token")
        if time.time() >= expires_at:
            return _unauthorised("invalid_token", "the access token expired; ask /oauth/token for a new one")
        return None

    # --- org integrations and signed URLs -----------------------------------------------------------

    def list_org_integrations(self, request):
        refusal = self._refuse_unauthorised(request)
        if refusal:
            return refusal
        org_id = request.query.get("org_id")
        if org_id is not None:
            try:
                org_id = int(org_id)
            except ValueError:
                return json_error(400, "bad_request", f"org_id must be an integer, not {org_id!r}")
        with self._lock:
            integrations = copy.deepcopy(list(self._settings.org_integrations))
        return json_response(200, [item for item in integrations if org_id is None or item["org_id"] == org_id])

    def signed_url(self, request):
        refusal = self._refuse_unauthorised(request)
        if refusal:
            return refusal
        integration_id = int(request.params["integration_id"])
        with self._lock:
            settings = self._settings
            integration = next((item for item in settings.org_integrations if item["id"] == integration_id), None)
        if integration is None:
            return json_error(404, "not_found", f"no org integration {integration_id}")
        if not integration["enabled"]:
            return json_error(403, "forbidden", f"org integration {integration_id} is disabled")
        key = f"{integration['org_id']}/{integration_id}/{uuid.uuid4()}.csv"
        signed_at = time.time()
        if request.fault is not None and request.fault.mode == "expired":
            signed_at -= settings.signed_url_ttl + 60
        metadata = None
        if settings.signed_metadata:
            metadata = {
                META_PREFIX + "org-id": str(integration["org_id"]),
                META_PREFIX + "integration-id": str(integration_id),
            }
        url = self._signer.sign(
            f"http://{request.host}", f"/storage/{BUCKET}/{key}", settings.signed_url_ttl, signed_at, metadata
        )
        with self._lock:
            self._signed_urls_issued += 1
            self._state.put("counters", "signed_urls_issued", self._signed_urls_issued)
        if metadata:  # the headers the URL is signed with, which the URL itself does not carry
            return json_response(200, {"url": url, "headers": metadata})
        return json_response(200, url)  # a bare JSON string, as the seed reads it

    # --- the PUT to the signed URL ------------------------------------------------------------------

    def put_object(self, request):
        """S3's checks in S3's order, then the body to a file, hashed and checked as the contract's CSV."""
        refusal = self._refuse_credentials(request)
        if refusal:
            return refusal
        metadata = {name: request.headers.get(name, "") for name in signed_meta_headers(request.query)}
        check = self._signer.check(request.path, request.query, time.time(), metadata)
        if check is Check.MISMATCH:
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided",
            )
        if check is Check.EXPIRED:
            return s3_error(
                403, "AccessDenied", "Request has expired", details={"X-Amz-Expires": request.query["X-Amz-Expires"]}
            )
        key = request.params["key"]
        shape = OBJECT_KEY.fullmatch(key)
        if request.params["bucket"] != BUCKET or shape is None:
            return s3_error(404, "NoSuchBucket", "The specified bucket does not exist")
        with self._lock:
            if key in self._used_keys or key in self._receiving:
                return s3_error(403, "AccessDenied", "This signed URL has been used already: one signed URL per PUT")
            self._receiving.add(key)
            settings = self._settings
            generation = self._generation
        stored = None
        try:
            refusal = self._refuse_headers(request, settings)
            if refusal:
                return refusal
            request.send_continue()
            stored = store_body(request.body_reader(), self._storage / key, check=settings.check_csv)
        except IncompleteBody as error:
            self._record_incomplete(key, shape, error)
            return s3_error(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
                note=str(error),
            )
        finally:
            self._end_receiving(key, shape, stored, generation, metadata)
        report = stored.report
        if report is not None and not report.valid:
            return s3_error(
                400,
                "InvalidCsv",
                f"The file breaks the Raptor Maps CSV contract: {report.problem_count} problem(s)",
                problems=report.messages(),
            )
        return Response(200, b"", None, {"ETag": f'"{stored.sha256}"'})

    @staticmethod
    def _refuse_credentials(request):
        """The storage host takes the URL's signature alone: a bearer token sent along is refused
        (S3: one auth mechanism per request), as are x-amz-* headers the URL is not signed for and
        signed x-amz-meta-* headers the request leaves out. None when the request passes."""
        if request.headers.get("Authorization") is not None:
            return s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
                "string parameter or the Authorization header should be specified",
                details={"ArgumentName": "Authorization"},  # never its value: the storage host must not see it
                note="an Authorization header came with the signed URL's PUT",
            )
        if not request.query.get("X-Amz-Signature"):
            return s3_error(403, "AccessDenied", "Anonymous PUT is not allowed: the URL carries no X-Amz-Signature")
        signed = signed_meta_headers(request.query)
        unsigned = sorted({name.lower() for name in request.headers if name.lower().startswith("x-amz-")} - set(signed))
        if unsigned:
            return s3_error(
                403,
                "AccessDenied",
                "There were headers present in the request which were not signed",
                details={"HeadersNotSigned": ", ".join(unsigned)},
            )
        missing = [name for name in signed if request.headers.get(name) is None]
        if missing:
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                f"{SIGNATURE_MISMATCH}: the URL is signed for the header(s) {', '.join(missing)}, "
                "which the request did not send",
            )
        return None

    @staticmethod
    def _refuse_headers(request, settings):
        content_type = request.headers.get("Content-Type")
        if content_type != CONTENT_TYPE:
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                f"{SIGNATURE_MISMATCH}: the URL is signed for Content-Type {CONTENT_TYPE}, "
                f"the request sent {content_type or 'none'}",
            )
        if request.chunked:
            return s3_error(
                501,
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
                details={"Header": "Transfer-Encoding"},
            )
        if request.content_length is None:
            return s3_error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        if request.content_length > settings.max_put_bytes:
            return s3_error(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                details={"ProposedSize": request.content_length, "MaxSizeAllowed": settings.max_put_bytes},
            )
        return None

    def _end_receiving(self, key, shape, stored, generation, metadata):
        """Record a file received whole (``stored``) and mark its URL used, in one step, so that a
        racing PUT to the same URL sees it either in progress or used, never free."""
        upload = stored and self._upload_record(key, shape, stored, metadata)
        with self._lock:
            self._receiving.discard(key)
            if upload is None:
                return
            if generation != self._generation:  # the sandbox was reset while this arrived
                (self._storage / key).unlink(missing_ok=True)
                return
            self._uploads.append(upload)
            self._used_keys.add(key)
            self._state.put("uploads", key, upload)

    @staticmethod
    def _upload_record(key, shape, stored, metadata):
        report = stored.report
        return {
            "key": key,
            "org_id": int(shape["org_id"]),
            "integration_id": int(shape["integration_id"]),
            # The object's x-amz-meta-* metadata by name, as S3 keeps it (without the prefix).
            "metadata": {name[len(META_PREFIX) :]: value for name, value in metadata.items()},
            "bytes": stored.size,
            "rows": report.rows if report else None,
            "sha256": stored.sha256,
            "valid": report.valid if report else None,
            "problems": report.messages() if report else [],
            "problem_count": report.problem_count if report else 0,
            "received_at": utc_now_iso(),
        }

    def _record_incomplete(self, key, shape, error):
        record = {
            "key": key,
            "org_id": int(shape["org_id"]),
            "integration_id": int(shape["integration_id"]),
            "expected_bytes": error.expected,
            "received_bytes": error.received,
            "at": utc_now_iso(),
        }
        with self._lock:
            self._incomplete.append(record)
            self._state.put("incomplete", len(self._incomplete), record)

    # --- control ------------------------------------------------------------------------------------

    def upload_content(self, request):
        key = request.params["key"]
        with self._lock:
            known = any(upload["key"] == key for upload in self._uploads)
        if not known:
            return json_error(404, "not_found", f"no upload with key {key!r}")
        return Response(200, (self._storage / key).read_bytes(), "text/csv")


def _unauthorised(error, message):
    return json_error(401, error, message, headers={"WWW-Authenticate": f'Bearer error="{error}"'})


def _text(value):
    return isinstance(value, str) and value != ""


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64json(payload):
    return _b64(json.dumps(payload, separators=(",", ":")).encode())


# --- settings: each parser returns the value to store or raises ValueError -----------------------------


def _clients(value):
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and set(item) == {"client_id", "client_secret"} and all(map(_text, item.values()))
        for item in value
    ):
        raise ValueError("clients must be a list of {client_id, client_secret} objects with text values")
    return tuple((item["client_id"], item["client_secret"]) for item in value)


def _api_tokens(value):
    if not isinstance(value, list) or not all(_text(item) for item in value):
        raise ValueError("api_tokens must be a list of non-empty strings")
    return tuple(value)


def _org_integrations(value):
    if not isinstance(value, list):
        raise ValueError("org_integrations must be a list of objects")
    integrations = tuple(_org_integration(item) for item in value)
    ids = [item["id"] for item in integrations]
    if len(set(ids)) != len(ids):
        raise ValueError("org_integrations ids must be unique")
    return integrations


def _org_integration(item):
    """One integration; only ``id`` is required, the other fields default to the csv_upload example's."""
    if not isinstance(item, dict) or isinstance(item.get("id"), bool) or not isinstance(item.get("id"), int):
        raise ValueError("each org integration needs an integer id")
    unknown = sorted(set(item) - set(INTEGRATION_FIELDS))
    if unknown:
        raise ValueError(f"unknown org integration fields: {', '.join(unknown)}")
    merged = {**copy.deepcopy(DEFAULT_ORG_INTEGRATIONS[0]), **copy.deepcopy(item)}
    types = {"org_id": int, "api_type": str, "auth_info": dict, "query_interval_secs": int, "settings": dict}
    for name, kind in types.items():
        if isinstance(merged[name], bool) or not isinstance(merged[name], kind):
            raise ValueError(f"org integration {item['id']}: {name} must be {kind.__name__}")
    if not isinstance(merged["enabled"], bool):
        raise ValueError(f"org integration {item['id']}: enabled must be true or false")
    return {name: merged[name] for name in INTEGRATION_FIELDS}


SETTING_PARSERS = {
    "token_ttl": whole("token_ttl", 0),
    "signed_url_ttl": whole("signed_url_ttl", 1, MAX_EXPIRES),
    "max_put_bytes": whole("max_put_bytes", 0),
    "clients": _clients,
    "api_tokens": _api_tokens,
    "org_integrations": _org_integrations,
    "check_csv": flag("check_csv"),
    "signed_metadata": flag("signed_metadata"),
}

# Set here: the parsers are defined after the class.
RaptorMaps.setting_parsers = SETTING_PARSERS
