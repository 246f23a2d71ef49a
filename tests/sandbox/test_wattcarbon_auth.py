"""WattCarbon's POST /auth/token, the bearer token every other call needs, and the User-Agent rule
(contracts.md 2.1)."""

import json

import pytest
import requests
from urllib3.util import SKIP_HEADER

from sandbox.wattcarbon import DEFAULT_ACCOUNT_ID, DEFAULT_API_KEY, DEFAULT_EMAIL
from tests.fixtures.sandbox import (
    WATTCARBON_AGENT,
    WattCarbonClient,
    wattcarbon_headers,
    wattcarbon_meter_body,
    wattcarbon_token,
)

LOGIN = {"grant_type": "password", "username": DEFAULT_EMAIL, "password": DEFAULT_API_KEY}
AGENT = {"User-Agent": WATTCARBON_AGENT}
METERS = f"/accounts/{DEFAULT_ACCOUNT_ID}/meters"
OTHER_ACCOUNT = {"email": "org@wattcarbon.invalid", "api_key": "org-key", "account_id": "org-account"}
DEFAULT_ACCOUNT = {"email": DEFAULT_EMAIL, "api_key": DEFAULT_API_KEY, "account_id": DEFAULT_ACCOUNT_ID}


def token(sandbox, data=LOGIN, headers=AGENT, **kwargs):
    return requests.post(sandbox.url + "/auth/token", data=data, headers=headers, timeout=10, **kwargs)


def list_assets(sandbox, headers, account_id=DEFAULT_ACCOUNT_ID):
    return requests.get(f"{sandbox.url}/accounts/{account_id}/assets", headers=headers, timeout=10)


def test_the_password_grant_gives_a_bearer_token_for_24_hours(sandbox):
    response = token(sandbox)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 86400)
    assert len(body["access_token"]) >= 40
    assert list_assets(sandbox, wattcarbon_headers(body["access_token"])).json() == []
    assert sandbox.wattcarbon()["tokens_issued"] == 1
    assert [(call["operation"], call["method"], call["status"]) for call in sandbox.calls(service="wattcarbon")] == [
        ("token", "POST", 200),
        ("find_assets", "GET", 200),
    ]


def test_each_token_is_new_and_the_email_is_not_case_sensitive(sandbox):
    first = token(sandbox).json()["access_token"]
    second = token(sandbox, data={**LOGIN, "username": DEFAULT_EMAIL.upper()}).json()["access_token"]
    assert first != second
    assert sandbox.wattcarbon()["tokens_issued"] == 2


@pytest.mark.parametrize(
    "changes",
    [
        {"password": "wrong"},
        {"username": "someone@else.invalid"},
        {"password": DEFAULT_API_KEY.upper()},
        {"password": ""},
    ],
    ids=["wrong key", "unknown email", "key in other case", "empty key"],
)
def test_wrong_credentials_get_401(sandbox, changes):
    response = token(sandbox, data={**LOGIN, **changes})
    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect username or password"}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert sandbox.wattcarbon()["tokens_issued"] == 0


@pytest.mark.parametrize(
    ("missing", "data"),
    [
        (["username"], {"grant_type": "password", "password": DEFAULT_API_KEY}),
        (["password"], {"grant_type": "password", "username": DEFAULT_EMAIL}),
        (["grant_type"], {"username": DEFAULT_EMAIL, "password": DEFAULT_API_KEY}),
        (["grant_type", "username", "password"], {}),
    ],
)
def test_a_missing_form_field_is_a_422_naming_it(sandbox, missing, data):
    response = token(sandbox, data=data)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"loc": ["body", name], "msg": "Field required", "type": "missing"} for name in missing]
    }


def test_a_json_body_is_not_a_form_so_every_field_is_missing(sandbox):
    response = requests.post(sandbox.url + "/auth/token", json=LOGIN, headers=AGENT, timeout=10)
    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == [
        ["body", "grant_type"],
        ["body", "username"],
        ["body", "password"],
    ]


def test_another_grant_type_is_refused_with_400(sandbox):
    response = token(sandbox, data={**LOGIN, "grant_type": "client_credentials"})
    assert (response.status_code, response.json()) == (400, {"detail": "unsupported_grant_type"})


