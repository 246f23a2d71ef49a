"""The WattCarbon stand-in: password-grant tokens, meters and their timeseries, assets and DR documents.

It follows contracts.md section 2, assumptions included (paths, statuses, ``expires_in``, the
FastAPI error shape ``{"detail": ...}``). The defaults below are what the demo data and the tests
use; ``POST /_sandbox/config`` changes them and ``POST /_sandbox/reset`` puts them back.

Meters, assets and documents are kept in memory and, for restarts, in a SQLite file of records
(persist.py); interval and bill rows in a SQLite file of their own (series.py), since millions of
them go through. Both are in the data directory; a reset empties them. The checks of JSON bodies are in
wattcarbon_bodies.py, of CSV files in wattcarbon_csv.py; errors and request bodies in FastAPI's
shape in wattcarbon_http.py.
"""

import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus

from sandbox import wattcarbon_bodies as bodies
from sandbox import wattcarbon_csv
from sandbox.exchange import BadRequest, IncompleteBody, json_response, route
from sandbox.persist import StateStore
from sandbox.requestlog import utc_now_iso
from sandbox.series import SeriesStore, Stale, instant_iso
from sandbox.service import ConfiguredService
from sandbox.settings_values import flag, whole
from sandbox.wattcarbon_http import (
    ApiError,
    file_part,
    file_problem,
    form_fields,
    invalid,
    json_object,
    path_id,
    problem,
    read_form,
    unauthorised,
)

log = logging.getLogger("sandbox")

DEFAULT_EMAIL = "sandbox@wattcarbon.invalid"
DEFAULT_API_KEY = "sandbox-wattcarbon-api-key"
DEFAULT_ACCOUNT_ID = "sandbox-account"
DEFAULT_TOKEN_TTL = 24 * 60 * 60  # the documented 24 hours
DEFAULT_MAX_UPLOAD_BYTES = 100_000_000
FIRST_METER_ID = 1001
FIRST_ASSET_ID = 5001
FIRST_DOCUMENT_ID = 9001
DATABASE = "wattcarbon.sqlite3"
STATE_FILE = "wattcarbon-state.sqlite3"
DOCUMENT_TYPE = "demand_response_events"

ACCOUNT = r"/accounts/(?P<account_id>[^/]+)"
ACCOUNT_ID = re.compile(r"[A-Za-z0-9._~-]+")  # it goes into paths as it is
# HTTP libraries and tools whose own User-Agent names no app: a request carrying only these is refused.
GENERIC_AGENTS = frozenset(
    {
        "python-requests",
        "python-httpx",
        "python-urllib",
        "python",
        "urllib3",
        "python-urllib3",
        "aiohttp",
        "curl",
        "wget",
        "httpie",
        "go-http-client",
        "okhttp",
        "axios",
        "node-fetch",
        "undici",
        "node",
        "java",
        "apache-httpclient",
        "libwww-perl",
        "postmanruntime",
        "insomnia",
    }
)
COMMENT = re.compile(r"\([^)]*\)")
AUTHENTICATED = (
    "create_meter",
    "get_meter",
    "upload_intervals",
    "upload_bills",
    "create_asset",
    "find_assets",
    "get_asset",
    "update_asset",
    "upload_document",
)


@dataclass(frozen=True)
class Account:
    email: str
    api_key: str
    account_id: str

    def as_json(self):
        return {"email": self.email, "api_key": self.api_key, "account_id": self.account_id}


@dataclass(frozen=True)
class Settings:
    token_ttl: int = DEFAULT_TOKEN_TTL
    accounts: tuple = (Account(DEFAULT_EMAIL, DEFAULT_API_KEY, DEFAULT_ACCOUNT_ID),)
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    require_user_agent: bool = True

    def as_json(self):
        return {
            "token_ttl": self.token_ttl,
            "accounts": [account.as_json() for account in self.accounts],
            "max_upload_bytes": self.max_upload_bytes,
            "require_user_agent": self.require_user_agent,
        }


