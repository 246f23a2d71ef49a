"""The shared HTTP layer, against a scripted server on 127.0.0.1: retries, waits, records, the wire.

The end-to-end tests (test_raptormaps_runs.py) drive the same layer through the sandbox;
these pin its rules one at a time, with answers the sandbox has no reason to give.
"""

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from uploads.models import Attempt, Service
from uploads.outbound.http import CallFailed, Client, OutcomeUnknown, RetryPolicy, retry_after_seconds

pytestmark = pytest.mark.django_db


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(waits):
    policy = RetryPolicy(max_attempts=4, base_delay=1, max_delay=8, max_retry_after=30, max_500_retries=2)
    return Client(Service.RAPTORMAPS, policy=policy, timeout=(2, 2), sleep=waits.append)


def outcomes():
    return list(Attempt.objects.order_by("id").values_list("status_code", "outcome"))


def test_503_then_ok_is_retried_with_a_backoff_and_both_attempts_recorded(scripted, client, waits):
    server = scripted((503, {}, "busy"), (200, {}, "{}"))
    assert client.call("op", "GET", server.url + "/x").status_code == 200
    assert outcomes() == [(503, "retry"), (200, "ok")]
    assert 0.5 <= sum(waits) <= 1.0  # the first backoff: half the ceiling plus jitter


def test_retry_after_is_honoured_in_seconds_and_as_a_date(scripted, client, waits):
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    server = scripted((429, {"Retry-After": "7"}, ""), (429, {"Retry-After": later}, ""), (200, {}, ""))
    client.call("op", "GET", server.url)
    first, second = Attempt.objects.filter(outcome="retry").order_by("id").values_list("retry_in_seconds", flat=True)
    assert first == 7
    assert 17 <= second <= 20
    assert sum(waits) == pytest.approx(first + second, abs=0.01)
    assert max(waits) <= 5  # slept in slices, the lease renewed between them


def test_a_retry_after_beyond_the_limit_gives_up_and_says_why(scripted, client, waits):
    server = scripted((503, {"Retry-After": "3600"}, ""))
    with pytest.raises(CallFailed, match=r"asked to wait 3600 s \(Retry-After\), more than the 30 s limit"):
        client.call("op", "GET", server.url)
    assert waits == [] and outcomes() == [(503, "gave_up")]


def test_a_wrong_request_is_not_retried(scripted, client):
    server = scripted((422, {}, '{"detail": "observation_time: bad format"}'))
    with pytest.raises(CallFailed, match="op: HTTP 422") as caught:
        client.call("op", "POST", server.url, json={})
    assert caught.value.status_code == 422
    assert outcomes() == [(422, "gave_up")]
    assert "bad format" in Attempt.objects.get().response_excerpt


def test_a_plain_500_is_retried_only_a_few_times(scripted, client):
    server = scripted((500, {}, ""), (500, {}, ""), (500, {}, ""), (200, {}, ""))
    with pytest.raises(CallFailed):
        client.call("op", "GET", server.url)
    assert outcomes() == [(500, "retry"), (500, "retry"), (500, "gave_up")]


def test_retries_stop_at_the_limit(scripted, client):
    server = scripted(*[(502, {}, "")] * 5)
    with pytest.raises(CallFailed, match="after 4 attempts"):
        client.call("op", "GET", server.url)
    assert [outcome for _, outcome in outcomes()] == ["retry", "retry", "retry", "gave_up"]


def test_a_reset_is_retried_for_an_idempotent_call(scripted, client):
    server = scripted("reset", (200, {}, "ok"))
    assert client.call("op", "PUT", server.url, data=b"x").text == "ok"
    first = Attempt.objects.order_by("id").first()
    assert first.status_code is None and first.error == "the connection was reset"


def test_a_reset_after_a_create_is_an_unknown_outcome_not_a_second_create(scripted, client):
    server = scripted("reset", (201, {}, "{}"))
    with pytest.raises(OutcomeUnknown, match="may have been carried out; not repeated"):
        client.call("create", "POST", server.url, json={"name": "a"}, idempotent=False)
    assert len(server.requests) == 1
    assert outcomes() == [(None, "gave_up")]


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_server_error_after_a_create_is_an_unknown_outcome_too(scripted, client, status):
    server = scripted((status, {}, "upstream failed"), (201, {}, "{}"))
    with pytest.raises(OutcomeUnknown, match=f"create: HTTP {status}: the service failed after receiving") as caught:
        client.call("create", "POST", server.url, json={"name": "a"}, idempotent=False)
    assert caught.value.status_code == status
    assert caught.value.retry_after is None
    assert len(server.requests) == 1
    assert outcomes() == [(status, "gave_up")]


