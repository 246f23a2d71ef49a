"""An error while an API key is being saved shows no key: not on the debug page, not in the logs.

The add and change pages of integrations and accounts take secrets, so their POST data is marked
sensitive (Django's error reports then show stars), and so are the locals that hold a key.
The error here is a real one raised where the save happens: a receiver of the model's pre_save
signal that fails, as a database error would.
"""

import logging
from contextlib import contextmanager

import pytest
from django.db.models.signals import pre_save
from django.test import Client

from tests.factories import PortfolioFactory
from tests.uploads.accounts import make_account
from tests.uploads.admin_helpers import url
from tests.uploads.integrations import make_integration
from uploads.models import RaptorMapsIntegration, WattCarbonAccount

pytestmark = pytest.mark.django_db

API_TOKEN = "rm-token-Lq93hVd7Xe"
CLIENT_SECRET = "rm-secret-Tz48pWm2Ky"
API_KEY = "wc-key-Nr57cBx1Qa"
FAILURE = "the database went away while saving"


def integration_data(portfolio, **fields):
    return {
        "name": "North",
        "portfolio": portfolio.pk,
        "base_url": "https://api.raptormaps.com",
        "integration_id": "77",
        "time_basis": "local",
        "part_bytes": "5000000000",
        "enabled": "on",
        **fields,
    }


def account_data(portfolio, **fields):
    return {
        "name": "North",
        "portfolio": portfolio.pk,
        "base_url": "https://api.wattcarbon.com",
        "account_id": "acct-7",
        "email": "north@example.org",
        "user_agent": "portfolio-manager/0.1",
        "sync_interval_seconds": "3600",
        "chunk_rows": "10000",
        "upload_concurrency": "4",
        "enabled": "on",
        **fields,
    }


@contextmanager
def saving_fails():
    """Every save of an integration or account fails, as a lost database connection would."""

    def fail(sender, instance, **kwargs):
        raise RuntimeError(FAILURE)

    for model in (RaptorMapsIntegration, WattCarbonAccount):
        pre_save.connect(fail, sender=model, dispatch_uid=f"test-fail-{model.__name__}")
    try:
        yield
    finally:
        for model in (RaptorMapsIntegration, WattCarbonAccount):
            pre_save.disconnect(sender=model, dispatch_uid=f"test-fail-{model.__name__}")


@pytest.fixture
def debug_client(settings, admin_user):
    """The admin with DEBUG on: an error is Django's technical page, with the request and every frame's locals."""
    settings.DEBUG = True
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    return client


def error_report(client, caplog, page, data):
    with caplog.at_level(logging.DEBUG), saving_fails():
        response = client.post(page, data)
    assert response.status_code == 500
    html = response.content.decode()
    # It is the debug page, with the failure, the POST table and the frames' local variables.
    assert "RuntimeError" in html and FAILURE in html
    assert "Local vars" in html and "POST" in html
    return html, caplog.text


def assert_hidden(report, secrets, settings):
    html, logs = report
    for secret in (*secrets, *settings.SECRETS_ENCRYPTION_KEYS):
        assert secret not in html
        assert secret not in logs


def test_adding_an_integration_that_fails_shows_no_token(debug_client, caplog, settings):
    data = integration_data(PortfolioFactory(), api_token=API_TOKEN)
    report = error_report(debug_client, caplog, url(RaptorMapsIntegration, "add"), data)
    assert "api_token" in report[0]  # the field is listed, its value starred
    assert_hidden(report, [API_TOKEN], settings)


def test_changing_an_integration_s_client_secret_that_fails_shows_no_secret(debug_client, caplog, settings):
    portfolio = PortfolioFactory()
    integration = make_integration(portfolio=portfolio, client_id="north", client_secret="old-secret-0000")
    data = integration_data(portfolio, client_id="north", client_secret=CLIENT_SECRET)
    report = error_report(debug_client, caplog, url(RaptorMapsIntegration, "change", integration.pk), data)
    assert_hidden(report, [CLIENT_SECRET, "old-secret-0000"], settings)


def test_adding_an_account_that_fails_shows_no_api_key(debug_client, caplog, settings):
    data = account_data(PortfolioFactory(), api_key=API_KEY)
    report = error_report(debug_client, caplog, url(WattCarbonAccount, "add"), data)
    assert_hidden(report, [API_KEY], settings)


def test_changing_an_account_s_api_key_that_fails_shows_no_key(debug_client, caplog, settings):
    account = make_account()
    report = error_report(
        debug_client,
        caplog,
        url(WattCarbonAccount, "change", account.pk),
        account_data(account.portfolio, api_key=API_KEY),
    )
    assert_hidden(report, [API_KEY], settings)