class WattCarbon(ConfiguredService):
    title = "WattCarbon"
    name = "wattcarbon"
    operations = ("token", *AUTHENTICATED)
    handler_fault_modes = {operation: frozenset({"expire_token"}) for operation in AUTHENTICATED}
    json_operations = operations  # every answer is JSON
    path_prefixes = ("/auth/", "/accounts/")

    def __init__(self, data_dir):
        self._lock = threading.Lock()
        self._series = SeriesStore(data_dir / DATABASE)
        self._state = StateStore(data_dir / STATE_FILE)
        self._initial = Settings()
        self._generation = 0
        self._start()

    def _start(self):
        """The start settings and no tokens; the meters, assets, documents, rows and id counters
        from before a restart (persist.py, series.py)."""
        state = self._state
        counters = state.counters()
        with self._lock:
            self._settings = self._initial
            self._tokens = {}  # access token -> [account_id, expires at (epoch seconds)]; not kept
            self._tokens_issued = counters.get("tokens_issued", 0)
            # id -> {"meter": the meter's JSON, "series": its counts and sums}
            self._meters = {int(key): entry for key, entry in state.records("meters")}
            # id -> {"accountId", "fields": as stored, "documents": [...]}
            self._assets = {int(key): entry for key, entry in state.records("assets")}
            self._uploads = [upload for _, upload in state.records("uploads")]
            self._next_meter = counters.get("next_meter", FIRST_METER_ID)
            self._next_asset = counters.get("next_asset", FIRST_ASSET_ID)
            self._next_document = counters.get("next_document", FIRST_DOCUMENT_ID)
            # An upload still arriving when the sandbox resets must not record into the new state.
            self._generation += 1

    def reset(self):
        """Start afresh: the start settings; no tokens, meters, assets, documents or rows."""
        with self._lock:
            self._generation += 1
            self._state.clear()
        self._series.reset()
        self._start()

    def close(self):
        self._series.close()
        self._state.close()

    # --- the service's shape ------------------------------------------------------------------------

    def routes(self):
        meter = ACCOUNT + r"/meters/(?P<meter_id>[^/]+)"
        asset = ACCOUNT + r"/assets/(?P<asset_id>[^/]+)"
        return [
            route("POST", r"/auth/token", "token", self._api(self.issue_token, authenticated=False)),
            route("POST", ACCOUNT + r"/meters", "create_meter", self._api(self.create_meter)),
            route("GET", meter, "get_meter", self._api(self.get_meter)),
            route("POST", meter + r"/intervals", "upload_intervals", self._api(self.upload_intervals)),
            route("POST", meter + r"/bills", "upload_bills", self._api(self.upload_bills)),
            route("POST", ACCOUNT + r"/assets", "create_asset", self._api(self.create_asset)),
            route("GET", ACCOUNT + r"/assets", "find_assets", self._api(self.find_assets)),
            route("GET", asset, "get_asset", self._api(self.get_asset)),
            route("PATCH", asset, "update_asset", self._api(self.update_asset)),
            route("POST", asset + r"/documents", "upload_document", self._api(self.upload_document)),
        ]

    def control_routes(self):
        meter = r"/_sandbox/wattcarbon/meters/(?P<meter_id>[0-9]+)"
        return [
            route("GET", meter + r"/intervals", "wattcarbon_intervals", self.control_intervals),
            route("GET", meter + r"/bills", "wattcarbon_bills", self.control_bills),
            route("POST", r"/_sandbox/wattcarbon/expire_tokens", "wattcarbon_expire_tokens", self.expire_tokens),
        ]

    def fault_response(self, operation, status, message):
        return json_response(status, {"detail": message})

    def unrouted_response(self, status, allowed):
        headers = {"Allow": ", ".join(allowed)} if allowed else {}
        return json_response(status, {"detail": HTTPStatus(status).phrase}, headers)

    def snapshot(self):
        with self._lock:
            meters = [self._meter_state(entry) for entry in self._meters.values()]
            assets = [self._asset_state(asset_id, entry) for asset_id, entry in self._assets.items()]
            return {
                "accounts": [
                    {"email": account.email, "account_id": account.account_id} for account in self._settings.accounts
                ],
                "tokens_issued": self._tokens_issued,
                "meters": meters,
                "assets": assets,
                "uploads": [dict(upload) for upload in self._uploads],
                "config": self._settings.as_json(),
            }

    @staticmethod
    def _meter_state(entry):
        return {**entry["meter"], **entry["series"]}

    @staticmethod
    def _asset_state(asset_id, entry):
        documents = [
            {**document, "events": [list(event) for event in document["events"]]} for document in entry["documents"]
        ]
        return {**bodies.asset_json(asset_id, entry["accountId"], entry["fields"]), "documents": documents}

    def kept(self):
        with self._lock:
            meters, assets = len(self._meters), len(self._assets)
        return f"WattCarbon {meters} meter(s), {assets} asset(s)" if meters or assets else ""

    def describe(self, base_url):
        with self._lock:
            settings = self._settings
        logins = [
            f"email {account.email} / API key {account.api_key} (account {account.account_id})"
            for account in settings.accounts
        ]
        return (
            f"WattCarbon at {base_url} (token: POST /auth/token, form grant_type=password, username=<email>, "
            f"password=<API key>; send a User-Agent naming your app). "
            f"Log in with {' or '.join(logins) or 'nothing (no accounts configured)'}."
        )

    # --- what every API call goes through -----------------------------------------------------------

    def _api(self, handler, authenticated=True):
        """The handler behind the checks every call meets: a User-Agent naming the app, then (for all
        but the token) a valid bearer token for the path's account. Errors answer as FastAPI does."""

        def handle(request):
            try:
                self._require_user_agent(request)
                if not authenticated:
                    return handler(request)
                account_id = self._authenticate(request)
                if request.params["account_id"] != account_id:
                    raise ApiError(403, f"This token is not for account {request.params['account_id']}")
                return handler(request, account_id)
            except ApiError as error:
                return error.response()
            except BadRequest as error:
                return ApiError(error.response.status, str(error)).response()
            except IncompleteBody as error:
                return ApiError(400, "The body ended before its Content-Length", note=str(error)).response()
            except Exception:
                log.exception("the WattCarbon sandbox failed on a request")
                return ApiError(500, "Internal Server Error", note="the sandbox failed: see its log").response()

        return handle

    def _require_user_agent(self, request):
        with self._lock:
            required = self._settings.require_user_agent
        if not required:
            return
        agent = (request.headers.get("User-Agent") or "").strip()
        products = COMMENT.sub(" ", agent).split()
        if not products:
            raise ApiError(400, "Send a User-Agent header that names your app (this request had none)")
        if all(product.split("/")[0].lower() in GENERIC_AGENTS for product in products):
            raise ApiError(400, f"Send a User-Agent header that names your app, not only your HTTP library ({agent!r})")

    def _authenticate(self, request):
        """The account of the request's bearer token; a 401 when there is none, it is unknown or expired.

        An ``expire_token`` fault expires the token here, on the spot."""
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        token = token.strip()
        now = time.time()
        with self._lock:
            found = self._tokens.get(token) if scheme.lower() == "bearer" and token else None
            if found is None:
                raise unauthorised("Not authenticated")
            if request.fault is not None and request.fault.mode == "expire_token":
                found[1] = min(found[1], now)
            account_id, expires_at = found
        if now >= expires_at:
            raise unauthorised("Token expired")
        return account_id

    # --- tokens -------------------------------------------------------------------------------------

    def issue_token(self, request):
        fields = form_fields(request)
        missing = [name for name in ("grant_type", "username", "password") if name not in fields]
        if missing:
            raise invalid(*(problem(("body", name), "Field required", "missing") for name in missing))
        if fields["grant_type"] != "password":
            raise ApiError(400, "unsupported_grant_type")
        with self._lock:
            settings = self._settings
            account = next(
                (
                    account
                    for account in settings.accounts
                    if account.email.lower() == fields["username"].lower()
                    and secrets.compare_digest(account.api_key.encode(), fields["password"].encode())
                ),
                None,
            )
            if account is None:
                raise unauthorised("Incorrect username or password")
            token = secrets.token_urlsafe(32)
            self._tokens[token] = [account.account_id, time.time() + settings.token_ttl]
            self._tokens_issued += 1
            self._state.put("counters", "tokens_issued", self._tokens_issued)
        return json_response(200, {"access_token": token, "token_type": "bearer", "expires_in": settings.token_ttl})

    # --- meters -------------------------------------------------------------------------------------

    def create_meter(self, request, account_id):
        payload = json_object(request)
        fields, problems = bodies.check_meter(payload)
        if problems:
            raise invalid(*problems)
        with self._lock:
            meter_id = self._next_meter
            self._next_meter += 1
            meter = {"id": meter_id, "accountId": account_id, **fields}
            self._meters[meter_id] = {"meter": meter, "series": _empty_series()}
            self._state.put("counters", "next_meter", self._next_meter)
            self._state.put("meters", meter_id, self._meters[meter_id])
        return json_response(201, meter)

    def get_meter(self, request, account_id):
        meter_id = path_id(request, "meter_id")
        with self._lock:
            return json_response(200, dict(self._meter(meter_id, account_id)["meter"]))

    def _meter(self, meter_id, account_id):
        """The meter's entry; 404 unless it is one of the account's (call with the lock held)."""
        entry = self._meters.get(meter_id)
        if entry is None or entry["meter"]["accountId"] != account_id:
            raise ApiError(404, "Meter not found")
        return entry

    def upload_intervals(self, request, account_id):
        return self._upload_series(request, account_id, "intervals")

    def upload_bills(self, request, account_id):
        return self._upload_series(request, account_id, "bills")

    def _upload_series(self, request, account_id, kind):
        meter_id = path_id(request, "meter_id")
        with self._lock:
            self._meter(meter_id, account_id)
            generation = self._generation
            max_bytes = self._settings.max_upload_bytes
        problems = wattcarbon_csv.Problems()

        def current():
            return self._generation == generation

        with read_form(request, max_bytes) as form:
            upload = file_part(form)
            if kind == "intervals":
                rows = wattcarbon_csv.interval_rows(upload.file, problems)
                write = self._series.write_intervals
            else:
                rows = wattcarbon_csv.bill_rows(upload.file, problems)
                write = self._series.write_bills
            try:
                written = write(meter_id, rows, lambda: not problems, current)
            except Stale:
                raise ApiError(404, "Meter not found", note="the sandbox was reset during the upload") from None
        if written is None:
            raise ApiError(422, problems.detail(), note=f"{problems.count} problem(s) in the file")
        with self._lock:
            if not current():
                raise ApiError(404, "Meter not found", note="the sandbox was reset during the upload")
            self._meters[meter_id]["series"].update(_series_state(kind, written))
            upload = {
                "meterId": meter_id,
                "kind": kind,
                "received": written.received,
                "inserted": written.inserted,
                "updated": written.updated,
                "time": utc_now_iso(),
            }
            self._uploads.append(upload)
            self._state.put("meters", meter_id, self._meters[meter_id])
            self._state.put("uploads", len(self._uploads), upload)
        return json_response(
            200,
            {
                "meterId": meter_id,
                "received": written.received,
                "inserted": written.inserted,
                "updated": written.updated,
            },
        )

    # --- assets -------------------------------------------------------------------------------------

    def create_asset(self, request, account_id):
        payload = json_object(request)
        with self._lock:
            fields = self._checked_asset(
                bodies.without_nulls(payload), bodies.null_names(payload), account_id, asset_id=None
            )
            asset_id = self._next_asset
            self._next_asset += 1
            self._assets[asset_id] = {"accountId": account_id, "fields": fields, "documents": []}
            self._state.put("counters", "next_asset", self._next_asset)
            self._state.put("assets", asset_id, self._assets[asset_id])
            return json_response(201, bodies.asset_json(asset_id, account_id, fields))

    def find_assets(self, request, account_id):
        custom_id = request.query.get("customId")
        with self._lock:
            found = [
                bodies.asset_json(asset_id, account_id, entry["fields"])
                for asset_id, entry in self._assets.items()
                if entry["accountId"] == account_id
                and (custom_id is None or entry["fields"].get("customId") == custom_id)
            ]
        return json_response(200, found)

    def get_asset(self, request, account_id):
        asset_id = path_id(request, "asset_id")
        with self._lock:
            entry = self._asset(asset_id, account_id)
            return json_response(200, bodies.asset_json(asset_id, account_id, entry["fields"]))

    def update_asset(self, request, account_id):
        asset_id = path_id(request, "asset_id")
        payload = json_object(request)
        with self._lock:
            entry = self._asset(asset_id, account_id)
            merged = dict(entry["fields"])
            for name, value in payload.items():
                if value is None:
                    merged.pop(name, None)
                else:
                    merged[name] = value
            entry["fields"] = self._checked_asset(merged, bodies.null_names(payload), account_id, asset_id)
            self._state.put("assets", asset_id, entry)
            return json_response(200, bodies.asset_json(asset_id, account_id, entry["fields"]))

    def _checked_asset(self, fields, nulls, account_id, asset_id):
        """The fields to store; 422 for invalid ones, 409 for a customId another asset has (lock held)."""
        meters = {meter_id for meter_id, entry in self._meters.items() if entry["meter"]["accountId"] == account_id}
        checked, problems = bodies.check_asset(fields, meters, nulls)
        if problems:
            raise invalid(*problems)
        custom_id = checked.get("customId")
        if custom_id is not None and any(
            other_id != asset_id and entry["accountId"] == account_id and entry["fields"].get("customId") == custom_id
            for other_id, entry in self._assets.items()
        ):
            raise ApiError(409, f"An asset with customId {custom_id!r} already exists in this account")
        return checked

    def _asset(self, asset_id, account_id):
        entry = self._assets.get(asset_id)
        if entry is None or entry["accountId"] != account_id:
            raise ApiError(404, "Asset not found")
        return entry

    def upload_document(self, request, account_id):
        asset_id = path_id(request, "asset_id")
        with self._lock:
            self._asset(asset_id, account_id)
            generation = self._generation
            max_bytes = self._settings.max_upload_bytes
        with read_form(request, max_bytes) as form:
            problems = []
            kind = form.get("type")
            if kind is None:
                problems.append(problem(("body", "type"), "Field required", "missing"))
            elif kind.is_file or kind.text() != DOCUMENT_TYPE:
                problems.append(problem(("body", "type"), f"Input should be '{DOCUMENT_TYPE}'", "enum"))
            upload = form.get("file")
            if upload is None or not upload.is_file:
                problems.append(file_problem(upload))
            if problems:
                raise invalid(*problems)
            with self._lock:
                asset_kind = self._asset(asset_id, account_id)["fields"]["kind"]
            if asset_kind != bodies.DEMAND_RESPONSE:
                raise invalid(
                    problem(
                        ("path", "asset_id"),
                        f"{DOCUMENT_TYPE} documents are for {bodies.DEMAND_RESPONSE} assets; "
                        f"asset {asset_id} is {asset_kind}",
                        "value_error",
                    )
                )
            file_problems = wattcarbon_csv.Problems()
            events = wattcarbon_csv.event_rows(upload.file, file_problems)
        if file_problems:
            raise ApiError(422, file_problems.detail(), note=f"{file_problems.count} problem(s) in the file")
        with self._lock:
            if generation != self._generation:
                raise ApiError(404, "Asset not found", note="the sandbox was reset during the upload")
            document_id = self._next_document
            self._next_document += 1
            entry = self._asset(asset_id, account_id)
            entry["documents"].append(
                {"id": document_id, "type": DOCUMENT_TYPE, "received_at": utc_now_iso(), "events": events}
            )
            self._state.put("counters", "next_document", self._next_document)
            self._state.put("assets", asset_id, entry)
        return json_response(
            201, {"id": document_id, "assetId": asset_id, "type": DOCUMENT_TYPE, "events": len(events)}
        )

    # --- control ------------------------------------------------------------------------------------

    def control_intervals(self, request):
        meter_id = self._known_meter(request)
        rows = self._series.intervals(meter_id)
        return json_response(200, [{"start_datetime": instant_iso(start), "energy_kwh": kwh} for start, kwh in rows])

    def control_bills(self, request):
        meter_id = self._known_meter(request)
        rows = self._series.bills(meter_id)
        return json_response(
            200, [{"start_date": start, "end_date": end, "energy_kwh": kwh} for start, end, kwh in rows]
        )

    def _known_meter(self, request):
        meter_id = int(request.params["meter_id"])
        with self._lock:
            if meter_id not in self._meters:
                raise BadRequest(f"no WattCarbon meter {meter_id}", status=404, error="not_found")
        return meter_id

    def expire_tokens(self, request):
        """Every issued token expires now; answers how many were still valid."""
        now = time.time()
        with self._lock:
            live = [found for found in self._tokens.values() if found[1] > now]
            for found in live:
                found[1] = now
        return json_response(200, {"expired": len(live)})


