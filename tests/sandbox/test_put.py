"""The PUT to a signed URL: S3's checks in S3's order, then the file stored, hashed and checked."""

import hashlib
import http.client
import socket
import time
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from tests.fixtures.sandbox import contract_csv, contract_row, put_csv, signed_url

GOOD = contract_csv([contract_row(observation_time=f"2024-06-01 00:{minute:02d}:00") for minute in (0, 15, 30)])


def s3_error(response):
    assert response.headers["Content-Type"] == "application/xml"
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    return root.findtext("Code"), root.findtext("Message")


def with_query(url, **changes):
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def connect(url):
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def request_head(url, length, expect_continue=False):
    parts = urlsplit(url)
    lines = [
        f"PUT {parts.path}?{parts.query} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: text/csv",
        f"Content-Length: {length}",
    ]
    if expect_continue:
        lines.append("Expect: 100-continue")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_head(sock):
    """The status line and headers of the next response, read byte by byte (leaving the rest)."""
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, f"connection closed after {data!r}"
        data += byte
    return data.decode()


def wait_for(condition, seconds=5):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- a good upload -----------------------------------------------------------------------------------


def test_a_good_csv_is_stored_and_answered_200_with_its_sha256_as_etag(sandbox, sandbox_server):
    response = put_csv(signed_url(sandbox.url), GOOD)
    sha256 = hashlib.sha256(GOOD).hexdigest()
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["ETag"] == f'"{sha256}"'
    assert response.headers["Content-Length"] == "0"
    [upload] = sandbox.uploads()
    assert set(upload) == {
        "key",
        "org_id",
        "integration_id",
        "metadata",
        "bytes",
        "rows",
        "sha256",
        "valid",
        "problems",
        "problem_count",
        "received_at",
    }
    assert (upload["integration_id"], upload["org_id"], upload["bytes"], upload["rows"]) == (101, 1, len(GOOD), 3)
    assert (upload["sha256"], upload["valid"], upload["problems"], upload["metadata"]) == (sha256, True, [], {})
    assert sandbox.upload_content(upload["key"]) == GOOD
    assert (sandbox_server.data_dir / "raptormaps-uploads" / upload["key"]).read_bytes() == GOOD