def test_an_unknown_outcome_carries_the_wait_the_service_asked_for(scripted, client):
    server = scripted((502, {"Retry-After": "3"}, "upstream failed"))
    with pytest.raises(OutcomeUnknown) as caught:
        client.call("create", "POST", server.url, json={"name": "a"}, idempotent=False)
    assert caught.value.retry_after == 3


def test_a_503_on_a_create_is_retried_it_was_not_carried_out(scripted, client, waits):
    server = scripted((503, {"Retry-After": "1"}, "busy"), (201, {}, "{}"))
    assert client.call("create", "POST", server.url, json={}, idempotent=False).status_code == 201
    assert len(server.requests) == 2
    assert outcomes() == [(503, "retry"), (201, "ok")]
    assert waits == [1]


def test_a_429_on_a_create_is_retried_it_was_not_carried_out(scripted, client, waits):
    server = scripted((429, {"Retry-After": "1"}, ""), (201, {}, "{}"))
    assert client.call("create", "POST", server.url, json={}, idempotent=False).status_code == 201
    assert outcomes() == [(429, "retry"), (201, "ok")]


def test_a_refused_connection_is_safe_to_retry_even_for_a_create(client, waits):
    closed = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    with pytest.raises(CallFailed, match="the connection was refused after 4 attempts"):
        client.call("create", "POST", url, json={}, idempotent=False)
    assert len(waits) == 3


class Token:
    renewable = True

    def __init__(self):
        self.value, self.renewals = "first-token-value", 0

    def headers(self):
        return {"Authorization": f"Bearer {self.value}"}

    def renew(self):
        self.renewals += 1
        self.value = "second-token-value"


def test_a_401_renews_the_token_once_and_tries_again(scripted, client):
    server = scripted((401, {}, '{"detail": "expired"}'), (200, {}, "{}"))
    token = Token()
    client.call("op", "GET", server.url, auth=token)
    assert token.renewals == 1
    assert "Bearer second-token-value" in server.requests[1][0]
    assert outcomes() == [(401, "retry"), (200, "ok")]


def test_a_second_401_gives_up(scripted, client):
    server = scripted((401, {}, ""), (401, {}, ""))
    with pytest.raises(CallFailed, match="HTTP 401"):
        client.call("op", "GET", server.url, auth=Token())


def test_a_second_401_says_the_credentials_were_refused_even_with_a_new_token(scripted, client):
    server = scripted((401, {}, '{"detail": "Token expired"}'), (401, {}, '{"detail": "Token expired"}'))
    with pytest.raises(CallFailed) as caught:
        client.call("op", "GET", server.url, auth=Token())
    assert str(caught.value) == (
        "op: HTTP 401: the credentials were refused again with a new token; check them. The service said: Token expired"
    )


class StaticToken(Token):
    renewable = False


def test_a_401_with_a_token_that_cannot_be_renewed_asks_for_a_valid_one(scripted, client):
    server = scripted((401, {}, '{"error": "invalid_token", "message": "the API token expired"}'))
    with pytest.raises(CallFailed) as caught:
        client.call("op", "GET", server.url, auth=StaticToken())
    assert str(caught.value) == (
        "op: HTTP 401: the API token was refused and cannot be renewed here; enter a valid one. "
        "The service said: the API token expired"
    )
    assert (
        caught.value.reason == "op: HTTP 401: the API token was refused and cannot be renewed here; enter a valid one."
    )
    assert outcomes() == [(401, "gave_up")]


def test_a_json_error_is_told_by_its_message_and_kept_whole_in_the_excerpt(scripted, client):
    body = '{"detail": [{"loc": ["body", "customId"], "msg": "Field required", "type": "missing"}]}'
    server = scripted((422, {"Content-Type": "application/json"}, body))
    with pytest.raises(CallFailed) as caught:
        client.call("op", "POST", server.url, json={})
    assert str(caught.value) == "op: HTTP 422 customId: Field required"
    assert caught.value.body == body  # what callers read to tell a taken customId
    assert Attempt.objects.get().response_excerpt == body


def test_a_plain_500_that_stays_says_how_many_attempts_were_made(scripted, client):
    server = scripted(*[(500, {}, '{"message": "boom"}')] * 3)
    with pytest.raises(CallFailed) as caught:
        client.call("op", "GET", server.url)
    assert str(caught.value) == "op: HTTP 500 after 3 attempts. Boom"


PROXY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center>"
    "<hr><center>nginx</center></body></html>" + "<!-- padding -->" * 40
)


