"""Two imports of the same sensors at once, in real processes: both succeed, every time, with the right counts.

Each importer is its own Python process with its own connection to the test database (what two
workers on two hosts do). They are handed their files at the same moment, round after round;
the files name the same sensors in opposite order, which deadlocked PostgreSQL before the
import wrote rows in a stable order and retried a transaction that lost a lock anyway.
"""

import json
import logging
import os
import select
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError, connection

from portfolio.ingest import import_readings
from portfolio.models import Observation, Sensor
from tests.factories import EquipmentFactory, FarmFactory, SensorFactory
from tests.ingest.files import LONG_HEADERS_BY_ID, RAPTOR_HEADERS, csv_text, write_file
from tests.uploads.test_raptormaps_workers import database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SENSORS = 200
TIMES = 5  # readings per sensor per file
ROUNDS = 20
ROUND_SECONDS = 120  # an importer that says nothing for this long has hung: the test fails, it never waits forever

# The importer process: reads a file path per line on stdin, imports it, prints the outcome as JSON.
IMPORTER = """
import json, os, sys
import django
django.setup()
from portfolio.ingest import import_readings
print("ready", flush=True)
for line in sys.stdin:
    try:
        result = import_readings(line.strip(), time_basis="utc")
        outcome = {"new": result.rows_new, "updated": result.rows_updated, "unchanged": result.rows_unchanged,
                   "renamed": result.catalog_updated, "retries": getattr(result, "retries", 0)}
    except Exception as error:
        outcome = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(outcome), flush=True)
"""


@pytest.fixture
def sensors():
    farm = FarmFactory(farm_id="F-1", name="Farm one", timezone="UTC")
    equipment = EquipmentFactory(farm=farm, equipment_id="INV-1", name="Inverter 1")
    return [SensorFactory(equipment=equipment, sensor_id=f"S-{n:03d}", sensor_type="dc_power") for n in range(SENSORS)]


def round_file(tmp_path, round_number, name, sensor_order, offset, raptor=False):
    """One file of the round: every sensor at the round's TIMES times, sensors in the order given.

    A Raptor Maps file also renames every sensor (the farm and equipment columns are as stored,
    so only sensor rows are written): the catalog's writes are then contended as well.
    """
    start = datetime(2024, 6, 1, tzinfo=UTC) + timedelta(days=round_number)
    rows = []
    for n in sensor_order:
        for t in range(TIMES):
            at, value = (start + timedelta(minutes=15 * t)).isoformat(), f"{n * 10 + t + offset}"
            if raptor:
                sensor = [f"S-{n:03d}", f"{name} {round_number} {n}", "dc_power"]
                rows.append(
                    ["F-1", "Farm one", "UTC", "", "", "", "INV-1", "Inverter 1", "inverter", *sensor, at, value]
                )
            else:
                rows.append(["F-1", "INV-1", f"S-{n:03d}", at, value])
    header = RAPTOR_HEADERS if raptor else LONG_HEADERS_BY_ID
    return write_file(tmp_path, csv_text(rows, header=header), name=f"round-{round_number}-{name}.csv")