def test_the_seed_script_upload_works_as_written(sandbox, tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(GOOD)
    url = requests.get(
        sandbox.url + "/insights/api/v1/integrations/org_integrations/101/signed_url",
        headers={"content-type": "application/json", "Authorization": "Bearer sandbox-api-token"},
        timeout=10,
    ).json()
    with open(path, "rb") as f:
        response = requests.put(url, data=f, headers={"content-type": "text/csv"}, timeout=10)
    assert response.status_code == 200
    assert sandbox.uploads()[0]["bytes"] == len(GOOD)


def test_a_signed_url_takes_one_put_only(sandbox):
    url = signed_url(sandbox.url)
    assert put_csv(url, GOOD).status_code == 200
    again = put_csv(url, GOOD)
    assert again.status_code == 403
    assert s3_error(again) == ("AccessDenied", "This signed URL has been used already: one signed URL per PUT")
    assert len(sandbox.uploads()) == 1


def test_an_invalid_csv_is_kept_marked_invalid_and_answered_400_with_its_problems(sandbox):
    body = contract_csv([contract_row(measured_value="NaN"), contract_row(sensor_type="wind", sensor_id="S-2")])
    url = signed_url(sandbox.url)
    response = put_csv(url, body)
    assert response.status_code == 400
    assert s3_error(response) == ("InvalidCsv", "The file breaks the Raptor Maps CSV contract: 2 problem(s)")
    problems = [element.text for element in ET.fromstring(response.content).find("Problems")]
    assert problems[0] == 'line 2, column 14 (measured_value): "NaN" is not a plain decimal number'
    assert problems[1].startswith('line 3, column 12 (sensor_type): "wind" is not a sensor type (dc_voltage, ')
    [upload] = sandbox.uploads()
    assert (upload["valid"], upload["problems"], upload["problem_count"], upload["rows"]) == (False, problems, 2, 2)
    assert sandbox.upload_content(upload["key"]) == body
    assert put_csv(url, GOOD).status_code == 403  # the URL was used


def test_with_check_csv_off_anything_is_stored_unchecked(sandbox):
    sandbox.configure(check_csv=False)
    response = put_csv(signed_url(sandbox.url), b"not,a,contract\n")
    assert response.status_code == 200
    [upload] = sandbox.uploads()
    assert (upload["valid"], upload["rows"], upload["problems"], upload["bytes"]) == (None, None, [], 15)


def test_an_empty_body_is_an_invalid_csv(sandbox):
    response = put_csv(signed_url(sandbox.url), b"")
    assert response.status_code == 400
    assert sandbox.uploads()[0]["problems"] == ["line 1: the file is empty; expected the header row"]


# --- S3's refusals, in S3's order ------------------------------------------------------------------------

SIGNATURE_MISMATCH = "The request signature we calculated does not match the signature you provided"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: with_query(url, **{"X-Amz-Signature": "0" * 64}),
        lambda url: with_query(url, **{"X-Amz-Expires": "604800"}),
        lambda url: with_query(url, **{"X-Amz-Date": "20990101T000000Z"}),
        lambda url: url.replace("/1/101/", "/1/102/"),
    ],
    ids=["signature", "expiry", "date", "path"],
)
def test_a_tampered_url_is_refused_as_signature_does_not_match(sandbox, tamper):
    response = put_csv(tamper(signed_url(sandbox.url)), GOOD, content_type="application/json")
    assert response.status_code == 403
    assert s3_error(response) == ("SignatureDoesNotMatch", SIGNATURE_MISMATCH)  # before the content type


def test_a_url_without_signature_is_refused(sandbox):
    response = put_csv(signed_url(sandbox.url).split("?")[0], GOOD)
    assert response.status_code == 403
    assert s3_error(response) == (
        "AccessDenied",
        "Anonymous PUT is not allowed: the URL carries no X-Amz-Signature",
    )


def test_an_expired_url_is_refused_before_its_other_faults(sandbox):
    sandbox.fault("signed_url", mode="expired")
    response = put_csv(signed_url(sandbox.url), GOOD, content_type="application/json")
    assert response.status_code == 403
    assert s3_error(response) == ("AccessDenied", "Request has expired")


def test_a_used_url_is_refused_before_the_content_type(sandbox):
    url = signed_url(sandbox.url)
    put_csv(url, GOOD)
    response = put_csv(url, GOOD, content_type="application/json")
    assert s3_error(response)[1] == "This signed URL has been used already: one signed URL per PUT"


@pytest.mark.parametrize("content_type", ["application/octet-stream", "text/csv; charset=utf-8", "text/CSV"])
def test_the_content_type_is_signed_and_must_be_text_csv_exactly(sandbox, content_type):
    url = signed_url(sandbox.url)
    response = put_csv(url, GOOD, content_type=content_type)
    assert response.status_code == 403
    assert s3_error(response) == (
        "SignatureDoesNotMatch",
        f"{SIGNATURE_MISMATCH}: the URL is signed for Content-Type text/csv, the request sent {content_type}",
    )
    assert put_csv(url, GOOD).status_code == 200  # a refused PUT leaves the URL unused


def test_no_content_type_at_all(sandbox):
    response = requests.put(signed_url(sandbox.url), data=GOOD, timeout=10)
    assert s3_error(response)[1].endswith("the request sent none")


def test_chunked_transfer_encoding_is_not_implemented(sandbox):
    url = signed_url(sandbox.url)
    response = put_csv(url, iter([GOOD]))
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 501
    assert s3_error(response) == (
        "NotImplemented",
        "A header you provided implies functionality that is not implemented",
    )
    assert ET.fromstring(response.content).findtext("Header") == "Transfer-Encoding"
    assert put_csv(url, GOOD).status_code == 200


