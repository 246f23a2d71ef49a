""" "Test connection" keeps its outcome: ok or failed, when, the status and one line of reason, never the body.

The body of a refusal (a WattCarbon 401's detail, a Raptor Maps 500's text) is what a service
chose to send; it stays in the redacted attempt record and out of the stored summary and the
integration's or account's page.
"""

import pytest

from sandbox import raptormaps as raptormaps_defaults
from sandbox import wattcarbon as wattcarbon_defaults
from tests.uploads.accounts import make_account
from tests.uploads.admin_helpers import page_text, url
from tests.uploads.integrations import make_integration
from uploads.models import RaptorMapsIntegration, WattCarbonAccount
from uploads.raptormaps.connection import test_connection as check_integration
from uploads.secrets import Secret
from uploads.wattcarbon.connection import test_connection as check_account

pytestmark = pytest.mark.django_db

BODY_MARKER = "internal-detail-7Qx"


def sandbox_integration(sandbox, **fields):
    return make_integration(
        base_url=sandbox.url,
        api_token=raptormaps_defaults.DEFAULT_API_TOKEN,
        integration_id=raptormaps_defaults.DEFAULT_INTEGRATION_ID,
        **fields,
    )


def test_a_working_connection_is_stored_and_shown(admin_client, sandbox):
    integration = sandbox_integration(sandbox)
    admin_client.post(url(RaptorMapsIntegration, "test_connection", integration.pk), follow=True)
    integration.refresh_from_db()
    assert integration.connection_ok is True and integration.connection_status == 200
    assert integration.connection_tested_at is not None
    assert integration.connection_summary == "ok: 2 org integration(s); 101 is among them"
    html = page_text(admin_client.get(url(RaptorMapsIntegration, "change", integration.pk)))
    assert "Last connection test" in html and "ok: 2 org integration(s); 101 is among them" in html


def test_a_refused_login_is_stored_as_its_status_without_the_services_words(admin_client, sandbox):
    account = make_account(base_url=sandbox.url, api_key=Secret("wrong-key-5511"))
    # The person who pressed it reads the service's words once, in the message that follows.
    pressed = page_text(admin_client.post(url(WattCarbonAccount, "test_connection", account.pk), follow=True))
    assert "Incorrect username or password" in pressed
    account.refresh_from_db()
    assert (account.connection_ok, account.connection_status, account.connection_summary) == (
        False,
        401,
        "failed: token: HTTP 401",
    )
    html = page_text(admin_client.get(url(WattCarbonAccount, "change", account.pk)))
    assert "failed: token: HTTP 401" in html
    assert "Incorrect username or password" not in html and "wrong-key-5511" not in html


def test_a_server_error_body_never_reaches_the_summary(scripted):
    body = f'{{"error": "boom", "trace": "{BODY_MARKER}", "access_token": "leaked-token-0042"}}'
    server = scripted((500, {}, body), (500, {}, body))
    integration = make_integration(base_url=server.url)
    report = check_integration(integration)
    assert not report.ok
    integration.refresh_from_db()
    assert integration.connection_summary == "failed: org_integrations: HTTP 500 after 2 attempts."
    assert integration.connection_status == 500


def test_a_base_url_refused_by_the_rules_is_a_stored_failure_not_a_call(sandbox, settings):
    account = make_account(base_url=sandbox.url, api_key=Secret(wattcarbon_defaults.DEFAULT_API_KEY))
    settings.OUTBOUND_ALLOW_HOSTS = []  # as in production: the sandbox's http URL is no longer allowed
    assert not check_account(account).ok
    account.refresh_from_db()
    assert account.connection_summary == (
        "failed: token: not called: the URL must use https, not http (http is allowed only for the hosts in "
        "OUTBOUND_ALLOW_HOSTS)."
    )
    assert account.connection_status is None
    assert sandbox.calls(service="wattcarbon") == []