def start_importer():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url()}
    process = subprocess.Popen(
        [sys.executable, "-c", IMPORTER],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert read_line(process) == "ready"
    return process


def read_line(process):
    ready, _, _ = select.select([process.stdout], [], [], ROUND_SECONDS)
    assert ready, f"importer {process.pid} said nothing for {ROUND_SECONDS} s"
    return process.stdout.readline().strip()


@pytest.mark.parametrize("raptor", [False, True], ids=["long format", "Raptor Maps renaming the sensors"])
def test_two_imports_of_the_same_sensors_in_opposite_order_both_succeed_every_time(sensors, tmp_path, raptor):
    importers = [start_importer(), start_importer()]
    outcomes, failed = [], []
    try:
        for round_number in range(ROUNDS):
            forward = round_file(tmp_path, round_number, "forward", range(SENSORS), 0.25, raptor)
            backward = round_file(tmp_path, round_number, "backward", reversed(range(SENSORS)), 0.5, raptor)
            # Both get their file at the same moment: each is blocked reading stdin until then.
            for importer, path in zip(importers, (forward, backward), strict=True):
                importer.stdin.write(f"{path}\n")
            for importer in importers:
                importer.stdin.flush()
            results = [json.loads(read_line(importer)) for importer in importers]
            outcomes.append(results)
            errors = [result["error"] for result in results if "error" in result]
            if errors:  # noted, and the rounds go on: the figure says how often it happens
                failed.append(f"round {round_number}: {errors[0].splitlines()[0]}")
                continue

            # Each reading is new to whichever import wrote it first and updated by the other.
            keys = SENSORS * TIMES
            assert sum(result["new"] for result in results) == keys, results
            assert sum(result["updated"] for result in results) == keys, results
            assert sum(result["unchanged"] for result in results) == 0, results
            # All or nothing: every value of the round is from one file, the one committed last.
            start = datetime(2024, 6, 1, tzinfo=UTC) + timedelta(days=round_number)
            stored = Observation.objects.filter(observed_at__gte=start, observed_at__lt=start + timedelta(days=1))
            offsets = {round(value - (int(sensor_id[2:]) * 10 + minute // 15), 2)
                       for sensor_id, minute, value in _readings(stored)}  # fmt: skip
            assert len(offsets) == 1 and offsets <= {0.25, 0.5}, offsets
            if raptor:  # each renamed every sensor; the names left are the last committed file's, like the values
                assert [result["renamed"] for result in results] == [SENSORS, SENSORS], results
                names = {name.rsplit(" ", 1)[0] for name in Sensor.objects.values_list("name", flat=True)}
                assert names == {f"{'forward' if offsets == {0.25} else 'backward'} {round_number}"}, names
    finally:
        for importer in importers:
            importer.stdin.close()
            importer.wait(timeout=30)
    assert not failed, f"{len(failed)} of {ROUNDS} rounds had an import fail: {failed}"
    assert Observation.objects.count() == ROUNDS * SENSORS * TIMES
    retries = sum(result["retries"] for results in outcomes for result in results)
    kind = "Raptor Maps" if raptor else "long-format"
    print(f"\n{ROUNDS} rounds of two concurrent {kind} imports on {connection.vendor}: {retries} write(s) retried")


def _readings(observations):
    for sensor_id, observed_at, value in observations.values_list("sensor__sensor_id", "observed_at", "value"):
        yield sensor_id, observed_at.minute + 60 * observed_at.hour, value


# --- one lost lock, forced deterministically -----------------------------------------------------
#
# PostgreSQL: another transaction locks the LAST row the import writes; once the import waits
# for it, that transaction asks for the FIRST row, which the import holds: a deadlock, and with
# its own deadlock_timeout set long, the import is the one PostgreSQL cancels. SQLite: another
# connection holds the write lock past the import's busy timeout. Either way the other
# transaction then commits, and a retried import goes through.

LOSER = "portfolio.ingest.retry"


def _pg_connect():
    import psycopg  # the PostgreSQL driver; not importable on a SQLite-only machine

    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"] or None,
        dbname=db["NAME"], autocommit=True,
    )  # fmt: skip


@contextmanager
def postgres_deadlock(first, last, importing):
    table = Observation._meta.db_table
    other, monitor = _pg_connect(), _pg_connect()
    try:
        other.execute("SET deadlock_timeout = '60s'")  # the import (1 s, the default) finds the cycle first
        other.execute("BEGIN")
        other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [last.pk])
        yield
        deadline = time.monotonic() + 30
        while not monitor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0]:
            assert importing.is_alive() and time.monotonic() < deadline, "the import never waited for the lock"
            time.sleep(0.02)
        other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [first.pk])  # closes the cycle
        other.execute("COMMIT")
    finally:
        other.close()
        monitor.close()


@contextmanager
def sqlite_lock_held(released):
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the write lock, until the import has given up once
    holder = threading.Thread(target=lambda: released.wait(timeout=30) and other.execute("COMMIT"))
    holder.start()
    try:
        yield
    finally:
        released.set()
        holder.join()
        other.close()


