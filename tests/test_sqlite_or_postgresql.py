"""What the README's "SQLite or PostgreSQL" says, in real processes.

- ``manage.py qcluster`` (the workers) warns at start-up on SQLite (portfolio.W001), and only there.
- A sync while a spreadsheet import is midway (its one transaction open, as every import is until its
  last row): on SQLite the sync waits for the busy timeout, then stops with "database is locked",
  said plainly; the import still commits whole, and the next sync goes on from there. On PostgreSQL
  the sync goes on beside the import. The sync is ``manage.py sync_wattcarbon`` in its own process,
  on SQLite with a 1 s busy timeout (SQLITE_BUSY_TIMEOUT_SECONDS) so the test need not wait 20 s.

bench/import_during_sync.py measures how long the sync waits beside real imports of 100,000 rows.
"""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models.signals import post_save
from django.utils import timezone

from portfolio.models import Farm, ImportRecord, IntervalReading
from portfolio.resources import FarmResource
from portfolio.resources.importing import Upload, import_spreadsheet
from portfolio.sqlite import ADVICE
from tests.factories import MeterFactory, PortfolioFactory
from tests.uploads.accounts import make_account
from tests.uploads.test_raptormaps_workers import database_url
from uploads.models import SyncRun, SyncStatus

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(django_settings.BASE_DIR)
WAIT_SECONDS = 120  # a process that says nothing for this long has hung: the test fails, it never waits forever
FARMS = 50


def manage_env(**extra):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url(), **extra}
    env.pop("REDIS_URL", None)  # the ORM broker, in the test database: no shared Redis queue is touched
    return env


# -- the start-up warning ---------------------------------------------------------------------------


def qcluster_start_output():
    """Start ``manage.py qcluster``, read its output until the cluster runs, stop it; return the output."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=manage_env(Q_CLUSTER_NAME=f"sqlite-warning-{os.getpid()}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: stopping it stops the workers it forked
    )
    # A thread reads the lines: select() on the pipe cannot see lines already in the file's buffer,
    # and the cluster writes several at once.
    arriving = queue.Queue()
    reader = threading.Thread(target=lambda: [arriving.put(line) for line in process.stdout], daemon=True)
    reader.start()
    lines = []
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not any(line.rstrip().endswith("running.") for line in lines):
            remaining = deadline - time.monotonic()
            assert remaining > 0, "qcluster did not start:\n" + "".join(lines)
            try:
                lines.append(arriving.get(timeout=min(remaining, 1)))
            except queue.Empty:
                assert process.poll() is None, "qcluster exited:\n" + "".join(lines)
    finally:
        process.terminate()  # as a supervisor stops it: the cluster stops its own processes
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=10)  # it ends at the pipe's end, once the cluster has exited
        process.stdout.close()
    return "".join(lines)


def test_the_workers_warn_at_start_up_on_sqlite_only():
    output = qcluster_start_output()
    if connection.vendor == "sqlite":
        assert "(portfolio.W001) The workers run on SQLite. " + ADVICE in output
        assert '"database is locked"' in output  # the hint says what happens to a sync meanwhile
    else:
        assert "portfolio.W001" not in output
    assert "Q Cluster" in output


def test_other_commands_do_not_warn():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=manage_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "portfolio.W001" not in result.stdout + result.stderr


# -- a sync beside a spreadsheet import -----------------------------------------------------------


@pytest.fixture
def account(sandbox):
    """An account whose portfolio has one meter with two hours of readings, ingested an hour ago."""
    portfolio = PortfolioFactory(slug="synced")
    meter = MeterFactory(portfolio=portfolio)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for hour in range(2):
        IntervalReading.objects.create(
            meter=meter,
            start=start + timedelta(hours=hour),
            end=start + timedelta(hours=hour + 1),
            quantity=1.5,
            ingested_at=timezone.now() - timedelta(hours=1),
        )
    return make_account(portfolio=portfolio, base_url=sandbox.url)


class ImportMidway:
    """A real spreadsheet import of FARMS farms in a thread (its own connection), held after its first row.

    Every row of a spreadsheet goes in one transaction: held there, the import has written a farm
    and committed nothing, as it is for most of a long import.
    """

    def __init__(self, tmp_path):
        self.path = tmp_path / "farms.csv"
        rows = [f"IMP-{n:03d},importing,Farm {n},America/Phoenix" for n in range(FARMS)]
        self.path.write_text("\n".join(["farm_id,portfolio,name,timezone", *rows]) + "\n")
        PortfolioFactory(slug="importing")
        self.midway, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.outcome = None

    def _hold(self, sender, instance, **kwargs):
        if threading.current_thread() is self.thread and not self.midway.is_set():
            self.midway.set()
            assert self.release.wait(WAIT_SECONDS)

    def _run(self):
        try:
            upload = Upload.from_path(self.path)
            self.outcome = import_spreadsheet(FarmResource(), upload, source=ImportRecord.Source.COMMAND)
        finally:
            connection.close()

    def __enter__(self):
        post_save.connect(self._hold, sender=Farm, weak=False)
        self.thread.start()
        assert self.midway.wait(WAIT_SECONDS), "the import never wrote its first farm"
        return self

    def __exit__(self, *exc_info):
        self.release.set()
        self.thread.join(WAIT_SECONDS)
        post_save.disconnect(self._hold, sender=Farm)


def manage_sync(account):
    """``manage.py sync_wattcarbon`` for the account, in its own process."""
    return _run([sys.executable, "manage.py", "sync_wattcarbon", "--account", account.name])


def worker_sync(account):
    """What the worker runs for the account's schedule (``uploads.tasks.sync_wattcarbon``), in its own process."""
    code = "import sys, django; django.setup(); from uploads import tasks; tasks.sync_wattcarbon(int(sys.argv[1]))"
    return _run([sys.executable, "-c", code, str(account.pk)])


