"""XML from the storage service is read with defusedxml: a hostile or broken body is a readable attempt error.

A real server on 127.0.0.1 plays Raptor Maps and its storage: it hands out a signed URL that
points back at itself, then answers the PUT with the XML under test. The run fails with a
sentence, its page shows it, and nothing is expanded, fetched or shown raw.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.uploads.admin_helpers import url
from tests.uploads.integrations import make_farm_with_readings, make_integration, make_portfolio
from uploads.models import Attempt, RunStatus, UploadRun
from uploads.outbound.xmlerrors import read_xml_error
from uploads.raptormaps.service import run_upload

pytestmark = pytest.mark.django_db

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
    "<Error><Code>&lol4;</Code><Message>expired</Message></Error>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<Error><Code>AccessDenied</Code><Message>&xxe;</Message></Error>"
)
UNSAFE = "the XML error answer was refused as unsafe (it declares a DTD); not read"
MALFORMED = '<?xml version="1.0"?>\n<Error><Code>AccessDenied</Code><Message>oops</Error>'
S3_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code>'
    "<Message>Part is too small</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
)


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        (BILLION_LAUGHS, UNSAFE),
        (EXTERNAL_ENTITY, UNSAFE),
        (MALFORMED, "the error answer is not well-formed XML at line 2, column 48"),
        (S3_ERROR, "InvalidArgument: Part is too small"),
        ("<Error>" + "x" * 70_000 + "</Error>", "the XML error answer is over 65,536 bytes; not read"),
    ],
)
def test_xml_error_bodies_read_safely(body, sentence):
    assert read_xml_error(body.encode()).sentence() == sentence


@pytest.fixture
def storage(scripted):
    """An integration whose Raptor Maps and storage is one scripted server; ``storage(put_reply)`` runs it."""

    def run_with(put_status, put_body):
        server = scripted(
            (200, {"Content-Type": "application/json"}, "SIGNED"),
            (put_status, {"Content-Type": "application/xml"}, put_body),
        )
        signed = f"{server.url}/bucket/part.csv?X-Amz-Signature=abcdef0123456789"
        server.replies[0] = (200, {"Content-Type": "application/json"}, json.dumps(signed))
        portfolio = make_portfolio()
        make_farm_with_readings(portfolio, ingested_at=timezone.now() - timedelta(hours=2))
        integration = make_integration(portfolio=portfolio, base_url=server.url, remote_interval_seconds=900)
        return run_upload(integration), server

    return run_with


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (403, BILLION_LAUGHS, "put: HTTP 403 the XML error answer was refused as unsafe (it declares a DTD); not read"),
        (
            403,
            EXTERNAL_ENTITY,
            "put: HTTP 403 the XML error answer was refused as unsafe (it declares a DTD); not read",
        ),
        (400, MALFORMED, "put: HTTP 400 the error answer is not well-formed XML at line 2, column 48"),
        (400, S3_ERROR, "put: HTTP 400 InvalidArgument: Part is too small"),
    ],
)
def test_a_hostile_or_broken_storage_error_fails_the_run_readably(storage, admin_client, status, body, error, settings):
    settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS = 0
    run, server = storage(status, body)
    assert (run.status, run.error) == (RunStatus.FAILED, error)
    put = Attempt.objects.get(operation="put")
    assert put.error == error
    assert len(server.requests) == 2  # no renewal on an unreadable body, nothing fetched
    for text in (run.error, put.error, put.response_excerpt):
        assert "root:" not in text and "lollol" not in text
    page = admin_client.get(url(UploadRun, "change", run.pk))
    assert page.status_code == 200 and error.split(" the ")[-1] in page.content.decode()
