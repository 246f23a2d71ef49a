"""Fault injection through the control API: every mode, as a client meets it over real HTTP."""

import socket
import threading
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests

from sandbox.control import SandboxControlError
from sandbox.raptormaps import AUDIENCE, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.fixtures.sandbox import BEARER, contract_csv, contract_row, put_csv, signed_url

INTEGRATIONS = "/insights/api/v1/integrations/org_integrations"
CREDENTIALS = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, "audience": AUDIENCE}
GOOD = contract_csv([contract_row()])
# About 2 MB: a reset arrives while the client is still sending it.
BIG = contract_csv(
    contract_row(observation_time=f"{datetime(2024, 1, 1) + timedelta(minutes=15 * n):%Y-%m-%d %H:%M:%S}")
    for n in range(16_000)
)


def list_integrations(sandbox, timeout=10):
    return requests.get(sandbox.url + INTEGRATIONS, headers=BEARER, timeout=timeout)


def test_status_answers_that_status_with_retry_after_and_a_json_body(sandbox):
    sandbox.fault("token", status=503, retry_after=2)
    response = requests.post(sandbox.url + "/oauth/token", json=CREDENTIALS, timeout=10)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json() == {"error": "service_unavailable", "message": "injected by the sandbox (fault)"}
    assert requests.post(sandbox.url + "/oauth/token", json=CREDENTIALS, timeout=10).status_code == 200
    assert [(call["status"], call["fault"]) for call in sandbox.calls("token")] == [(503, "status"), (200, None)]


def test_status_on_put_is_an_s3_xml_error_and_leaves_the_url_unused(sandbox):
    sandbox.fault("put", status=503)
    url = signed_url(sandbox.url)
    response = put_csv(url, GOOD)
    assert response.status_code == 503
    assert "Retry-After" not in response.headers
    root = ET.fromstring(response.content)
    assert (root.tag, root.findtext("Code")) == ("Error", "SlowDown")
    assert put_csv(url, GOOD).status_code == 200


def test_a_fault_hits_the_next_n_calls_and_faults_are_consumed_in_order(sandbox):
    sandbox.fault("org_integrations", status=500, times=2)
    sandbox.fault("org_integrations", status=429, retry_after=7)
    sandbox.fault("signed_url", status=502)
    assert [fault["times"] for fault in sandbox.state()["faults"]] == [2, 1, 1]
    assert list_integrations(sandbox).status_code == 500
    assert [fault["times"] for fault in sandbox.state()["faults"]] == [1, 1, 1]
    statuses = [list_integrations(sandbox).status_code for _ in range(3)]
    assert statuses == [500, 429, 200]
    assert sandbox.state()["faults"] == [
        {
            "service": "raptormaps",
            "operation": "signed_url",
            "mode": "status",
            "times": 1,
            "status": 502,
            "retry_after": None,
            "seconds": None,
            "after": 0,
        }
    ]


def test_timeout_sends_nothing_so_the_clients_read_timeout_fires(sandbox):
    sandbox.fault("org_integrations", mode="timeout", seconds=3)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        list_integrations(sandbox, timeout=0.3)
    assert time.monotonic() - started < 2
    assert list_integrations(sandbox).status_code == 200
    assert [(call["status"], call["fault"]) for call in sandbox.calls()] == [(None, "timeout"), (200, None)]


def test_timeout_on_put_reads_the_body_then_answers_nothing(sandbox):
    sandbox.fault("put", mode="timeout", seconds=2)
    url = signed_url(sandbox.url)
    with pytest.raises(requests.exceptions.ReadTimeout):
        put_csv(url, BIG, timeout=0.5)
    assert sandbox.uploads() == []
    assert put_csv(url, GOOD).status_code == 200


def test_a_timeout_shorter_than_the_clients_ends_with_the_connection_closed(sandbox):
    sandbox.fault("signed_url", mode="timeout", seconds=0.2)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(sandbox.url + INTEGRATIONS + "/101/signed_url", headers=BEARER, timeout=5)


def test_reset_resets_the_connection_before_answering(sandbox):
    sandbox.fault("org_integrations", mode="reset")
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        list_integrations(sandbox)
    assert "reset" in str(caught.value).lower()
    assert list_integrations(sandbox).status_code == 200