@pytest.mark.parametrize(
    ("agent", "detail"),
    [
        (None, "Send a User-Agent header that names your app (this request had none)"),
        ("", "Send a User-Agent header that names your app (this request had none)"),
        (
            "python-requests/2.34.2",
            "Send a User-Agent header that names your app, not only your HTTP library ('python-requests/2.34.2')",
        ),
        ("curl/8.5.0", "Send a User-Agent header that names your app, not only your HTTP library ('curl/8.5.0')"),
        (
            "python-urllib3/2.8.0",
            "Send a User-Agent header that names your app, not only your HTTP library ('python-urllib3/2.8.0')",
        ),
        (
            "python-httpx/0.28 (linux)",
            "Send a User-Agent header that names your app, not only your HTTP library ('python-httpx/0.28 (linux)')",
        ),
    ],
    ids=["absent", "empty", "requests", "curl", "urllib3", "httpx with a comment"],
)
def test_a_user_agent_that_names_no_app_is_refused_on_every_call(sandbox, agent, detail):
    access_token = wattcarbon_token(sandbox.url)
    # SKIP_HEADER: urllib3 then sends no User-Agent at all (not even its own default).
    headers = {"User-Agent": SKIP_HEADER if agent is None else agent}
    refused_token = requests.post(sandbox.url + "/auth/token", data=LOGIN, headers=headers, timeout=10)
    refused_call = requests.get(
        sandbox.url + METERS + "/1001", headers={**headers, "Authorization": f"Bearer {access_token}"}, timeout=10
    )
    for response in (refused_token, refused_call):
        assert (response.status_code, response.json()) == (400, {"detail": detail})
    assert sandbox.wattcarbon()["tokens_issued"] == 1


def test_a_user_agent_naming_the_app_beside_its_library_is_fine(sandbox):
    response = token(sandbox, headers={"User-Agent": "portfolio-manager/0.1 (+ops@example.com) python-requests/2.34"})
    assert response.status_code == 200


def test_the_user_agent_rule_can_be_switched_off(sandbox):
    sandbox.configure(require_user_agent=False)
    assert token(sandbox, headers={"User-Agent": "curl/8.5.0"}).status_code == 200


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "Not authenticated"),
        ("Bearer", "Not authenticated"),
        (f"Basic {DEFAULT_API_KEY}", "Not authenticated"),
        ("Bearer not-a-token", "Not authenticated"),
        (f"Bearer {DEFAULT_API_KEY}", "Not authenticated"),
    ],
    ids=["no header", "no token", "other scheme", "unknown token", "the API key itself"],
)
def test_calls_without_a_valid_token_get_401(sandbox, authorization, detail):
    headers = {**AGENT, **({"Authorization": authorization} if authorization else {})}
    for response in (
        list_assets(sandbox, headers),
        requests.post(sandbox.url + METERS, json=wattcarbon_meter_body(), headers=headers, timeout=10),
    ):
        assert response.status_code == 401
        assert response.json() == {"detail": detail}
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert sandbox.wattcarbon()["meters"] == []


def test_the_scheme_is_not_case_sensitive(sandbox):
    access_token = wattcarbon_token(sandbox.url)
    assert list_assets(sandbox, {**AGENT, "Authorization": f"bearer {access_token}"}).status_code == 200


def test_token_ttl_sets_expires_in_and_an_expired_token_is_refused_saying_so(sandbox):
    sandbox.configure(wattcarbon={"token_ttl": 0})
    body = token(sandbox).json()
    assert body["expires_in"] == 0
    response = list_assets(sandbox, wattcarbon_headers(body["access_token"]))
    assert (response.status_code, response.json()) == (401, {"detail": "Token expired"})
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_expire_tokens_expires_every_token_issued_so_far(sandbox):
    first, second = wattcarbon_token(sandbox.url), wattcarbon_token(sandbox.url)
    assert sandbox.expire_tokens() == 2
    for access_token in (first, second):
        response = list_assets(sandbox, wattcarbon_headers(access_token))
        assert (response.status_code, response.json()) == (401, {"detail": "Token expired"})
    assert sandbox.expire_tokens() == 0  # none left to expire
    assert list_assets(sandbox, wattcarbon_headers(wattcarbon_token(sandbox.url))).status_code == 200


