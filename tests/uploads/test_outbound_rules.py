"""Outbound calls go only where they should: attacks on the base URLs, the signed URL and the wire.

Every refusal happens before a connection: the tests record (through Python's audit hooks)
every address a socket connects to and show that none was tried. Every call that is let
through goes to 127.0.0.1, to a server the test started.
"""

import json

import pytest

from tests.uploads.accounts import make_account
from tests.uploads.admin_helpers import form_errors, save, token_integration, url
from tests.uploads.integrations import make_integration
from tests.uploads.servers import Connections
from uploads.models import Attempt, AttemptOutcome, RaptorMapsIntegration, Service, WattCarbonAccount
from uploads.outbound.http import CallFailed, Client, RetryPolicy
from uploads.outbound.netguard import OutboundGuard, address_problem
from uploads.raptormaps.api import RaptorMapsApi

pytestmark = pytest.mark.django_db

PUBLIC_ADDRESS = "93.184.215.14"  # never connected to: only handed out by a test resolver

# Each an attack on a base URL, and the words of its refusal.
HOSTILE_BASE_URLS = [
    ("http://api.raptormaps.com", "must use https, not http"),
    ("https://user:pass@api.raptormaps.com", "may not carry a user name or password"),
    ("https://169.254.169.254/latest/meta-data", "a link-local address"),
    ("https://10.0.0.1", "a private address"),
    ("https://192.168.1.20:8443", "a private address"),
    ("https://[::1]", "a loopback address"),
    ("https://0.0.0.0", "an unspecified address"),
    ("https://[::]", "an unspecified address"),
    ("https://2130706433/", "a loopback address (127.0.0.1)"),
    ("https://0177.0.0.1/", "a loopback address (127.0.0.1)"),
    ("https://0x7f.1/", "a loopback address (127.0.0.1)"),
    ("https://[::ffff:127.0.0.1]/", "a loopback address"),
    ("https://[::ffff:169.254.169.254]/", "a link-local address"),
    ("https://[fe80::1]/", "a link-local address"),
    ("https://[fd00::1]/", "a private address"),
    ("https://224.0.0.1/", "a multicast address"),
    ("https://240.0.0.1/", "a reserved address"),
    ("https://100.64.0.1/", "not a public address"),
    ("https://localhost/", "resolves to 127.0.0.1, a loopback address"),
]


@pytest.fixture
def no_allowed_hosts(settings):
    """Production's outbound rules: no host let through."""
    settings.OUTBOUND_ALLOW_HOSTS = []


def quick_client(guard=None, **kwargs):
    return Client(Service.RAPTORMAPS, policy=RetryPolicy(max_attempts=2, base_delay=0.01), guard=guard, **kwargs)


class Resolver:
    """A name the test controls: ``answers`` maps a host to the address lists it resolves to, in turn."""

    def __init__(self, **answers):
        self.answers = {host.replace("_", "."): list(lists) for host, lists in answers.items()}
        self.asked = []

    def __call__(self, host, port):
        self.asked.append(host)
        lists = self.answers[host]
        return lists.pop(0) if len(lists) > 1 else lists[0]


# --- when an integration or an account is saved ----------------------------------------------------


@pytest.mark.parametrize(("base_url", "words"), HOSTILE_BASE_URLS)
@pytest.mark.parametrize("model", [RaptorMapsIntegration, WattCarbonAccount])
def test_a_hostile_base_url_is_a_validation_error_on_the_field(
    model, base_url, words, validation_messages, no_allowed_hosts
):
    obj = model(base_url=base_url)
    messages = validation_messages(obj)["base_url"]
    assert any(words in message for message in messages), messages


def test_a_public_https_base_url_is_accepted_even_when_it_does_not_resolve_here(validation_messages):
    integration = RaptorMapsIntegration(base_url="https://api.raptormaps.com")
    assert "base_url" not in validation_messages(integration)


