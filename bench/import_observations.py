"""The readings import against its limit and against what a user would otherwise use, on PostgreSQL.

Generates a Raptor Maps CSV of --rows readings (default 1,000,000: 1,000 sensors, 15-minute
data) and a tenth of it, then measures in one run:

1. ``import_readings`` (what ``manage.py import_observations`` runs) of the 1/10 file and of
   the whole file into the project's tables, each in a fresh process: rows/s and peak RSS;
2. ``COPY`` of the same rows (already resolved to sensor ids and UTC times) into a bare table
   with the same unique key: the database's limit;
3. django-import-export's ``ObservationResource`` import of the first --resource-rows rows
   (default 20,000), what a user would otherwise use.

It prints rows/s of each and the ratios against the targets (issue 3): at least 1/3 of the
COPY rate, at least 50 times the django-import-export rate, and peak RSS for the whole file
within 1.2 times that for the tenth.

    .venv/bin/python bench/import_observations.py [--rows N] [--resource-rows N]

It drops and recreates the scratch database BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/bench_import); DATABASE_URL is never used. The files go
to var/bench/.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _scratch import recreate_database, use_bench_environment  # noqa: E402 - bench/ is on sys.path: these run as scripts

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_import")
use_bench_environment()

FARMS, INVERTERS_PER_FARM = 10, 25
SENSOR_TYPES = ("dc_voltage", "dc_current_amp", "ac_power", "dc_power")  # 10 x 25 x 4 = 1,000 sensors
START = datetime(2024, 6, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)
WORK = ROOT / "var" / "bench"

# Run in a fresh interpreter so its peak RSS is the import's own.
CHILD = """
import json, resource, sys, time
import django
django.setup()
from portfolio.ingest import import_readings
from portfolio.models import Portfolio
phases = {}
def progress(update):
    phases.setdefault(update.phase, time.monotonic())
started = time.monotonic()
result = import_readings(sys.argv[1], portfolio=Portfolio.objects.get(slug="bench"), time_basis="utc",
                         progress=progress)