def test_an_html_page_from_a_proxy_is_summarised_not_stored(scripted, client):
    server = scripted(*[(502, {"Content-Type": "text/html"}, PROXY_PAGE)] * 4)
    with pytest.raises(CallFailed) as caught:
        client.call("op", "GET", server.url)
    summary = f'an HTML page titled "502 Bad Gateway" ({len(PROXY_PAGE):,} bytes)'
    assert str(caught.value) == f"op: HTTP 502 after 4 attempts. {summary.capitalize()[0]}{summary[1:]}"
    assert set(Attempt.objects.values_list("response_excerpt", flat=True)) == {summary}


def test_a_2xx_that_is_not_json_is_a_failed_attempt_and_retried(scripted, client, waits):
    server = scripted((200, {"Content-Type": "application/json"}, '{"url": "htt'), (200, {}, '{"url": "x"}'))
    assert client.call("op", "GET", server.url, expect_json=True).json() == {"url": "x"}
    first, second = Attempt.objects.order_by("id")
    assert (first.status_code, first.outcome) == (200, "retry")
    assert first.error == "HTTP 200 X: the answer is not valid JSON (12 bytes, cut off or malformed)"
    assert (second.status_code, second.outcome) == (200, "ok")
    assert len(waits) == 1


def test_a_login_page_instead_of_json_is_named(scripted, client):
    page = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>...</body></html>"
    server = scripted(*[(200, {"Content-Type": "text/html; charset=utf-8"}, page)] * 4)
    with pytest.raises(CallFailed) as caught:
        client.call("op", "GET", server.url, expect_json=True)
    assert str(caught.value) == (
        f'op: HTTP 200, but the answer is not valid JSON: it is an HTML page titled "Sign in" ({len(page)} bytes), '
        "after 4 attempts."
    )
    # What a stored summary may keep leaves out what the service sent.
    assert caught.value.reason == "op: HTTP 200, but the answer is not valid JSON, after 4 attempts."


def test_a_create_answered_with_broken_json_is_an_unknown_outcome_not_repeated(scripted, client):
    server = scripted((201, {}, '{"id": 50'), (201, {}, '{"id": 5001}'))
    with pytest.raises(OutcomeUnknown) as caught:
        client.call("create", "POST", server.url, json={}, idempotent=False, expect_json=True)
    assert str(caught.value) == (
        "create: HTTP 201, but the answer is not valid JSON (9 bytes, cut off or malformed). "
        "The request may have been carried out; not repeated."
    )
    assert len(server.requests) == 1
    assert outcomes() == [(201, "gave_up")]


def test_a_file_body_goes_out_with_a_content_length_and_nothing_else(scripted, client, tmp_path):
    path = tmp_path / "part.csv"
    path.write_bytes(b"a,b\n" * 300_000)  # over one 1 MiB block
    server = scripted((200, {"ETag": '"x"'}, ""))
    client.call(
        "put",
        "PUT",
        server.url + "/o?X-Amz-Signature=abc",
        headers={"Content-Type": "text/csv"},
        body_path=path,
        bare=True,
    )
    head, body = server.requests[0]
    lines = head.split("\r\n")
    assert lines[0] == "PUT /o?X-Amz-Signature=abc HTTP/1.1"
    names = sorted(line.split(":")[0].lower() for line in lines[1:])
    assert names == ["content-length", "content-type", "host"]
    assert f"Content-Length: {path.stat().st_size}" in lines
    assert body == path.read_bytes()
    assert "abc" not in Attempt.objects.get().url


def test_secrets_the_client_holds_never_reach_the_record(scripted, waits):
    server = scripted((400, {}, '{"detail": "bad key live-key-98765 for you"}'))
    client = Client(Service.WATTCARBON, policy=RetryPolicy(max_attempts=1), secrets=lambda: ["live-key-98765"])
    with pytest.raises(CallFailed) as caught:
        client.call("op", "GET", server.url + "/?api_key=live-key-98765")
    attempt = Attempt.objects.get()
    for text in (attempt.url, attempt.error, attempt.response_excerpt, str(caught.value)):
        assert "live-key-98765" not in text


def test_retry_after_parsing():
    response = requests.Response()
    for value, expected in (("12", 12.0), ("", None), ("soon", None)):
        response.headers["Retry-After"] = value
        assert retry_after_seconds(response) == expected
    now = datetime(2026, 1, 1, tzinfo=UTC)
    response.headers["Retry-After"] = "Thu, 01 Jan 2026 00:00:30 GMT"
    assert retry_after_seconds(response, now=now) == 30.0


def test_backoff_grows_and_stays_under_its_ceiling():
    policy = RetryPolicy(base_delay=2, max_delay=20)
    for number, ceiling in ((1, 2), (2, 4), (3, 8), (4, 16), (5, 20), (9, 20)):
        delays = [policy.backoff(number) for _ in range(50)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1  # jittered
