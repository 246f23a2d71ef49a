"""Faults in the answer's bytes (reset_mid_response, malformed_json, html, trickle) and an expiring
Raptor Maps token, as a client meets them over real HTTP."""

import json
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from sandbox.raptormaps import AUDIENCE, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.fixtures.sandbox import BEARER, contract_csv, contract_row, put_csv, signed_url, wattcarbon_asset

WC = "wattcarbon"
INTEGRATIONS = "/insights/api/v1/integrations/org_integrations"
CREDENTIALS = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, "audience": AUDIENCE}
GOOD = contract_csv([contract_row()])


def list_integrations(sandbox, headers=BEARER):
    return requests.get(sandbox.url + INTEGRATIONS, headers=headers, timeout=10)


def oauth_token(sandbox):
    response = requests.post(sandbox.url + "/oauth/token", json=CREDENTIALS, timeout=10)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def raw_exchange(sandbox, path, headers=BEARER):
    """Send a GET on a plain socket; return the pieces of the answer as they arrived, until the server closes."""
    url = urlsplit(sandbox.url)
    lines = [f"GET {path} HTTP/1.1", f"Host: {url.netloc}", *(f"{name}: {value}" for name, value in headers.items())]
    pieces = []
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while piece := sock.recv(65536):
            pieces.append(piece)
    return pieces


# -- reset_mid_response ----------------------------------------------------------------------------------


def test_reset_mid_response_sends_the_headers_and_part_of_the_body_then_resets(sandbox):
    sandbox.fault("org_integrations", mode="reset_mid_response")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        response = requests.get(sandbox.url + INTEGRATIONS, headers=BEARER, timeout=10, stream=True)
        assert response.status_code == 200  # the status line and headers arrived
        response.content  # noqa: B018 - reading the body meets the reset
    assert list_integrations(sandbox).status_code == 200
    [call, _] = sandbox.calls("org_integrations")
    assert (call["status"], call["fault"]) == (None, "reset_mid_response")
    assert call["note"].startswith("the work was done; answer 200 cut off after ")


def test_reset_mid_response_on_a_create_has_created_it(wattcarbon, sandbox):
    meter_id = wattcarbon.create_meter()
    sandbox.fault("create_asset", mode="reset_mid_response", service=WC)
    with pytest.raises(requests.exceptions.RequestException):
        wattcarbon.post("/assets", json=wattcarbon_asset("solar", [meter_id], customId="SP-1")).content  # noqa: B018
    assert [asset["customId"] for asset in sandbox.wattcarbon()["assets"]] == ["SP-1"]


def test_reset_mid_response_on_a_put_cuts_the_headers_and_stores_the_file(sandbox):
    sandbox.fault("put", mode="reset_mid_response")
    with pytest.raises(requests.exceptions.ConnectionError):
        put_csv(signed_url(sandbox.url), GOOD)
    assert len(sandbox.uploads()) == 1  # the work was done, the answer never arrived whole


# -- malformed_json --------------------------------------------------------------------------------------


def test_malformed_json_answers_the_same_status_with_a_body_that_is_not_json(sandbox):
    sandbox.fault("signed_url", mode="malformed_json")
    response = requests.get(sandbox.url + INTEGRATIONS + "/101/signed_url", headers=BEARER, timeout=10)
    assert (response.status_code, response.headers["Content-Type"]) == (200, "application/json")
    assert response.content.startswith(b'"http://')
    with pytest.raises(ValueError):
        json.loads(response.content)
    [call] = sandbox.calls("signed_url")
    assert (call["status"], call["fault"]) == (200, "malformed_json")
    assert "the body was cut to" in call["note"]


def test_malformed_json_on_a_create_has_created_it(wattcarbon, sandbox):
    meter_id = wattcarbon.create_meter()
    sandbox.fault("create_asset", mode="malformed_json", service=WC)
    response = wattcarbon.post("/assets", json=wattcarbon_asset("solar", [meter_id], customId="SP-1"))
    assert response.status_code == 201
    with pytest.raises(ValueError):
        response.json()
    assert [asset["customId"] for asset in sandbox.wattcarbon()["assets"]] == ["SP-1"]