print(json.dumps({"rows": result.rows_read, "new": result.rows_new, "seconds": result.seconds,
                  "reading": phases["writing"] - started, "writing": phases["done"] - phases["writing"],
                  "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def sensors():
    for f in range(FARMS):
        for e in range(INVERTERS_PER_FARM):
            for sensor_type in SENSOR_TYPES:
                yield f"BF-{f:02d}", f"INV-{e:02d}", sensor_type


def generate(path, rows):
    """A Raptor Maps CSV: every sensor at every 15-minute step, time-major like a logger export."""
    from portfolio.ingest.formats import RAPTOR_HEADERS

    all_sensors = list(sensors())
    steps = rows // len(all_sensors)
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(RAPTOR_HEADERS)
        for step in range(steps):
            stamp = (START + step * STEP).strftime("%Y-%m-%d %H:%M:%S")
            for n, (farm_id, equipment_id, sensor_type) in enumerate(all_sensors):
                value = round(1000 * ((n * 7 + step * 13) % 997) / 997, 3)
                writer.writerow(
                    [farm_id, f"Bench farm {farm_id}", "UTC", "2023-01-01 00:00:00", "33.4", "-112.1",
                     equipment_id, f"Inverter {equipment_id}", "inverter", "", "", sensor_type, stamp, value]
                )  # fmt: skip
    return steps * len(all_sensors)


def import_in_child(path):
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def truncate_observations():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE portfolio_observation")
        cursor.execute("VACUUM ANALYZE portfolio_observation")


def copy_baseline(path):
    """COPY the file's rows, resolved beforehand, into a bare table with the same unique key."""
    from django.db import connection

    from portfolio.models import Sensor

    ids = {
        (s.equipment.farm.farm_id, s.equipment.equipment_id, s.sensor_type): s.pk
        for s in Sensor.objects.select_related("equipment__farm")
    }
    lines = []
    with open(path, newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        for row in reader:
            lines.append(f"{ids[(row[0], row[6], row[11])]}\t{row[12]}+00\t{row[13]}\n")
    data = "".join(lines)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute(
            "CREATE TABLE bench_copy (sensor_id bigint NOT NULL, observed_at timestamptz NOT NULL, "
            "value double precision NOT NULL, UNIQUE (sensor_id, observed_at))"
        )
        started = time.perf_counter()
        with cursor.copy("COPY bench_copy (sensor_id, observed_at, value) FROM STDIN") as copy:
            copy.write(data)
        seconds = time.perf_counter() - started
    return len(lines), seconds


def table_insert_baseline():
    """The observation table's own cost: insert the COPY baseline's rows with one INSERT ... SELECT."""
    from django.db import connection, transaction

    truncate_observations()
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO portfolio_observation (sensor_id, observed_at, value, ingested_at) "
            "SELECT sensor_id, observed_at, value, now() FROM bench_copy"
        )
        rows = cursor.rowcount
    return rows, time.perf_counter() - started  # the commit runs the deferred foreign key checks


def resource_import(path, rows):
    """django-import-export's resource import of the first ``rows`` rows, as the admin would do it."""
    import tablib

    from portfolio.resources import ObservationResource

    dataset = tablib.Dataset(headers=["farm_id", "equipment_id", "sensor_id", "sensor_type", "observed_at", "value"])
    with open(path, newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        for row, _ in zip(reader, range(rows), strict=False):
            dataset.append([row[0], row[6], row[9], row[11], f"{row[12]}+00:00", row[13]])
    started = time.perf_counter()
    result = ObservationResource().import_data(dataset, dry_run=False, raise_errors=True)
    seconds = time.perf_counter() - started
    assert result.totals["new"] == rows, result.totals
    return rows, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resource-rows", type=int, default=20_000)
    args = parser.parse_args()

    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    from portfolio.models import Observation, Portfolio

    call_command("migrate", verbosity=0)
    Portfolio.objects.create(name="Bench", slug="bench")
    WORK.mkdir(parents=True, exist_ok=True)
    big, small = WORK / "readings-big.csv", WORK / "readings-small.csv"
    big_rows = generate(big, args.rows)
    small_rows = generate(small, args.rows // 10)
    print(f"files: {big_rows:,} rows ({big.stat().st_size / 1e6:.0f} MB), {small_rows:,} rows", flush=True)

    small_run = import_in_child(small)  # also creates the farms, equipment and sensors
    truncate_observations()
    big_run = import_in_child(big)
    assert big_run["new"] == big_rows == Observation.objects.count(), big_run
    copy_rows, copy_seconds = copy_baseline(big)
    table_rows, table_seconds = table_insert_baseline()
    truncate_observations()
    resource_rows, resource_seconds = resource_import(big, args.resource_rows)

    ours = big_run["rows"] / big_run["seconds"]
    copy_rate = copy_rows / copy_seconds
    resource_rate = resource_rows / resource_seconds
    rss_ratio = big_run["max_rss_kb"] / small_run["max_rss_kb"]
    print(
        f"import_readings, {big_rows:,} rows:     {ours:12,.0f} rows/s  ({big_run['seconds']:.1f} s: "
        f"reading and staging {big_run['reading']:.1f} s, checking and upserting {big_run['writing']:.1f} s)"
    )
    print(f"INSERT ... SELECT of the same rows into the observation table (its keys, indexes and foreign key): "
          f"{table_rows / table_seconds:,.0f} rows/s ({table_seconds:.1f} s)")  # fmt: skip
    print(f"COPY into a bare keyed table:   {copy_rate:12,.0f} rows/s  ({copy_seconds:.1f} s)")
    print(f"django-import-export, {resource_rows:,} rows: {resource_rate:9,.0f} rows/s  ({resource_seconds:.1f} s)")
    print(f"peak RSS: {small_run['max_rss_kb'] / 1024:.0f} MB for {small_rows:,} rows, "
          f"{big_run['max_rss_kb'] / 1024:.0f} MB for {big_rows:,}")  # fmt: skip
    print()
    print(f"rate / COPY rate:                  {ours / copy_rate:6.2f}   (target >= 0.33)")
    print(f"rate / django-import-export rate:  {ours / resource_rate:6.1f}   (target >= 50)")
    print(f"peak RSS, big / small file:        {rss_ratio:6.2f}   (target <= 1.2)")


if __name__ == "__main__":
    main()
