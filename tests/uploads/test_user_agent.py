"""Every call names this app and its version, as the integration or account says; never a library's default."""

import tomllib
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import MeterFactory
from tests.uploads.accounts import make_account
from tests.uploads.expectations import run_task
from uploads.models import RunStatus, SyncStatus
from uploads.models.outbound import APP_VERSION, DEFAULT_USER_AGENT
from uploads.wattcarbon.service import run_sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries")]


def test_the_default_names_the_app_and_the_version_of_pyproject():
    project = tomllib.loads((Path(settings.BASE_DIR) / "pyproject.toml").read_text())["project"]
    assert project["version"] == APP_VERSION
    assert DEFAULT_USER_AGENT.startswith(f"solar-portfolio/{APP_VERSION} ")


def test_a_raptor_maps_integration_sends_its_own_user_agent_to_the_api_and_none_to_the_storage(
    sandbox, integration, sync_worker
):
    integration.user_agent = "acme-solar-ops/2.3 (+https://ops.example.com/contact)"
    integration.save()

    assert run_task(integration).status == RunStatus.UPLOADED

    agents = {call["operation"]: call["user_agent"] for call in sandbox.calls()}
    assert agents == {
        "token": integration.user_agent,
        "org_integrations": integration.user_agent,
        "signed_url": integration.user_agent,
        "put": None,  # only the headers the URL was signed with go to the storage host
    }


def test_a_wattcarbon_account_sends_its_own_user_agent_on_every_call(sandbox):
    account = make_account(base_url=sandbox.url)
    account.user_agent = "acme-solar-ops/2.3 (+https://ops.example.com/contact)"
    account.save()
    MeterFactory(portfolio=account.portfolio, name="Warehouse")

    assert run_sync(account).status == SyncStatus.SYNCED

    calls = sandbox.calls(service="wattcarbon")
    assert calls and {call["user_agent"] for call in calls} == {account.user_agent}


def test_a_new_connection_gets_the_default(sandbox):
    assert make_account(base_url=sandbox.url).user_agent == DEFAULT_USER_AGENT


def test_an_empty_user_agent_sends_the_default(sandbox):
    account = make_account(base_url=sandbox.url, user_agent="")
    MeterFactory(portfolio=account.portfolio, name="Warehouse")

    assert run_sync(account).status == SyncStatus.SYNCED

    assert {call["user_agent"] for call in sandbox.calls(service="wattcarbon")} == {DEFAULT_USER_AGENT}
