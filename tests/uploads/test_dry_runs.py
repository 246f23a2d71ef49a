"""Dry runs change nothing: not a watermark, not a remote id, not a learned value; only their own record."""

import pytest
from django.apps import apps

from portfolio.demo import load_demo_portfolio
from tests.uploads.expectations import run_task
from uploads.demo import ACCOUNT_NAME, load_demo_uploads
from uploads.models import RunStatus, SyncRun, SyncStatus, UploadRun, WattCarbonAccount
from uploads.raptormaps.service import run_upload
from uploads.wattcarbon.service import run_sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries")]

# The run records a dry run writes, and the bookkeeping every run touches: all else must stay as it was.
OWN_RECORDS = {"uploadrun", "syncrun", "attempt", "lease", "uploadpart", "logentry"}


def database():
    """Every row of every table of the project's apps, but a run's own records."""
    state = {}
    for app in ("portfolio", "uploads"):
        for model in apps.get_app_config(app).get_models():
            if model._meta.model_name not in OWN_RECORDS:
                state[model._meta.label] = list(model.objects.order_by("pk").values())
    return state


def test_a_raptor_maps_dry_run_with_nothing_new_changes_nothing(sandbox, integration, sync_worker, tmp_path):
    assert run_task(integration).status == RunStatus.UPLOADED
    before = database()

    dry = run_upload(integration, trigger="command", dry_run_dir=tmp_path)

    assert dry.status == RunStatus.DRY_RUN, dry.log
    assert database() == before
    assert UploadRun.objects.filter(status=RunStatus.DRY_RUN).count() == 1


def test_a_raptor_maps_dry_run_with_data_changes_nothing_either(sandbox, integration, tmp_path):
    before = database()
    dry = run_upload(integration, trigger="command", dry_run_dir=tmp_path)
    assert (dry.status, dry.parts) == (RunStatus.DRY_RUN, 1)
    assert database() == before
    assert sandbox.calls("put") == []


@pytest.mark.parametrize("first_synced", [True, False], ids=["after-a-sync", "before-any-sync"])
def test_a_wattcarbon_dry_run_changes_nothing(sandbox, settings, first_synced):
    settings.SANDBOX_URL = sandbox.url
    load_demo_portfolio()
    load_demo_uploads()
    account = WattCarbonAccount.objects.get(name=ACCOUNT_NAME)
    if first_synced:
        synced = run_sync(account)
        assert synced.status == SyncStatus.SYNCED, synced.log
    before, calls_before = database(), len(sandbox.calls(service="wattcarbon"))

    dry = run_sync(account, dry_run=True)

    assert dry.status == SyncStatus.DRY_RUN, dry.log
    assert database() == before
    assert SyncRun.objects.filter(status=SyncStatus.DRY_RUN).count() == 1
    writes = [call for call in sandbox.calls(service="wattcarbon")[calls_before:] if call["operation"] != "token"]
    assert writes == []
