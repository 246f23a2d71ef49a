"""Real worker processes: a run killed mid-upload is resumed without loss; two racing workers upload once.

Each worker is `manage.py upload_raptormaps` in its own process, on the test database, against
the sandbox on 127.0.0.1: what a second machine running the same command would do.
"""

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.fixtures.cluster import database_url
from tests.uploads.expectations import assert_values_match, expected_rows, received_rows, run_task
from uploads.models import Attempt, Lease, RunStatus, UploadRun, UploadWatermark

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries"), pytest.mark.slow]

LEASE_SECONDS = 3


def start_worker(integration, tmp_path, name):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "UPLOADS_LEASE_SECONDS": str(LEASE_SECONDS),
        "UPLOADS_INGEST_SAFETY_LAG_SECONDS": "0",
        "UPLOADS_HTTP_READ_TIMEOUT": "60",
        "UPLOADS_WORK_DIR": str(tmp_path / name),
        "SECRET_KEY": django_settings.SECRET_KEY,  # the secrets' encryption key derives from it
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "upload_raptormaps", "--integration", integration.name],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition, seconds=30, what="the condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_run_killed_mid_upload_is_resumed_by_the_next_run_without_loss(sandbox, integration, sync_worker, tmp_path):
    sandbox.fault("put", mode="delay", seconds=20)  # the PUT hangs: the worker is killed inside it
    worker = start_worker(integration, tmp_path, "killed")
    wait_for(lambda: Attempt.objects.filter(operation="signed_url", outcome="ok").exists(), what="the signed URL")
    wait_for(lambda: sandbox.calls("put"), what="the PUT to start")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)

    killed = UploadRun.objects.get()
    assert killed.status == RunStatus.RUNNING  # nobody was left to say otherwise
    assert not UploadWatermark.objects.exists()
    assert Lease.objects.get().owner  # still held, until it lapses

    # While the dead worker's lease has not lapsed, a new run does not start ...
    early = run_task(integration)
    assert early.status == RunStatus.SKIPPED
    assert f"run #{killed.pk}" in early.log

    # ... once it has, the next run takes over, says what it found, and sends everything again.
    sandbox.clear_faults()
    time.sleep(LEASE_SECONDS + 0.5)
    resumed = run_task(integration)
    assert resumed.status == RunStatus.UPLOADED, resumed.error
    killed.refresh_from_db()
    assert killed.status == RunStatus.ABANDONED
    assert "had been interrupted: its worker stopped" in resumed.log
    last = sandbox.uploads()[-1]
    farm = integration.covered_farms().get()
    assert_values_match(received_rows_of(sandbox, last), expected_rows(farm))
    assert UploadWatermark.objects.get(farm=farm).run == resumed


def received_rows_of(sandbox, upload):
    """The rows of one received file (the killed PUT may or may not have reached the server whole)."""
    reader = csv.DictReader(io.StringIO(sandbox.upload_content(upload["key"]).decode()))
    return list(reader)


def test_two_workers_racing_for_one_integration_upload_once(sandbox, integration, tmp_path):
    sandbox.fault("put", mode="delay", seconds=2, times=2)  # keeps the winner busy while the other arrives
    workers = [start_worker(integration, tmp_path, f"worker-{n}") for n in (1, 2)]
    outputs = [worker.communicate(timeout=60)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs

    statuses = sorted(UploadRun.objects.values_list("status", flat=True))
    assert statuses == [RunStatus.SKIPPED, RunStatus.UPLOADED]
    assert len(sandbox.calls("put")) == 1
    assert len(sandbox.uploads()) == 1
    assert_values_match(received_rows(sandbox), expected_rows(integration.covered_farms().get()))
    skipped = UploadRun.objects.get(status=RunStatus.SKIPPED)
    assert "in progress" in skipped.log
    assert any("skipped (another run was in progress)" in output for output in outputs)
