"""A refused PUT's attempt says in words what the storage said; its raw XML stays below, folded.

The PUT goes over real HTTP to the sandbox's storage with a tampered signature, which answers as
S3 does: 403 and an ``<Error>`` document.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.urls import reverse

from tests.fixtures.sandbox import signed_url
from uploads.admin.attempts import readable_error
from uploads.models import Attempt, AttemptOutcome, Service
from uploads.outbound.http import CallFailed, Client, RetryPolicy
from uploads.raptormaps.api import put_to_signed_url

pytestmark = pytest.mark.django_db

MISMATCH = "The request signature we calculated does not match the signature you provided"


def tampered(url):
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["X-Amz-Signature"] = "0" * len(query["X-Amz-Signature"])
    return parts._replace(query=urlencode(query)).geturl()


def test_a_refused_put_reads_as_the_storage_services_words(sandbox, tmp_path, admin_client):
    path = tmp_path / "part.csv"
    path.write_text("farm_id,farm_name,observation_time,measured_value\n")
    url = tampered(signed_url(sandbox.url))
    client = Client(Service.RAPTORMAPS, policy=RetryPolicy(max_attempts=1))
    with pytest.raises(CallFailed):
        put_to_signed_url(client, url, path)
    # The storage's 403 is taken for an expired URL and tried again: those attempts recorded only the status.
    attempt = Attempt.objects.filter(operation="put", outcome=AttemptOutcome.RETRY).first()
    assert attempt.error.startswith("HTTP 403 Forbidden")
    assert "<Code>SignatureDoesNotMatch</Code>" in attempt.response_excerpt

    assert readable_error(attempt) == (
        f"The storage service refused the file (HTTP 403): SignatureDoesNotMatch — {MISMATCH}"
    )
    html = admin_client.get(reverse("admin:uploads_attempt_change", args=[attempt.pk])).content.decode()
    said = html.index('<div class="attempt-readable-error">The storage service refused the file (HTTP 403)')
    folded = html.index('<details class="attempt-excerpt"><summary>As received')
    raw = html.index("&lt;Code&gt;SignatureDoesNotMatch&lt;/Code&gt;")
    assert said < folded < raw
    assert "X-Amz-Signature=0000" not in html


def test_an_excerpt_cut_off_mid_document_is_still_read():
    attempt = Attempt(
        service=Service.RAPTORMAPS,
        operation="put",
        status_code=403,
        outcome=AttemptOutcome.GAVE_UP,
        error="HTTP 403 Forbidden",
        response_excerpt="<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Request has expired</Message>"
        "<X-Amz-Expires>900</X-Amz-Expires><RequestId>4F2",
    )
    assert (
        readable_error(attempt) == "The storage service refused the file (HTTP 403): AccessDenied — Request has expired"
    )


def test_an_answer_that_is_not_xml_shows_the_recorded_error():
    attempt = Attempt(
        service=Service.WATTCARBON,
        operation="create_meter",
        outcome=AttemptOutcome.GAVE_UP,
        error="create_meter: HTTP 422: address: not a valid address",
        response_excerpt='{"detail": "address: not a valid address"}',
    )
    assert readable_error(attempt) == "create_meter: HTTP 422: address: not a valid address"