def test_http_and_loopback_pass_only_for_the_hosts_the_setting_names(validation_messages, settings):
    settings.OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    assert "base_url" not in validation_messages(WattCarbonAccount(base_url="http://127.0.0.1:8765"))
    # Another spelling of the allowed address, or a name resolving to it, is not the allowed host.
    for other in ("http://2130706433:8765", "http://localhost:8765"):
        assert "base_url" in validation_messages(WattCarbonAccount(base_url=other))
    settings.OUTBOUND_ALLOW_HOSTS = []
    [message] = validation_messages(WattCarbonAccount(base_url="http://127.0.0.1:8765"))["base_url"]
    assert "http is allowed only for the hosts in OUTBOUND_ALLOW_HOSTS" in message


def test_the_admin_form_refuses_a_metadata_address_naming_the_field(admin_client, no_allowed_hosts):
    integration = token_integration(base_url="https://api.raptormaps.com")
    response = save(admin_client, integration, base_url="https://169.254.169.254/latest/meta-data")
    assert form_errors(response)["base_url"] == [
        "The base URL's host 169.254.169.254 is a link-local address (169.254.169.254); only public hosts are called."
    ]
    assert RaptorMapsIntegration.objects.get(pk=integration.pk).base_url == "https://api.raptormaps.com"


def test_the_account_form_refuses_credentials_in_the_url(admin_client, no_allowed_hosts):
    account = make_account(base_url="https://api.wattcarbon.com")
    response = save(admin_client, account, base_url="https://ops:hunter2@api.wattcarbon.com")
    [message] = form_errors(response)["base_url"]
    assert "may not carry a user name or password" in message


# --- when connecting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("http://10.0.0.1/", "must use https"),
        ("https://10.0.0.1/x", "a private address"),
        ("https://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("https://[::1]:9/", "a loopback address"),
        ("https://0.0.0.0:9/", "an unspecified address"),
        ("https://2130706433:9/", "a loopback address"),
        ("https://u:p@example.org/", "may not carry a user name or password"),
        ("https://localhost:9/", "localhost resolves to 127.0.0.1, a loopback address"),
    ],
)
def test_a_call_to_an_internal_address_is_refused_before_connecting(target, words, no_allowed_hosts):
    client = quick_client()
    with Connections() as connections, pytest.raises(CallFailed, match="op: not called: ") as caught:
        client.call("op", "GET", target)
    assert words in str(caught.value)
    assert connections.addresses == []
    attempt = Attempt.objects.get()  # refused once, not retried
    assert attempt.outcome == AttemptOutcome.GAVE_UP and words in attempt.error and attempt.status_code is None


def test_dns_rebinding_gains_nothing_the_address_connected_to_is_the_one_checked(scripted):
    # The name resolves to a public address when the URL is checked, then to 127.0.0.1.
    resolver = Resolver(files_example_test=[[PUBLIC_ADDRESS], ["127.0.0.1"]])
    guard = OutboundGuard(allow_hosts=frozenset(), resolver=resolver)
    _, host, port = guard.check_url("https://files.example.test/x")
    assert guard.addresses(host, port) == [PUBLIC_ADDRESS]  # what a check at save time sees
    server = scripted((200, {}, "inside"))
    with Connections() as connections, pytest.raises(CallFailed, match=r"resolves to 127\.0\.0\.1, a loopback address"):
        quick_client(guard).call("op", "GET", server.url.replace("http://127.0.0.1", "https://files.example.test"))
    assert connections.addresses == [] and server.requests == []


def test_one_internal_address_among_public_ones_is_refused():
    guard = OutboundGuard(resolver=Resolver(mixed_example_test=[[PUBLIC_ADDRESS, "10.1.2.3"]]))
    with Connections() as connections, pytest.raises(CallFailed, match=r"resolves to 10\.1\.2\.3, a private address"):
        quick_client(guard).call("op", "GET", "https://mixed.example.test/")
    assert connections.addresses == []