class _FirstRetry(logging.Handler):
    """Releases the other connection's lock when the import logs its first retry."""

    def __init__(self, event):
        super().__init__()
        self.event = event

    def emit(self, record):
        self.event.set()


@pytest.fixture
def short_busy_timeout():
    """SQLite's busy timeout (20 s) cut to half a second for the import's connection."""
    if connection.vendor != "sqlite":
        yield
        return
    options = connection.settings_dict["OPTIONS"]
    saved = options["timeout"]
    connection.close()
    options["timeout"] = 0.5
    yield
    connection.close()
    options["timeout"] = saved


@pytest.mark.parametrize("retries_allowed", [3, 0])
def test_a_write_that_loses_a_lock_is_redone_whole_and_wins(
    sensors, tmp_path, settings, caplog, short_busy_timeout, retries_allowed
):
    settings.IMPORT_DEADLOCK_RETRIES = retries_allowed
    first, last = (Observation.objects.create(sensor=s, observed_at=datetime(2024, 6, 1, tzinfo=UTC), value=1.0)
                   for s in (sensors[0], sensors[-1]))  # fmt: skip
    # Renames every sensor, adds one, updates the two readings and adds the rest: what the lost
    # attempt created (the sensor) must be created again by the retry, with the rest.
    path = round_file(tmp_path, 0, "forward", range(SENSORS), 0.25, raptor=True)
    new_sensor = ["F-1", "Farm one", "UTC", "", "", "", "INV-1", "Inverter 1", "inverter", "S-NEW", "New", "dc_power"]
    with path.open("a") as file:
        file.write(",".join([*new_sensor, "2024-06-01T00:00:00+00:00", "7"]) + "\n")
    outcome = {}
    released = threading.Event()
    handler = _FirstRetry(released)
    logging.getLogger(LOSER).addHandler(handler)

    def run_import():
        try:
            outcome["result"] = import_readings(path, time_basis="utc")
        except Exception as error:  # noted for the assertions below, whatever it is
            outcome["error"] = error
        finally:
            released.set()

    def run_import_in_its_thread():
        try:
            run_import()
        finally:
            connection.close()  # the thread's own connection

    try:
        if connection.vendor == "postgresql":
            # The import runs in a thread: the other transaction waits for it in this one.
            importing = threading.Thread(target=run_import_in_its_thread)
            with postgres_deadlock(first, last, importing):
                importing.start()
            importing.join(timeout=60)
        else:
            with sqlite_lock_held(released):
                run_import()
    finally:
        logging.getLogger(LOSER).removeHandler(handler)

    retried = [record.getMessage() for record in caplog.records if record.name == LOSER]
    if retries_allowed:
        result = outcome.get("result")
        assert result is not None, repr(outcome.get("error"))
        assert result.retries == 1 and len(retried) == 1, retried
        assert "retry 1 of 3 (IMPORT_DEADLOCK_RETRIES)" in retried[0] and "round-0-forward.csv" in retried[0]
        assert (result.rows_new, result.rows_updated) == (SENSORS * TIMES - 2 + 1, 2)
        assert (result.sensors_created, result.catalog_updated) == (1, SENSORS)
        assert Observation.objects.count() == SENSORS * TIMES + 1
        assert Sensor.objects.get(sensor_id="S-NEW").observations.get().value == 7
        assert set(Sensor.objects.exclude(sensor_id="S-NEW").values_list("name", flat=True)) == {
            f"forward 0 {n}" for n in range(SENSORS)
        }
        first.refresh_from_db()
        assert first.value == 0.25
    else:  # no retry allowed: the loser fails whole, nothing of it stored
        assert "result" not in outcome and not retried
        assert isinstance(outcome["error"], OperationalError), outcome["error"]
        assert "deadlock detected" in str(outcome["error"]) or "database is locked" in str(outcome["error"])
        assert sorted(Observation.objects.values_list("value", flat=True)) == [1.0, 1.0]
        assert not Sensor.objects.filter(sensor_id="S-NEW").exists()
