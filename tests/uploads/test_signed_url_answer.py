"""The signed URL's answer: the seed's bare string, or an object with the URL and the headers it
was signed with [assumed]; the client sends exactly those beside the Content-Type, never a token."""

import json

import pytest

from tests.uploads.integrations import make_integration
from uploads.outbound.http import CallFailed
from uploads.raptormaps.api import RaptorMapsApi, SignedUrl, put_headers

pytestmark = pytest.mark.django_db


def answer(scripted, body):
    server = scripted((200, {"Content-Type": "application/json"}, json.dumps(body)))
    api = RaptorMapsApi(make_integration(base_url=server.url))
    try:
        return api.signed_url()
    finally:
        api.close()


URL = "https://storage.example/b/k.csv?X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-org-id&X-Amz-Signature=ab"


def test_a_bare_string_is_a_url_with_no_headers(scripted):
    url = answer(scripted, URL)
    assert (url, url.headers) == (URL, {})


def test_an_object_gives_the_url_and_its_signed_headers(scripted):
    url = answer(scripted, {"url": URL, "headers": {"x-amz-meta-org-id": "1"}})
    assert (url, url.headers) == (URL, {"x-amz-meta-org-id": "1"})
    assert put_headers(url) == {"Content-Type": "text/csv", "x-amz-meta-org-id": "1"}


@pytest.mark.parametrize("name", ["Authorization", "cookie", "Host", "Transfer-Encoding"])
def test_an_answer_asking_for_a_header_no_signed_put_carries_is_refused(scripted, name):
    with pytest.raises(CallFailed, match=f"asks for the header\\(s\\) {name}, which a PUT to a signed URL never"):
        answer(scripted, {"url": URL, "headers": {name: "Bearer secret-token"}})


def test_headers_that_are_not_text_are_refused(scripted):
    with pytest.raises(CallFailed, match="not names and text values"):
        answer(scripted, {"url": URL, "headers": {"x-amz-meta-org-id": 1}})


def test_a_signed_header_without_a_value_is_refused_before_the_put():
    with pytest.raises(CallFailed, match="signed for the header\\(s\\) x-amz-meta-org-id"):
        put_headers(SignedUrl(URL))


def test_google_signed_headers_are_read_too():
    url = "https://storage.example/b/k.csv?X-Goog-SignedHeaders=content-type%3Bhost%3Bx-goog-meta-a&X-Goog-Signature=ab"
    with pytest.raises(CallFailed, match="x-goog-meta-a"):
        put_headers(url)
    assert put_headers(SignedUrl(url, {"x-goog-meta-a": "v"}))["x-goog-meta-a"] == "v"
