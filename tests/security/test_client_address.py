"""The client address the lockout and the audit trail use: never a header a client can forge."""

import pytest
from django.test import RequestFactory

from portfolio.client_address import client_address


def request_from(peer, forwarded=None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=peer, **headers)


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request_from("203.0.113.7", "10.0.0.1")) == "203.0.113.7"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "client"),
    [
        (1, "forged, 203.0.113.7", "203.0.113.7"),
        (2, "forged, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (1, "203.0.113.7:51234", "203.0.113.7"),
        (1, "[2001:db8::7]:443", "2001:db8::7"),
        (1, "2001:db8::7", "2001:db8::7"),
        (2, "203.0.113.7", "10.0.0.5"),  # fewer entries than proxies: only the peer is known
        (1, "", "10.0.0.5"),
    ],
)
def test_behind_trusted_proxies_the_entry_they_appended_is_the_client(settings, proxies, forwarded, client):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_address(request_from("10.0.0.5", forwarded)) == client
