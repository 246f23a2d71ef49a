"""POST /oauth/token and the bearer tokens the API endpoints accept (contracts.md 1.1)."""

import base64
import json

import pytest
import requests

from sandbox.raptormaps import AUDIENCE, DEFAULT_API_TOKEN, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.fixtures.sandbox import BEARER

CREDENTIALS = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, "audience": AUDIENCE}
INTEGRATIONS = "/insights/api/v1/integrations/org_integrations"


def token(sandbox, **body):
    return requests.post(sandbox.url + "/oauth/token", json=body, timeout=10)


def list_integrations(sandbox, headers):
    return requests.get(sandbox.url + INTEGRATIONS, headers=headers, timeout=10)


def bearer(access_token):
    return {"Authorization": f"Bearer {access_token}"}


def test_client_credentials_give_a_jwt_shaped_bearer_token_for_an_hour(sandbox):
    response = token(sandbox, **CREDENTIALS)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    _, claims, _ = body["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert (claims["aud"], claims["exp"] - claims["iat"]) == (AUDIENCE, 3600)
    assert list_integrations(sandbox, bearer(body["access_token"])).status_code == 200
    assert sandbox.state()["raptormaps"]["tokens_issued"] == 1


def test_each_token_is_new(sandbox):
    first, second = (token(sandbox, **CREDENTIALS).json()["access_token"] for _ in range(2))
    assert first != second
    assert sandbox.state()["raptormaps"]["tokens_issued"] == 2


@pytest.mark.parametrize(
    "changes", [{"client_secret": "wrong"}, {"client_id": "someone-else"}], ids=["wrong secret", "unknown client"]
)
def test_wrong_credentials_are_refused_with_401(sandbox, changes):
    response = token(sandbox, **{**CREDENTIALS, **changes})
    assert response.status_code == 401
    assert response.json() == {"error": "access_denied", "message": "unknown client_id or wrong client_secret"}
    assert sandbox.state()["raptormaps"]["tokens_issued"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"client_id": DEFAULT_CLIENT_ID}, "missing client_secret, audience"),
        ({**CREDENTIALS, "audience": ""}, "missing audience"),
        ({**CREDENTIALS, "client_secret": 5}, "missing client_secret"),
        ({**CREDENTIALS, "audience": "api://other"}, 'audience must be "api://customer-api", not "api://other"'),
    ],
)
def test_a_malformed_token_request_is_refused_with_400_naming_the_problem(sandbox, body, message):
    response = token(sandbox, **body)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "message": message}


def test_a_body_that_is_not_a_json_object_is_refused_with_400(sandbox):
    form = requests.post(sandbox.url + "/oauth/token", data=CREDENTIALS, timeout=10)
    assert form.status_code == 400
    assert form.json()["message"].startswith("the body must be JSON (Expecting value")
    listed = requests.post(sandbox.url + "/oauth/token", json=[CREDENTIALS], timeout=10)
    assert (listed.status_code, listed.json()["message"]) == (400, "the body must be a JSON object")


def test_configured_clients_replace_the_default_one(sandbox):
    sandbox.configure(clients=[{"client_id": "other", "client_secret": "s3cret"}])
    assert token(sandbox, client_id="other", client_secret="s3cret", audience=AUDIENCE).status_code == 200
    assert token(sandbox, **CREDENTIALS).status_code == 401


def test_token_ttl_sets_expires_in_and_an_expired_token_is_refused_saying_so(sandbox):
    sandbox.configure(raptormaps={"token_ttl": 0})  # both services have a token_ttl
    body = token(sandbox, **CREDENTIALS).json()
    assert body["expires_in"] == 0
    response = list_integrations(sandbox, bearer(body["access_token"]))
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "message": "the access token expired; ask /oauth/token for a new one",
    }
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize(
    ("headers", "error", "message"),
    [
        ({}, "missing_token", "send Authorization: Bearer <access token>"),
        ({"Authorization": "Bearer"}, "missing_token", "send Authorization: Bearer <access token>"),
        ({"Authorization": f"Basic {DEFAULT_API_TOKEN}"}, "missing_token", "send Authorization: Bearer <access token>"),
        ({"Authorization": "Bearer not-a-token"}, "invalid_token", "unknown access token"),
    ],
    ids=["no header", "no token", "other scheme", "unknown token"],
)
def test_api_calls_without_a_valid_token_get_401(sandbox, headers, error, message):
    for path in (INTEGRATIONS, INTEGRATIONS + "/101/signed_url"):
        response = requests.get(sandbox.url + path, headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json() == {"error": error, "message": message}


def test_the_static_api_token_works_and_can_be_replaced(sandbox):
    assert list_integrations(sandbox, BEARER).status_code == 200
    assert list_integrations(sandbox, {"Authorization": f"bearer {DEFAULT_API_TOKEN}"}).status_code == 200
    sandbox.configure(api_tokens=["token-a", "token-b"])
    assert list_integrations(sandbox, bearer("token-b")).status_code == 200
    assert list_integrations(sandbox, BEARER).status_code == 401
