"""Redaction: what reaches a log line or an attempt record carries no credential."""

import logging

import pytest

from uploads.outbound.redaction import REDACTED, redact_text, redact_url

S3_URL = (
    "https://bucket.s3.amazonaws.com/raptor/upload.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE%2F20241103%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20241103T000000Z"
    "&X-Amz-Expires=900&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature=deadbeefcafe"
)
GCS_URL = "https://storage.googleapis.com/b/o.csv?X-Goog-Signature=0123abcd&X-Goog-Credential=svc%40p.iam"


@pytest.mark.parametrize("url", [S3_URL, GCS_URL])
def test_signed_url_query_values_are_redacted_names_kept(url):
    redacted = redact_url(url)
    for secret in ("deadbeefcafe", "AKIAEXAMPLE", "0123abcd", "svc%40p.iam", "svc@p.iam"):
        assert secret not in redacted
    assert redacted.split("?")[0] == url.split("?")[0]
    assert "Signature=" + REDACTED in redacted


def test_user_info_is_dropped_and_public_parameters_kept():
    assert redact_url("https://user:pa55@api.example.com/x?org_id=34&token=abc") == (
        f"https://api.example.com/x?org_id=34&token={REDACTED}"
    )


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ('{"access_token": "eyJhbGciOi.payload.sig", "expires_in": 3600}', "eyJhbGciOi"),
        ('[{"id": 12, "auth_info": {"username": "svc", "password": "hunter2"}}]', "hunter2"),
        (f'"{S3_URL}"', "deadbeefcafe"),
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("grant_type=password&username=ops@example.com&password=k3y-v4lue", "k3y-v4lue"),
        ('{"client_secret": "s3cr3t-value"}', "s3cr3t-value"),
        ("<Error><Code>SignatureDoesNotMatch</Code><StringToSign>AWS4 abc</StringToSign></Error>", "AWS4 abc"),
        (f"HTTPConnectionPool(host='h', port=1): Max retries exceeded with url: {S3_URL}", "deadbeefcafe"),
        # requests' own messages name the path and query without the scheme.
        ("Max retries exceeded with url: /b/o.csv?X-Amz-Credential=AKIAEXAMPLE%2Fus&X-Amz-Signature=ab", "AKIAEXAMPLE"),
        ("Max retries exceeded with url: /b/o.csv?sig=azure-sas-sig-value&se=2026", "azure-sas-sig-value"),
    ],
)
def test_text_patterns_are_redacted(text, leak):
    redacted = redact_text(text)
    assert leak not in redacted
    assert REDACTED in redacted


def test_known_secret_values_are_redacted_wherever_they_appear():
    assert redact_text("the key was plain-key-123 in a message", ["plain-key-123"]) == (
        f"the key was {REDACTED} in a message"
    )


def test_harmless_text_is_left_alone():
    text = 'HTTP 400: {"detail": "observation_time: bad format on line 3"}'
    assert redact_text(text) == text


def test_urllib3_never_logs_a_signed_url(caplog):
    # urllib3 logs whole request lines; the settings keep it at INFO and redact what it writes.
    logger = logging.getLogger("urllib3.connectionpool")
    caplog.set_level("DEBUG")
    logger.debug('http://h:80 "PUT /o.csv?X-Amz-Signature=abc123def HTTP/1.1" 200 0')
    logger.warning("Retrying after connection broken: %s", "/o.csv?X-Amz-Signature=abc123def")
    assert "abc123def" not in caplog.text
    assert "X-Amz-Signature" in caplog.text  # the warning itself is kept, redacted
