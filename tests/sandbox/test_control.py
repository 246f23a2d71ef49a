"""The control API (/_sandbox/): state, the request log, settings, reset; and starting and stopping."""

import pytest
import requests

from sandbox.control import SandboxControl, SandboxControlError
from sandbox.raptormaps import (
    DEFAULT_MAX_PUT_BYTES,
    DEFAULT_ORG_INTEGRATIONS,
    DEFAULT_SIGNED_URL_TTL,
    DEFAULT_TOKEN_TTL,
)
from sandbox.server import start_sandbox
from sandbox.wattcarbon import DEFAULT_ACCOUNT_ID, DEFAULT_API_KEY, DEFAULT_EMAIL
from tests.fixtures.sandbox import BEARER, contract_csv, contract_row, put_csv, signed_url

GOOD = contract_csv([contract_row()])
DEFAULT_CONFIG = {
    "token_ttl": DEFAULT_TOKEN_TTL,
    "signed_url_ttl": DEFAULT_SIGNED_URL_TTL,
    "max_put_bytes": DEFAULT_MAX_PUT_BYTES,
    "clients": [{"client_id": "sandbox-client", "client_secret": "sandbox-client-secret"}],
    "api_tokens": ["sandbox-api-token"],
    "org_integrations": list(DEFAULT_ORG_INTEGRATIONS),
    "check_csv": True,
    "signed_metadata": False,
}


def test_the_state_of_a_fresh_sandbox(sandbox):
    assert sandbox.state() == {
        "raptormaps": {
            "org_integrations": list(DEFAULT_ORG_INTEGRATIONS),
            "uploads": [],
            "incomplete_uploads": [],
            "tokens_issued": 0,
            "signed_urls_issued": 0,
            "config": DEFAULT_CONFIG,
        },
        "wattcarbon": {
            "accounts": [{"email": DEFAULT_EMAIL, "account_id": DEFAULT_ACCOUNT_ID}],
            "tokens_issued": 0,
            "meters": [],
            "assets": [],
            "uploads": [],
            "config": {
                "token_ttl": 86400,
                "accounts": [{"email": DEFAULT_EMAIL, "api_key": DEFAULT_API_KEY, "account_id": DEFAULT_ACCOUNT_ID}],
                "max_upload_bytes": 100_000_000,
                "require_user_agent": True,
            },
        },
        "requests": [],
        "faults": [],
    }


def test_every_api_call_is_logged_without_its_query_string_and_control_calls_are_not(sandbox):
    url = signed_url(sandbox.url)
    put_csv(url, GOOD)
    requests.get(sandbox.url + "/nowhere?secret=1", timeout=10)
    sandbox.state()
    calls = sandbox.state()["requests"]
    assert [(call["service"], call["operation"], call["method"], call["status"]) for call in calls] == [
        ("raptormaps", "signed_url", "GET", 200),
        ("raptormaps", "put", "PUT", 200),
        (None, None, "GET", 404),
    ]
    assert calls[1]["path"] == url.split("?")[0].removeprefix(sandbox.url)
    assert calls[2]["path"] == "/nowhere"
    assert [call["id"] for call in calls] == [1, 2, 3]
    assert all(call["time"].endswith("Z") and call["duration_ms"] >= 0 for call in calls)
    assert sandbox.calls("put") == [calls[1]]


def test_configure_changes_settings_and_returns_them(sandbox):
    config = sandbox.configure(raptormaps={"token_ttl": 60}, max_put_bytes=10)
    assert config["raptormaps"] == {**DEFAULT_CONFIG, "token_ttl": 60, "max_put_bytes": 10}
    assert requests.get(sandbox.url + "/_sandbox/config", timeout=10).json() == config