def test_the_connection_goes_to_the_checked_address_with_the_urls_host_name(scripted):
    # A name no system resolver knows: reaching the server proves the connection used our answer.
    guard = OutboundGuard(allow_hosts=frozenset({"sandbox.test"}), resolver=Resolver(sandbox_test=[["127.0.0.1"]]))
    server = scripted((200, {}, "hello"))
    port = server.url.rsplit(":", 1)[1]
    with Connections() as connections:
        response = quick_client(guard).call("op", "GET", f"http://sandbox.test:{port}/x")
    assert response.text == "hello"
    assert connections.hosts == ["127.0.0.1"]
    head, _ = server.requests[0]
    assert f"Host: sandbox.test:{port}" in head.split("\r\n")


def test_a_redirect_to_a_private_address_is_not_followed(scripted):
    server = scripted((302, {"Location": "http://10.0.0.1/latest/meta-data?token=abc123"}, ""))
    with Connections() as connections, pytest.raises(CallFailed) as caught:
        quick_client().call("op", "GET", server.url + "/start")
    assert str(caught.value) == (
        "op: HTTP 302: redirects are not followed; the service redirected to "
        "http://10.0.0.1/latest/meta-data?token=[redacted]"
    )
    assert connections.hosts == ["127.0.0.1"] and len(server.requests) == 1
    assert Attempt.objects.get().status_code == 302


def signed_url_service(scripted, signed_url):
    """A Raptor Maps stand-in whose signed_url answer is ``signed_url``; an integration using it."""
    server = scripted((200, {"Content-Type": "application/json"}, json.dumps(signed_url)))
    integration = make_integration(base_url=server.url, api_token="test-api-token-0000")
    return server, integration


@pytest.mark.parametrize(
    ("signed_url", "words"),
    [
        ("https://10.0.0.1/bucket/part.csv?X-Amz-Signature=s3cr3t5ig", "the signed URL's host 10.0.0.1 is a private"),
        ("https://169.254.169.254/b/part.csv?X-Amz-Signature=s3cr3t5ig", "is a link-local address"),
        ("http://files.example.org/b/part.csv?X-Amz-Signature=s3cr3t5ig", "the signed URL must use https, not http"),
    ],
)
def test_a_signed_url_pointing_inside_is_never_put_to(scripted, tmp_path, caplog, signed_url, words):
    _, integration = signed_url_service(scripted, signed_url)
    api = RaptorMapsApi(integration, policy=RetryPolicy(max_attempts=1))
    part = tmp_path / "part.csv"
    part.write_text("a,b\n")
    caplog.set_level("INFO")
    with Connections() as connections, pytest.raises(CallFailed, match="put: not called: ") as caught:
        api.put_file(part)
    assert words in str(caught.value)
    assert connections.hosts == ["127.0.0.1"]  # the signed_url request to the stand-in, nothing else
    put = Attempt.objects.get(operation="put")
    assert put.outcome == AttemptOutcome.GAVE_UP
    for text in (put.url, put.error, str(caught.value), caplog.text):
        assert "s3cr3t5ig" not in text
    assert "X-Amz-Signature=[redacted]" in put.url


# --- the rules themselves --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.2", "a loopback address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("2002:7f00:1::", "a loopback address"),  # 6to4 around 127.0.0.1
        ("fe80::1%eth0", "a link-local address"),
        ("ff02::1", "a multicast address"),
        ("198.18.0.1", "a private address"),
    ],
)
def test_address_rules(address, problem):
    assert address_problem(address) == problem


def test_the_admin_pages_say_where_a_refused_call_was_going_without_the_signature(admin_client, no_allowed_hosts):
    with pytest.raises(CallFailed):
        quick_client().call("put", "PUT", "https://10.9.8.7/b/o.csv?X-Amz-Signature=f00dfeed5ig")
    attempt = Attempt.objects.get()
    html = admin_client.get(url(Attempt, "change", attempt.pk)).content.decode()
    assert "10.9.8.7" in html and "f00dfeed5ig" not in html