def _run(command):
    return subprocess.run(
        command,
        cwd=ROOT,
        env=manage_env(SQLITE_BUSY_TIMEOUT_SECONDS="1", UPLOADS_INGEST_SAFETY_LAG_SECONDS="0"),
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )


def test_a_sync_beside_a_spreadsheet_import_stops_plainly_on_sqlite_and_goes_on_on_postgresql(account, tmp_path):
    with ImportMidway(tmp_path) as importing:
        command, worker = manage_sync(account), worker_sync(account)
    assert importing.outcome.ok, importing.outcome.message
    assert Farm.objects.filter(portfolio__slug="importing").count() == FARMS  # still all or nothing: all

    if connection.vendor == "sqlite":
        said = "another process held the SQLite database's write lock for longer than 1 s"
        assert command.returncode == 1, command.stdout
        assert said in command.stderr and ADVICE in command.stderr
        assert "Traceback" not in command.stderr
        assert worker.returncode == 1, worker.stdout
        assert f"ERROR uploads.tasks: The WattCarbon sync of {account.name} stopped: {said}" in worker.stderr
        assert ADVICE in worker.stderr
        assert "OperationalError: database is locked" in worker.stderr  # the task still fails, for django-q2
        assert not SyncRun.objects.exists()  # both stopped at their first write: nothing to take back
        after = manage_sync(account)  # the import has committed: the next sync goes on
        assert after.returncode == 0, after.stderr
    else:
        assert command.returncode == 0, command.stderr
        assert worker.returncode == 0, worker.stderr
    first, *later = SyncRun.objects.order_by("pk")
    assert first.status == SyncStatus.SYNCED, first.error
    assert (first.meters_created, first.interval_rows) == (1, 2)
    assert [run.status for run in later] == ([] if connection.vendor == "sqlite" else [SyncStatus.NOTHING])


def test_the_busy_timeout_is_a_setting(tmp_path):
    from portfolio import config

    assert config.database({}, tmp_path)["OPTIONS"]["timeout"] == config.SQLITE_BUSY_TIMEOUT_SECONDS == 20
    assert config.database({"SQLITE_BUSY_TIMEOUT_SECONDS": "60"}, tmp_path)["OPTIONS"]["timeout"] == 60
    with pytest.raises(ImproperlyConfigured, match="SQLITE_BUSY_TIMEOUT_SECONDS=0 is below its minimum of 1"):
        config.database({"SQLITE_BUSY_TIMEOUT_SECONDS": "0"}, tmp_path)