def test_malformed_json_is_refused_for_a_put(sandbox):
    response = requests.post(
        sandbox.url + "/_sandbox/faults",
        json={"service": "raptormaps", "operation": "put", "mode": "malformed_json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["message"] == "mode 'malformed_json' needs an operation that answers JSON, not put"


# -- html ------------------------------------------------------------------------------------------------


def test_html_answers_a_proxys_error_page_and_does_no_work(wattcarbon, sandbox):
    sandbox.fault("create_meter", mode="html", service=WC)
    response = wattcarbon.post("/meters", json={"name": "M", "apiProvider": "manual", "meterType": "electricity"})
    assert (response.status_code, response.headers["Content-Type"]) == (502, "text/html")
    assert "<title>502 Bad Gateway</title>" in response.text
    assert len(response.content) > 512  # padded, as proxies do
    assert sandbox.wattcarbon()["meters"] == []
    [call] = sandbox.calls("create_meter", service=WC)
    assert (call["status"], call["fault"]) == (502, "html")


def test_html_takes_another_status(sandbox):
    sandbox.fault("org_integrations", mode="html", status=504)
    response = list_integrations(sandbox)
    assert response.status_code == 504
    assert "<title>504 Gateway Timeout</title>" in response.text


# -- trickle ---------------------------------------------------------------------------------------------


def test_trickle_sends_the_whole_answer_a_few_bytes_at_a_time(sandbox):
    sandbox.fault("org_integrations", mode="trickle", seconds=0.5)
    pieces = raw_exchange(sandbox, INTEGRATIONS)
    answer = b"".join(pieces)
    assert len(pieces) > 10 and max(len(piece) for piece in pieces) <= 16
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close" in head
    assert json.loads(body) == list_integrations(sandbox).json()
    call = sandbox.calls("org_integrations")[0]
    assert (call["status"], call["fault"], call["note"]) == (200, "trickle", "answered 16 bytes at a time over 0.5 s")


def test_trickle_stops_when_the_client_leaves(sandbox):
    sandbox.fault("org_integrations", mode="trickle", seconds=2)
    url = urlsplit(sandbox.url)
    request = f"GET {INTEGRATIONS} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: {BEARER['Authorization']}\r\n\r\n"
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request.encode())
        assert len(sock.recv(1024)) <= 16
    assert list_integrations(sandbox).status_code == 200  # not held up
    # The trickling thread notices at one of its next writes.
    for _ in range(200):
        note = sandbox.calls("org_integrations")[0]["note"]
        if note and "the client left" in note:
            break
        time.sleep(0.05)
    assert "the client left after" in note


# -- expire_token on Raptor Maps ---------------------------------------------------------------------------


def test_expire_token_expires_an_oauth_token_and_a_new_one_works(sandbox):
    headers = oauth_token(sandbox)
    sandbox.fault("signed_url", mode="expire_token")
    refused = requests.get(sandbox.url + INTEGRATIONS + "/101/signed_url", headers=headers, timeout=10)
    assert refused.status_code == 401
    assert refused.json()["message"] == "the access token expired; ask /oauth/token for a new one"
    assert list_integrations(sandbox, headers).status_code == 401  # it stays expired
    assert list_integrations(sandbox, oauth_token(sandbox)).status_code == 200


def test_expire_token_revokes_a_static_api_token_until_a_reset(sandbox):
    sandbox.fault("org_integrations", mode="expire_token")
    refused = list_integrations(sandbox)
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid_token", "message": "the API token expired; ask for a new one"}
    assert list_integrations(sandbox).status_code == 401
    assert sandbox.state()["raptormaps"]["config"]["api_tokens"] == []
    sandbox.reset()
    assert list_integrations(sandbox).status_code == 200


def test_expire_token_does_not_apply_to_the_token_call(sandbox):
    response = requests.post(
        sandbox.url + "/_sandbox/faults",
        json={"service": "raptormaps", "operation": "token", "mode": "expire_token"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["message"] == "mode 'expire_token' does not apply to raptormaps token"