def test_settings_may_be_named_under_their_service(sandbox):
    config = sandbox.configure(raptormaps={"signed_url_ttl": 30})
    assert config["raptormaps"]["signed_url_ttl"] == 30


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"token_tll": 5}, "unknown setting 'token_tll' (known: accounts, api_tokens, check_csv, clients, "),
        ({"token_ttl": 5}, "'token_ttl' is a setting of raptormaps and wattcarbon: put it under the service's name"),
        ({"raptormaps": {"token_ttl": -1}}, "token_ttl must be a whole number >= 0"),
        ({"raptormaps": {"token_ttl": "60"}}, "token_ttl must be a whole number >= 0"),
        ({"raptormaps": {"accounts": []}}, "unknown Raptor Maps setting 'accounts' (known: token_ttl, "),
        ({"signed_url_ttl": 0}, "signed_url_ttl must be a whole number >= 1"),
        ({"signed_url_ttl": 604801}, "signed_url_ttl must be at most 604800"),
        ({"max_put_bytes": 1.5}, "max_put_bytes must be a whole number >= 0"),
        ({"clients": [{"client_id": "x"}]}, "clients must be a list of {client_id, client_secret} objects"),
        ({"api_tokens": "one"}, "api_tokens must be a list of non-empty strings"),
        ({"check_csv": "no"}, "check_csv must be true or false"),
        ({"org_integrations": [{"org_id": 1}]}, "each org integration needs an integer id"),
        ({"org_integrations": [{"id": 1}, {"id": 1}]}, "org_integrations ids must be unique"),
        ({"org_integrations": [{"id": 1, "enabled": "yes"}]}, "org integration 1: enabled must be true or false"),
        ({"org_integrations": [{"id": 1, "org_id": "1"}]}, "org integration 1: org_id must be int"),
        ({"org_integrations": [{"id": 1, "name": "x"}]}, "unknown org integration fields: name"),
        ({"raptormaps": 5}, "raptormaps settings are a JSON object"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(sandbox, settings, message):
    response = requests.post(sandbox.url + "/_sandbox/config", json={"signed_url_ttl": 5, **settings}, timeout=10)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert sandbox.state()["raptormaps"]["config"] == DEFAULT_CONFIG


def test_reset_restores_the_defaults_and_forgets_everything(sandbox, sandbox_server):
    sandbox.configure(raptormaps={"token_ttl": 5}, org_integrations=[{"id": 101}, {"id": 5}])
    requests.post(
        sandbox.url + "/oauth/token",
        json={
            "client_id": "sandbox-client",
            "client_secret": "sandbox-client-secret",
            "audience": "api://customer-api",
        },
        timeout=10,
    )
    put_csv(signed_url(sandbox.url), GOOD)
    sandbox.fault("put", times=5)
    stored = sandbox_server.data_dir / "raptormaps-uploads" / sandbox.uploads()[0]["key"]
    assert stored.exists()
    sandbox.reset()
    state = sandbox.state()
    assert state["raptormaps"]["config"] == DEFAULT_CONFIG
    assert (state["raptormaps"]["uploads"], state["raptormaps"]["tokens_issued"]) == ([], 0)
    assert (state["requests"], state["faults"]) == ([], [])
    assert not stored.exists()


def test_upload_content_of_an_unknown_key(sandbox):
    with pytest.raises(SandboxControlError) as caught:
        sandbox.upload_content("1/101/nothing.csv")
    assert str(caught.value) == "GET /_sandbox/uploads/1/101/nothing.csv: 404 no upload with key '1/101/nothing.csv'"


def test_unknown_control_paths_and_methods(sandbox):
    assert requests.get(sandbox.url + "/_sandbox/nothing", timeout=10).status_code == 404
    response = requests.get(sandbox.url + "/_sandbox/reset", timeout=10)
    assert (response.status_code, response.headers["Allow"]) == (405, "POST")
    assert sandbox.state()["requests"] == []


def test_start_settings_are_what_a_reset_returns_to(tmp_path):
    with start_sandbox(port=0, data_dir=tmp_path, raptormaps={"token_ttl": 7}, check_csv=False) as running:
        control = SandboxControl(running.url)
        control.configure(raptormaps={"token_ttl": 9})
        control.reset()
        config = control.state()["raptormaps"]["config"]
        assert (config["token_ttl"], config["check_csv"]) == (7, False)
        control.close()


def test_unknown_start_settings_are_refused():
    with pytest.raises(ValueError, match="unknown setting 'ttl'"):
        start_sandbox(port=0, ttl=5)


def test_stop_ends_kept_alive_connections_frees_the_port_and_removes_a_temporary_data_dir():
    running = start_sandbox(port=0)
    assert running.url == f"http://127.0.0.1:{running.port}"
    session = requests.Session()
    assert session.get(running.url + "/insights/api/v1/integrations/org_integrations", headers=BEARER).ok
    data_dir = running.data_dir
    assert data_dir.is_dir()
    running.stop()
    running.stop()  # twice is harmless
    assert not data_dir.exists()
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(running.url + "/_sandbox/state", timeout=2)
    session.close()
    with start_sandbox(port=running.port) as again:  # the port is free again
        assert again.url == running.url