def test_a_missing_content_length_is_refused_with_411(sandbox):
    url = urlsplit(signed_url(sandbox.url))
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.putrequest("PUT", f"{url.path}?{url.query}", skip_accept_encoding=True)
    connection.putheader("Content-Type", "text/csv")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 411
    root = ET.fromstring(response.read())
    assert (root.findtext("Code"), root.findtext("Message")) == (
        "MissingContentLength",
        "You must provide the Content-Length HTTP header.",
    )
    connection.close()


def test_a_body_over_the_size_cap_is_refused_before_it_is_sent(sandbox):
    sandbox.configure(max_put_bytes=len(GOOD) - 1)
    url = signed_url(sandbox.url)
    response = put_csv(url, GOOD)
    assert response.status_code == 400
    assert s3_error(response) == ("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    root = ET.fromstring(response.content)
    assert (root.findtext("ProposedSize"), root.findtext("MaxSizeAllowed")) == (str(len(GOOD)), str(len(GOOD) - 1))
    # A client that waits for 100 Continue gets the refusal without sending a byte of the body.
    with connect(url) as sock:
        sock.sendall(request_head(url, 10**12, expect_continue=True))
        assert read_head(sock).startswith("HTTP/1.1 400 Bad Request\r\n")
    assert sandbox.uploads() == []
    sandbox.configure(max_put_bytes=len(GOOD))
    assert put_csv(url, GOOD).status_code == 200


def test_expect_100_continue_is_answered_once_the_checks_pass(sandbox):
    url = signed_url(sandbox.url)
    with connect(url) as sock:
        sock.sendall(request_head(url, len(GOOD), expect_continue=True))
        assert read_head(sock) == "HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(GOOD)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 200
    assert sandbox.uploads()[0]["bytes"] == len(GOOD)


def test_a_body_cut_short_is_recorded_as_incomplete_and_nothing_is_stored(sandbox, sandbox_server):
    url = signed_url(sandbox.url)
    with connect(url) as sock:
        sock.sendall(request_head(url, len(GOOD) + 1000) + GOOD)
    wait_for(lambda: sandbox.state()["raptormaps"]["incomplete_uploads"])
    [incomplete] = sandbox.state()["raptormaps"]["incomplete_uploads"]
    assert (incomplete["expected_bytes"], incomplete["received_bytes"]) == (len(GOOD) + 1000, len(GOOD))
    assert incomplete["integration_id"] == 101
    assert sandbox.uploads() == []
    assert not list((sandbox_server.data_dir / "raptormaps-uploads").rglob("*.csv"))
    wait_for(lambda: sandbox.calls("put")[0]["note"])  # written when the handler is done
    assert sandbox.calls("put")[0]["note"].startswith(f"incomplete body: {len(GOOD)} of {len(GOOD) + 1000} bytes")
    assert put_csv(url, GOOD).status_code == 200  # nothing was received: the URL may be used again


# --- HTTP/1.1 -------------------------------------------------------------------------------------------


def test_connections_are_kept_alive_and_every_answer_has_a_content_length(sandbox):
    url = urlsplit(sandbox.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    auth = {"Authorization": "Bearer sandbox-api-token"}
    connection.request("GET", "/insights/api/v1/integrations/org_integrations", headers=auth)
    first_socket = connection.sock
    answers = [connection.getresponse()]
    answers[0].read()
    for path in ("/insights/api/v1/integrations/org_integrations/101/signed_url", "/nowhere"):
        connection.request("GET", path, headers=auth)
        answers.append(connection.getresponse())
        answers[-1].read()
        assert connection.sock is first_socket
    assert [answer.status for answer in answers] == [200, 200, 404]
    assert all(answer.getheader("Content-Length") for answer in answers)
    assert all(answer.version == 11 and not answer.will_close for answer in answers)
    connection.close()
