"""Killed imports: real worker processes, killed with SIGKILL, reaped; live ones left alone.

Each import runs in its own process on the test database (as a django-q2 worker or
`manage.py import_observations` would), reading a generated file large enough to still be
running when it is killed. The reaper then runs here, as the scheduled task and from the
upload horizon's check.
"""

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from portfolio import tasks
from portfolio.admin.imports import phase_of
from portfolio.ingest import jobs
from portfolio.ingest.heartbeat import Heartbeat
from portfolio.ingest.reaper import reap_stale_imports
from portfolio.models import ImportRecord, Observation, SpreadsheetPreview
from portfolio.resources.previews import create_preview, preview_path, storage_name
from tests.factories import SensorFactory
from tests.uploads.test_raptormaps_workers import database_url, wait_for
from uploads.runs.horizon import ingestion_horizon

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# Short enough for a test to wait out, long enough for a busy machine to beat in time.
STALE_SECONDS = 3
SENSORS = 20
ROWS = 400_000  # large enough that the worker is still reading when it is killed
LIVE_ROWS = 1_200_000  # large enough to run well past the stale period (about 4 s a 400,000 rows)


@pytest.fixture(autouse=True)
def quick_staleness(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORT_STALE_AFTER_SECONDS = STALE_SECONDS
    settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS = 0  # the horizon is now, unless an import holds it


@pytest.fixture
def sensors():
    first = SensorFactory(sensor_id="S-0", equipment__equipment_id="INV-1", equipment__farm__farm_id="NORTH")
    for number in range(1, SENSORS):
        SensorFactory(sensor_id=f"S-{number}", equipment=first.equipment)


def readings_file(rows=ROWS):
    """A long-format readings file: ``rows`` readings, one every 15 minutes per sensor."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    lines = ["farm_id,equipment_id,sensor_id,observed_at,value"]
    for row in range(rows):
        at = start + timedelta(minutes=15 * (row // SENSORS))
        lines.append(f"NORTH,INV-1,S-{row % SENSORS},{at:%Y-%m-%dT%H:%M:%S}+00:00,{row % 1000}.5")
    return ("\n".join(lines) + "\n").encode()


def worker_env():
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "IMPORT_STALE_AFTER_SECONDS": str(STALE_SECONDS),
        "SECRET_KEY": django_settings.SECRET_KEY,
    }


def start_job_worker(record):
    """Run the queued record's job in a process of its own, as a django-q2 worker would."""
    code = (
        "import django; django.setup(); "
        "from portfolio.ingest.jobs import run_readings_import; "
        f"run_readings_import({record.pk})"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=Path(django_settings.BASE_DIR),
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def queued_record(rows=ROWS):
    record = ImportRecord(kind="readings", target="readings", source="admin", file_name="year.csv")
    record.options = jobs.readings_options()
    record.upload.save("year.csv", ContentFile(readings_file(rows)), save=False)
    record.save()
    return record


def beating(record_id):
    """The record is running and its heartbeat thread has stamped it at least once since the start."""
    record = ImportRecord.objects.get(pk=record_id)
    return record.status == "running" and record.heartbeat_at and record.heartbeat_at > record.started_at


def kill(worker):
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)


def wait_until_stale(record):
    record.refresh_from_db()
    stale_at = record.heartbeat_at + timedelta(seconds=STALE_SECONDS)
    wait_for(lambda: timezone.now() > stale_at, seconds=STALE_SECONDS + 5, what="the heartbeat to go stale")


def assert_reaped(record):
    record.refresh_from_db()
    assert record.status == "failed"
    assert record.message.startswith("Failed, nothing imported: the worker stopped (no sign of life since ")
    assert f"more than {STALE_SECONDS} s, IMPORT_STALE_AFTER_SECONDS" in record.message
    assert "nothing was imported" in record.message
    assert record.finished_at is not None
    assert Observation.objects.count() == 0, "the killed import's one transaction never committed"


def test_a_killed_import_worker_is_reaped_its_file_released_and_the_horizon_freed(sensors):
    record = queued_record()
    upload_path = Path(record.upload.path)
    worker = start_job_worker(record)
    wait_for(lambda: beating(record.pk), what="the import to run and beat")

    # Alive: the horizon waits for it, and the reaper leaves it alone.
    record.refresh_from_db()
    assert ingestion_horizon() == (record.started_at, "a readings import still running since then")

    kill(worker)
    assert ImportRecord.objects.get(pk=record.pk).status == "running"  # nobody was left to say otherwise
    wait_until_stale(record)

    # Stale but not reaped (inside a transaction, as here, the horizon check does not reap):
    # it still holds the horizon, as a live import on SQLite that cannot beat while it holds
    # the write lock would ...
    with transaction.atomic():
        assert ingestion_horizon() == (record.started_at, "a readings import still running since then")
    assert ImportRecord.objects.get(pk=record.pk).status == "running"
    # ... until the scheduled reaper marks it failed and deletes its file.
    assert tasks.reap_stale_imports() == f"1 import(s) without a worker marked failed: #{record.pk}"
    assert ingestion_horizon()[1] == "0 s safety lag"

    assert_reaped(record)
    assert not record.upload and not upload_path.exists()
    assert reap_stale_imports() == [], "a reaped import is not reaped again"


def test_a_killed_import_command_is_reaped_by_the_horizon_check(sensors, tmp_path):
    path = tmp_path / "year.csv"
    path.write_bytes(readings_file())
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "import_observations", str(path), "--verbosity", "0"],
        cwd=Path(django_settings.BASE_DIR),
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for(lambda: ImportRecord.objects.exists(), what="the import to be recorded")
    record = ImportRecord.objects.get()
    wait_for(lambda: beating(record.pk), what="the import to run and beat")

    kill(worker)
    wait_until_stale(record)

    assert ingestion_horizon()[1] == "0 s safety lag"
    assert_reaped(record)  # by the horizon check itself, before any scheduled run
    assert path.exists(), "a command-line import's file is the user's own: never deleted"


