"""Every outbound call ends: a total deadline however the server trickles, and a cap on the answer's size.

Real servers on 127.0.0.1: one that sends its answer a byte at a time (each byte well inside
the read timeout, so only a total deadline stops it), one that sends an endless body, and
the sandbox with a delay fault.
"""

import pytest

from tests.uploads.servers import FloodServer, TrickleServer
from uploads.models import Attempt, AttemptOutcome, Service
from uploads.outbound.http import CallFailed, Client, FileBody, OutcomeUnknown, RetryPolicy
from uploads.raptormaps.api import RaptorMapsApi
from uploads.raptormaps.connection import test_connection as check_connection

pytestmark = pytest.mark.django_db

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\nConnection: close\r\n\r\n" + b"x" * 400


@pytest.fixture
def small_limits(settings):
    settings.OUTBOUND_TOTAL_DEADLINE_SECONDS = 0.5
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 64 * 1024


@pytest.fixture
def servers():
    started = []

    def start(server):
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def client(**kwargs):
    # A read timeout far above the gap between two bytes: it alone would never fire.
    return Client(Service.WATTCARBON, policy=RetryPolicy(max_attempts=3, base_delay=0.01), timeout=(2, 5), **kwargs)


class HeadThenTrickle(TrickleServer):
    """Sends the head of ``answer`` at once, then the body a byte every 50 ms (20 s in all)."""

    def _trickle(self, conn):
        split = self.answer.index(b"\r\n\r\n") + 4
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(self.answer[:split])
                for index in range(split, len(self.answer)):
                    if self.stopped.wait(self.interval):
                        return
                    conn.sendall(self.answer[index : index + 1])
            except OSError:
                return


@pytest.mark.parametrize("server_class", [TrickleServer, HeadThenTrickle], ids=["headers", "body"])
def test_a_trickling_server_is_cut_off_at_the_total_deadline(servers, small_limits, server_class):
    server = servers(server_class(ANSWER, interval=0.05))
    with pytest.raises(CallFailed) as caught:
        client().call("list_assets", "GET", server.url + "/assets")
    message = "list_assets: no complete answer within the 0.5 s deadline (OUTBOUND_TOTAL_DEADLINE_SECONDS)"
    assert str(caught.value).startswith(message)
    attempt = Attempt.objects.get()  # not retried: a second try would hold the worker as long again
    assert attempt.outcome == AttemptOutcome.GAVE_UP and attempt.error.startswith(message)


class KeptAliveThenTrickle(TrickleServer):
    """Answers a first request at once on a kept-alive connection, then the second on the same
    connection with its head at once (saying Connection: close) and its body a byte at a time."""

    FIRST = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    connections = 0
    body_sent = 0

    def _trickle(self, conn):
        self.connections += 1
        split = self.answer.index(b"\r\n\r\n") + 4
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(self.FIRST)
                conn.recv(65536)
                conn.sendall(self.answer[:split])
                for index in range(split, len(self.answer)):
                    if self.stopped.wait(self.interval):
                        return
                    conn.sendall(self.answer[index : index + 1])
                    self.body_sent += 1
            except OSError:
                return


def test_a_kept_alive_connection_is_cut_off_at_the_deadline_while_its_body_trickles(servers, small_limits):
    # The answer's Connection: close makes http.client let go of the connection's socket once the
    # head is read; the deadline must still reach the socket the body comes from.
    server = servers(KeptAliveThenTrickle(ANSWER, interval=0.02))
    api = client()
    api.call("list_assets", "GET", server.url + "/assets")
    with pytest.raises(CallFailed, match=r"no complete answer within the 0\.5 s deadline"):
        api.call("list_assets", "GET", server.url + "/assets")
    api.close()
    assert server.connections == 1  # the second call went over the first call's connection
    assert server.body_sent < 400  # cut off at the deadline, not read to the end


def test_a_create_cut_off_by_the_deadline_is_an_unknown_outcome_not_repeated(servers, small_limits):
    server = servers(HeadThenTrickle(ANSWER, interval=0.05))
    with pytest.raises(OutcomeUnknown, match="not repeated"):
        client().call("create_meter", "POST", server.url + "/meters", json={}, idempotent=False)
    assert Attempt.objects.count() == 1


def test_a_file_body_gets_time_to_be_sent_at_the_minimum_rate(settings, tmp_path):
    settings.OUTBOUND_TOTAL_DEADLINE_SECONDS = 10
    settings.OUTBOUND_MIN_UPLOAD_BYTES_PER_SECOND = 1000
    part = tmp_path / "part.csv"
    part.write_bytes(b"x" * 5000)
    body = FileBody(part)
    try:
        assert client()._deadline_for(body) == 15
        assert client()._deadline_for(None) == 10
    finally:
        body.close()


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ("Content-Length: 964000000\r\n", "the answer is 964,000,000 bytes (Content-Length)"),
        ("", "the answer went past 65,536 bytes"),
    ],
)
def test_a_huge_answer_is_refused_at_the_cap_not_read_whole(servers, small_limits, settings, head, message):
    settings.OUTBOUND_TOTAL_DEADLINE_SECONDS = 60
    server = servers(FloodServer(head))
    with pytest.raises(CallFailed) as caught:
        client().call("list_assets", "GET", server.url + "/assets")
    expected = f"list_assets: {message}, over the 65,536-byte limit (OUTBOUND_MAX_RESPONSE_BYTES); not read."
    assert str(caught.value) == expected
    attempt = Attempt.objects.get()  # the same answer would come again: not retried
    assert (attempt.outcome, attempt.status_code, attempt.error) == (AttemptOutcome.GAVE_UP, 200, expected)
    assert attempt.response_excerpt == ""


def test_the_sandbox_answering_late_fails_the_call_at_the_deadline(sandbox, small_limits, integration):
    sandbox.fault("org_integrations", mode="delay", seconds=3)
    api = RaptorMapsApi(integration, policy=RetryPolicy(max_attempts=1), timeout=(2, 10))
    with pytest.raises(CallFailed, match=r"no complete answer within the 0\.5 s deadline"):
        api.org_integrations()
    api.close()


def test_test_connection_reports_the_deadline_as_a_readable_failure(sandbox, small_limits, integration):
    sandbox.fault("org_integrations", mode="delay", seconds=3, times=2)
    report = check_connection(integration)
    assert not report.ok and "deadline (OUTBOUND_TOTAL_DEADLINE_SECONDS)" in report.error
    integration.refresh_from_db()
    assert integration.connection_ok is False
    assert integration.connection_summary.startswith("failed: org_integrations: no complete answer within")
