"""The demo keeps working across a restart of its sandbox: the remote ids it holds still exist there."""

import io
import socket

import pytest
from django.core.management import call_command
from django.utils import timezone

from portfolio.models import IntervalReading, Observation, Sensor
from sandbox.control import SandboxControl
from sandbox.server import start_sandbox
from uploads.demo import ACCOUNT_NAME, INTEGRATION_NAME
from uploads.models import RaptorMapsIntegration, RunStatus, SyncStatus, WattCarbonAccount
from uploads.raptormaps.service import run_upload
from uploads.wattcarbon.service import run_sync

pytestmark = pytest.mark.django_db(transaction=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def new_readings():
    """One more reading for Raptor Maps and one more interval for WattCarbon."""
    sensor = Sensor.objects.filter(sensor_type="ac_power").first()
    Observation.objects.create(sensor=sensor, observed_at=timezone.now().replace(microsecond=0), value=1.0)
    last = IntervalReading.objects.filter(meter__source_equipment__isnull=True).order_by("-start").first()
    IntervalReading.objects.create(
        meter=last.meter, start=last.end, end=last.end + (last.end - last.start), quantity=1.0, unit=last.unit
    )


def test_the_demo_uploads_and_syncs_again_after_its_sandbox_restarts(settings, tmp_path):
    port = free_port()
    settings.DEBUG = True
    settings.SANDBOX_URL = f"http://127.0.0.1:{port}"
    settings.DEMO_ADMIN_PASSWORD_FILE = tmp_path / "demo-admin-password"
    settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS = 0
    data_dir = tmp_path / "sandbox"

    with start_sandbox(port=port, data_dir=data_dir):
        call_command("demo", "--no-login", stdout=io.StringIO())
        integration = RaptorMapsIntegration.objects.get(name=INTEGRATION_NAME)
        account = WattCarbonAccount.objects.get(name=ACCOUNT_NAME)
        assert run_upload(integration).status == RunStatus.UPLOADED
        first = run_sync(account)
        assert first.status == SyncStatus.SYNCED, first.log

    # `make run` again: a new sandbox process on the same data directory and port.
    with start_sandbox(port=port, data_dir=data_dir) as restarted:
        new_readings()
        upload = run_upload(integration)
        assert upload.status == RunStatus.UPLOADED, upload.error
        sync = run_sync(account)
        assert sync.status == SyncStatus.SYNCED, f"{sync.error}\n{sync.log}"
        assert (sync.meters_created, sync.assets_created, sync.problems) == (0, 0, 0)
        assert sync.interval_rows >= 1
        control = SandboxControl(restarted.url)
        try:
            remote = control.wattcarbon()
        finally:
            control.close()
        assert (len(remote["meters"]), len(remote["assets"])) == (first.meters_created, first.assets_created)