def test_a_live_import_with_a_fresh_heartbeat_is_not_reaped(sensors):
    record = queued_record(LIVE_ROWS)
    worker = start_job_worker(record)
    wait_for(lambda: ImportRecord.objects.get(pk=record.pk).status == "running", what="the import to run")
    record.refresh_from_db()
    # Past the stale period since it started: only its heartbeat says it is alive.
    started_stale_at = record.started_at + timedelta(seconds=STALE_SECONDS + 0.5)
    wait_for(
        lambda: timezone.now() > started_stale_at or worker.poll() is not None,
        seconds=STALE_SECONDS + 5,
        what="the start to be older than the stale period",
    )
    assert worker.poll() is None, "the file is too small: the import finished before the check"
    reaped = reap_stale_imports()
    assert ingestion_horizon()[1] == "a readings import still running since then"
    output = worker.communicate(timeout=300)[0]
    assert worker.returncode == 0, output

    assert reaped == []
    record.refresh_from_db()
    assert record.status == "imported", record.message
    assert record.rows_new == LIVE_ROWS
    assert Observation.objects.count() == LIVE_ROWS


def test_a_stale_spreadsheet_preview_is_reaped_and_its_preview_discarded(admin_user):
    # A spreadsheet job killed by the same signal leaves this behind: running, heartbeat long gone.
    preview = create_preview(
        user=admin_user,
        target="farms",
        model="portfolio.farm",
        file_name="farms.csv",
        data=b"farm_id,name\nNORTH,North\n",
        in_worker=True,
    )
    path = preview_path(preview)
    record = ImportRecord.objects.create(
        kind="spreadsheet",
        target="farms",
        source="admin",
        file_name="farms.csv",
        upload=storage_name(preview),
        options={"dry_run": True, "in_worker": True},
        status="running",
        started_at=timezone.now() - timedelta(seconds=STALE_SECONDS * 3),
        heartbeat_at=timezone.now() - timedelta(seconds=STALE_SECONDS * 2),
    )
    SpreadsheetPreview.objects.filter(pk=preview.pk).update(record=record)

    assert reap_stale_imports() == [record]

    record.refresh_from_db()
    assert record.status == "failed" and "the worker stopped" in record.message
    assert not record.upload
    assert not SpreadsheetPreview.objects.filter(pk=preview.pk).exists(), "nothing left to confirm"
    assert not path.exists()


def running_since(started):
    """A running readings import whose last sign of life was at ``started``."""
    return ImportRecord.objects.create(
        kind="readings",
        target="readings",
        source="admin",
        file_name="year.csv",
        status="running",
        started_at=started,
        heartbeat_at=started,
    )


def test_the_heartbeat_thread_stamps_a_running_record_while_the_job_reports_nothing():
    started = timezone.now() - timedelta(seconds=STALE_SECONDS)
    record = running_since(started)
    with Heartbeat(record):  # e.g. the readings commit, one transaction without progress
        wait_for(lambda: ImportRecord.objects.get(pk=record.pk).heartbeat_at > started, what="a beat")
    assert reap_stale_imports() == []


def test_the_record_page_says_a_silent_worker_has_stopped_before_the_reaper_runs():
    started = timezone.now() - timedelta(seconds=STALE_SECONDS * 2)
    record = running_since(started)
    assert phase_of(record, timezone.now()) == (
        f"No sign of life from the worker for more than {STALE_SECONDS} s: it has stopped, "
        "and the import will be marked failed (nothing imported)."
    )
    ImportRecord.objects.filter(pk=record.pk).update(heartbeat_at=timezone.now())
    assert "No sign of life" not in phase_of(ImportRecord.objects.get(pk=record.pk), timezone.now())