def test_reset_on_token_and_on_put_mid_body(sandbox):
    sandbox.fault("token", mode="reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(sandbox.url + "/oauth/token", json=CREDENTIALS, timeout=10)
    sandbox.fault("put", mode="reset")
    url = signed_url(sandbox.url)
    with pytest.raises(requests.exceptions.ConnectionError):
        put_csv(url, BIG)
    state = sandbox.state()
    assert (state["raptormaps"]["uploads"], state["raptormaps"]["incomplete_uploads"]) == ([], [])
    assert [(call["operation"], call["status"], call["fault"]) for call in state["requests"]] == [
        ("token", None, "reset"),
        ("signed_url", 200, None),
        ("put", None, "reset"),
    ]
    assert put_csv(url, GOOD).status_code == 200


def test_delay_answers_normally_after_waiting(sandbox):
    sandbox.fault("signed_url", mode="delay", seconds=0.5)
    results = {}

    def worker(name):
        started = time.monotonic()
        results[name] = (signed_url(sandbox.url), time.monotonic() - started)

    slow = threading.Thread(target=worker, args=("slow",))
    slow.start()
    time.sleep(0.1)
    worker("fast")  # not held up by the delayed call
    slow.join()
    assert results["slow"][1] >= 0.5
    assert results["fast"][1] < 0.4
    assert results["slow"][0] != results["fast"][0]
    assert [call["fault"] for call in sandbox.calls("signed_url")] == ["delay", None]


def test_expired_issues_a_url_that_has_expired_already(sandbox):
    sandbox.fault("signed_url", mode="expired")
    response = put_csv(signed_url(sandbox.url), GOOD)
    assert response.status_code == 403
    assert ET.fromstring(response.content).findtext("Message") == "Request has expired"
    assert put_csv(signed_url(sandbox.url), GOOD).status_code == 200


def test_after_lets_calls_through_before_the_fault_hits(sandbox):
    sandbox.fault("org_integrations", status=500, times=2, after=2)
    assert sandbox.state()["faults"][0]["after"] == 2
    statuses = [list_integrations(sandbox).status_code for _ in range(5)]
    assert statuses == [200, 200, 500, 500, 200]
    assert [call["fault"] for call in sandbox.calls()] == [None, None, "status", "status", None]
    assert sandbox.state()["faults"] == []


def test_delete_clears_pending_faults(sandbox):
    sandbox.fault("put", times=3)
    sandbox.fault("token", mode="delay")
    assert len(requests.get(sandbox.url + "/_sandbox/faults", timeout=10).json()) == 2
    assert sandbox.clear_faults() == 2
    assert sandbox.state()["faults"] == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"operation": "put"}, "service must be one of: raptormaps"),
        ({"service": "raptormaps", "operation": "upload"}, "operation must be one of: token, org_integrations, "),
        ({"service": "raptormaps", "operation": "put", "mode": "slow"}, "mode must be one of: status, timeout, "),
        ({"service": "raptormaps", "operation": "put", "mode": "expired"}, "mode 'expired' does not apply to "),
        ({"service": "raptormaps", "operation": "put", "times": 0}, "times must be a whole number >= 1"),
        ({"service": "raptormaps", "operation": "put", "after": -1}, "after must be a whole number >= 0"),
        ({"service": "raptormaps", "operation": "put", "status": 200}, "status must be a whole number >= 400"),
        ({"service": "raptormaps", "operation": "put", "status": 600}, "status must be between 400 and 599"),
        ({"service": "raptormaps", "operation": "put", "retry_after": "2"}, "retry_after must be a whole number"),
        ({"service": "raptormaps", "operation": "put", "mode": "delay", "seconds": -1}, "seconds must be a number"),
        ({"service": "raptormaps", "operation": "put", "count": 1}, "unknown fault fields: count (known: service, "),
    ],
)
def test_a_bad_fault_is_refused_naming_the_problem(sandbox, spec, message):
    response = requests.post(sandbox.url + "/_sandbox/faults", json=spec, timeout=10)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert sandbox.state()["faults"] == []


def test_the_control_client_reports_a_refused_fault(sandbox):
    with pytest.raises(SandboxControlError, match="400 operation must be one of"):
        sandbox.fault("upload")


def test_a_reset_ends_a_connection_held_by_a_timeout(sandbox):
    sandbox.fault("org_integrations", mode="timeout", seconds=30)
    url = urlsplit(sandbox.url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(f"GET {INTEGRATIONS} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())
        time.sleep(0.2)
        started = time.monotonic()
        sandbox.reset()
        assert sock.recv(1024) == b""  # closed, without an answer
        assert time.monotonic() - started < 2