def _empty_series():
    return {
        "intervals": 0,
        "intervalKwh": 0.0,
        "firstIntervalStart": None,
        "lastIntervalStart": None,
        "bills": 0,
        "billKwh": 0.0,
        "firstBillStart": None,
        "lastBillStart": None,
    }


def _series_state(kind, written):
    if kind == "intervals":
        return {
            "intervals": written.count,
            "intervalKwh": written.kwh,
            "firstIntervalStart": None if written.first is None else instant_iso(written.first),
            "lastIntervalStart": None if written.last is None else instant_iso(written.last),
        }
    return {
        "bills": written.count,
        "billKwh": written.kwh,
        "firstBillStart": written.first,
        "lastBillStart": written.last,
    }


# --- settings: each parser returns the value to store or raises ValueError -----------------------------


def _accounts(value):
    fields = ("email", "api_key", "account_id")
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and set(item) == set(fields) and all(_text(item[name]) for name in fields)
        for item in value
    ):
        raise ValueError("accounts must be a list of {email, api_key, account_id} objects with text values")
    accounts = tuple(Account(item["email"], item["api_key"], item["account_id"]) for item in value)
    for account in accounts:
        if not ACCOUNT_ID.fullmatch(account.account_id):
            raise ValueError(f"account_id {account.account_id!r} must be letters, digits and . _ ~ - only")
    for name in ("api_key", "account_id"):
        values = [getattr(account, name) for account in accounts]
        if len(set(values)) != len(values):
            raise ValueError(f"accounts: each {name} must be unique")
    return accounts


def _text(value):
    return isinstance(value, str) and value != ""


SETTING_PARSERS = {
    "token_ttl": whole("token_ttl", 0),
    "accounts": _accounts,
    "max_upload_bytes": whole("max_upload_bytes", 1),
    "require_user_agent": flag("require_user_agent"),
}

# Set here: the parsers are defined after the class.
WattCarbon.setting_parsers = SETTING_PARSERS
