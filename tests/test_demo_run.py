"""What `make run` shows within minutes: an upload that met one failure and was retried, and a
WattCarbon sync done, with the sandbox started as the Makefile starts it."""

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from sandbox.server import start_sandbox
from tests.test_demo_restart import free_port
from uploads.demo import ACCOUNT_NAME, INTEGRATION_NAME
from uploads.models import AttemptOutcome, RaptorMapsIntegration, RunStatus, SyncStatus, WattCarbonAccount
from uploads.raptormaps.service import run_upload
from uploads.wattcarbon.service import run_sync

pytestmark = pytest.mark.django_db(transaction=True)

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


def demo_fault():
    return json.loads(re.search(r"^DEMO_FAULT \?= (.+)$", MAKEFILE.read_text(), re.MULTILINE).group(1))


def test_the_demos_first_upload_is_retried_once_and_succeeds_and_its_sync_is_done(settings, tmp_path):
    port = free_port()
    settings.DEBUG = True
    settings.SANDBOX_URL = f"http://127.0.0.1:{port}"
    settings.DEMO_ADMIN_PASSWORD_FILE = tmp_path / "demo-admin-password"
    settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS = 0  # the worker waits out the lag; the test need not

    with start_sandbox(port=port, data_dir=tmp_path / "sandbox", faults=[demo_fault()]):
        call_command("demo", "--no-login", stdout=io.StringIO())
        upload = run_upload(RaptorMapsIntegration.objects.get(name=INTEGRATION_NAME))
        sync = run_sync(WattCarbonAccount.objects.get(name=ACCOUNT_NAME))

    assert upload.status == RunStatus.UPLOADED, upload.error
    puts = [(a.status_code, a.outcome) for a in upload.attempts.filter(operation="put").order_by("started_at", "id")]
    assert puts[:2] == [(503, AttemptOutcome.RETRY), (200, AttemptOutcome.OK)]
    assert [outcome for _, outcome in puts].count(AttemptOutcome.RETRY) == 1
    assert sync.status == SyncStatus.SYNCED, sync.error
    assert (sync.meters_created, sync.assets_created) == (3, 3)
