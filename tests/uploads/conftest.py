"""Fixtures of the uploads tests: an integration pointing at the sandbox, quick retries, a sync worker."""

import pytest
from django_q.conf import Conf

from portfolio.demo import load_demo_portfolio
from sandbox import raptormaps as sandbox_defaults
from tests.uploads.integrations import make_farm_with_readings, make_integration, make_portfolio
from tests.uploads.servers import ScriptedServer
from uploads.demo import ACCOUNT_NAME, load_demo_uploads
from uploads.models import WattCarbonAccount


@pytest.fixture
def quick_retries(settings):
    """Real retry rules with short waits, and no safety lag (the tests stamp ingested_at in the past)."""
    settings.UPLOADS_RETRY_BASE_SECONDS = 0.05
    settings.UPLOADS_RETRY_MAX_SECONDS = 0.2
    settings.UPLOADS_HTTP_READ_TIMEOUT = 2
    settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS = 0


@pytest.fixture
def sync_worker(settings, monkeypatch, tmp_path):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)
    settings.UPLOADS_WORK_DIR = tmp_path / "work"


@pytest.fixture
def integration(sandbox):
    portfolio = make_portfolio()
    make_farm_with_readings(portfolio)
    return make_integration(
        portfolio=portfolio,
        base_url=sandbox.url,
        client_id=sandbox_defaults.DEFAULT_CLIENT_ID,
        client_secret=sandbox_defaults.DEFAULT_CLIENT_SECRET,
        integration_id=sandbox_defaults.DEFAULT_INTEGRATION_ID,
        org_id=sandbox_defaults.DEFAULT_ORG_ID,
    )


@pytest.fixture
def scripted():
    """Start ScriptedServers on 127.0.0.1 (``scripted(reply, ...)``); closed after the test."""
    servers = []

    def start(*replies):
        server = ScriptedServer(replies)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def demo_account(sandbox, settings):
    """The demo portfolio and its WattCarbon account, pointing at the test's sandbox."""
    settings.SANDBOX_URL = sandbox.url
    load_demo_portfolio()
    load_demo_uploads()
    return WattCarbonAccount.objects.get(name=ACCOUNT_NAME)