def test_the_expire_token_fault_expires_the_calls_token_on_the_spot(sandbox, wattcarbon):
    sandbox.fault("create_meter", mode="expire_token", service="wattcarbon")
    response = wattcarbon.post("/meters", json=wattcarbon_meter_body())
    assert (response.status_code, response.json()) == (401, {"detail": "Token expired"})
    assert wattcarbon.get("/assets").status_code == 401  # the token stays expired
    assert sandbox.wattcarbon()["meters"] == []
    fresh = wattcarbon_token(sandbox.url)
    retried = requests.post(
        sandbox.url + METERS, json=wattcarbon_meter_body(), headers=wattcarbon_headers(fresh), timeout=10
    )
    assert retried.status_code == 201
    assert [(call["operation"], call["status"], call["fault"]) for call in sandbox.calls(service="wattcarbon")] == [
        ("token", 200, None),
        ("create_meter", 401, "expire_token"),
        ("find_assets", 401, None),
        ("token", 200, None),
        ("create_meter", 201, None),
    ]


def test_a_token_grants_only_its_own_account(sandbox):
    sandbox.configure(accounts=[DEFAULT_ACCOUNT, OTHER_ACCOUNT])
    default = WattCarbonClient(sandbox.url)
    other = WattCarbonClient(sandbox.url, account_id="org-account", email="org@wattcarbon.invalid", api_key="org-key")
    try:
        meter_id = other.create_meter()
        response = requests.post(
            sandbox.url + "/accounts/org-account/meters",
            json=wattcarbon_meter_body(),
            headers=wattcarbon_headers(default.token),
            timeout=10,
        )
        assert (response.status_code, response.json()) == (403, {"detail": "This token is not for account org-account"})
        forbidden = requests.get(
            f"{sandbox.url}/accounts/org-account/meters/{meter_id}",
            headers=wattcarbon_headers(default.token),
            timeout=10,
        )
        assert (forbidden.status_code, forbidden.json()) == (
            403,
            {"detail": "This token is not for account org-account"},
        )
        # Under its own account, the other account's meter does not exist.
        assert default.get(f"/meters/{meter_id}").json() == {"detail": "Meter not found"}
        assert [meter["accountId"] for meter in sandbox.wattcarbon()["meters"]] == ["org-account"]
    finally:
        default.close()
        other.close()


def test_an_account_id_that_is_not_the_tokens_is_403_even_if_no_such_account_exists(sandbox, wattcarbon):
    response = requests.get(
        sandbox.url + "/accounts/nobody/assets", headers=wattcarbon_headers(wattcarbon.token), timeout=10
    )
    assert (response.status_code, response.json()) == (403, {"detail": "This token is not for account nobody"})


def test_tokens_and_keys_are_never_in_the_request_log(sandbox, wattcarbon):
    wattcarbon.create_meter()
    wattcarbon.get("/assets")
    logged = json.dumps(sandbox.state()["requests"])
    assert wattcarbon.token not in logged
    assert DEFAULT_API_KEY not in logged
    assert len(sandbox.calls(service="wattcarbon")) == 3


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"wattcarbon": {"token_ttl": -1}}, "token_ttl must be a whole number >= 0"),
        ({"accounts": [{"email": "a@b.c", "api_key": "k"}]}, "accounts must be a list of {email, api_key, account_id}"),
        ({"accounts": [{**DEFAULT_ACCOUNT, "account_id": "a/b"}]}, "account_id 'a/b' must be letters, digits and "),
        ({"accounts": [DEFAULT_ACCOUNT, {**OTHER_ACCOUNT, "api_key": DEFAULT_API_KEY}]}, "accounts: each api_key must"),
        (
            {"accounts": [DEFAULT_ACCOUNT, {**OTHER_ACCOUNT, "account_id": DEFAULT_ACCOUNT_ID}]},
            "accounts: each account_id",
        ),
        ({"max_upload_bytes": 0}, "max_upload_bytes must be a whole number >= 1"),
        ({"require_user_agent": "no"}, "require_user_agent must be true or false"),
        ({"wattcarbon": {"check_csv": False}}, "unknown WattCarbon setting 'check_csv' (known: token_ttl, accounts, "),
    ],
)
def test_bad_wattcarbon_settings_are_refused_and_change_nothing(sandbox, settings, message):
    before = sandbox.wattcarbon()["config"]
    response = requests.post(sandbox.url + "/_sandbox/config", json=settings, timeout=10)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert sandbox.wattcarbon()["config"] == before
