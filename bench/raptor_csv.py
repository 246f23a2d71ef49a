"""The Raptor Maps CSV generator against the database's own COPY, on PostgreSQL.

Builds two sets of farms: 1,000,000 raw readings (--readings) on 200 sensors of 4 farms in 4 time
zones, 5-minute readings across the autumn clock changes of Europe and North America, and a tenth of
that on 200 more sensors. Then, in one run:

1. ``build_parts`` (what an upload runs) over the million readings, in a fresh process: output rows/s
   and raw readings/s, against ``COPY`` of the same join, aggregation and formatting ``TO STDOUT``,
   read through psycopg as ``build_parts`` reads it and written to /dev/null: the database's limit;
2. peak RSS of a fresh process running ``build_parts`` over the tenth and over the whole;
3. upload throughput of a 1 GB part to the sandbox against ``curl -T``: not written yet, see
   ``upload_throughput``.

It prints the figures and the ratios against the targets (rate at least 0.5 of the COPY rate,
peak RSS for the whole within 1.2 times that for the tenth), and exits non-zero only on errors.

    .venv/bin/python bench/raptor_csv.py [--readings N]

It drops and recreates the scratch database BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/bench_raptor_csv); DATABASE_URL is never used, so the bench
cannot drop a database the app uses. The parts go to var/bench/raptor-csv/.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_raptor_csv")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")

ZONES = ("America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney")
INVERTERS, METERS = 11, 2  # per farm: 11 x 4 inverter sensors, 2 x 2 meter sensors, 2 on a weather station
INVERTER_TYPES = ("dc_voltage", "dc_current_amp", "ac_power", "dc_power")
START = datetime(2024, 10, 25, tzinfo=UTC)  # Berlin turns its clocks back on the 27th, New York on 3 November
STEP = timedelta(minutes=5)
INGESTED = datetime(2024, 12, 1, tzinfo=UTC)
UNTIL = datetime(2025, 1, 1, tzinfo=UTC)
PART_BYTES = 5_000_000_000
WORK = ROOT / "var" / "bench" / "raptor-csv"

# Run in a fresh interpreter so that its peak RSS is the build's own.
CHILD = """
import json, resource, sys, time
from datetime import datetime
import django
django.setup()
from portfolio.models import Farm
from uploads.raptormaps.csvfile import build_parts
started = time.perf_counter()
build = build_parts(Farm.objects.filter(farm_id__startswith=sys.argv[1]), since={},
                    until=datetime.fromisoformat(sys.argv[2]), time_basis="local",
                    part_bytes=int(sys.argv[3]), directory=sys.argv[4])
print(json.dumps({"seconds": time.perf_counter() - started, "rows": build.rows, "bytes": build.bytes,
                  "readings": build.readings, "parts": len(build.parts), "notes": build.notes,
                  "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def recreate_database():
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    if config["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("This benchmark runs on PostgreSQL: set BENCH_DATABASE_URL=postgres://...")
    with psycopg.connect(
        host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"], dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}"')
        connection.execute(f'CREATE DATABASE "{config["NAME"]}"')


def create_sensors(portfolio, prefix):
    """Four farms of 50 sensors; return the sensors' (pk, type)."""
    from portfolio.models import Equipment, Farm, Sensor

    sensors = []
    for number, zone in enumerate(ZONES):
        farm = Farm.objects.create(
            portfolio=portfolio,
            farm_id=f"{prefix}-{number}",
            name=f"Bench farm {prefix.lower()} {number}",
            timezone=zone,
            commissioned_at=datetime(2023, 4, 1, 12, tzinfo=UTC),
            latitude=40.7 - number,
            longitude=-74.0 + 30 * number,
        )
        kinds = [(f"INV-{n:02d}", "inverter", INVERTER_TYPES) for n in range(INVERTERS)]
        kinds += [(f"MTR-{n}", "meter", ("production_meter_energy", "production_meter_power")) for n in range(METERS)]
        kinds += [("WS-1", "weather_station", ("irradiance_poa", "irradiance_ghi"))]
        for equipment_id, equipment_type, sensor_types in kinds:
            equipment = Equipment.objects.create(
                farm=farm,
                equipment_id=equipment_id,
                name=f"{equipment_type} {equipment_id}",
                equipment_type=equipment_type,
            )
            for sensor_type in sensor_types:
                sensor = Sensor.objects.create(
                    equipment=equipment, sensor_id=f"{equipment_id}-{sensor_type}", sensor_type=sensor_type
                )
                sensors.append((sensor.pk, sensor_type))
    return sensors


def load_readings(sensors, readings):
    """COPY ``readings`` 5-minute readings spread evenly over the sensors into the observation table."""
    from django.db import connection

    steps = readings // len(sensors)
    with (
        connection.cursor() as cursor,
        cursor.copy("COPY portfolio_observation (sensor_id, observed_at, value, ingested_at) FROM STDIN") as copy,
    ):
        for n, (pk, sensor_type) in enumerate(sensors):
            lines = []
            for step in range(steps):
                if sensor_type == "production_meter_energy":
                    value = 1000.0 * n + 1.25 * step  # a register only counts up
                else:
                    value = ((n * 7919 + step * 104729) % 100003) / 97.0
                lines.append(f"{pk}\t{START + step * STEP}\t{value!r}\t{INGESTED}\n")
            copy.write("".join(lines))
    return steps * len(sensors)


def build_in_child(prefix):
    directory = WORK / prefix.lower()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    output = subprocess.run(
        [sys.executable, "-c", CHILD, prefix, UNTIL.isoformat(), str(PART_BYTES), str(directory)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def copy_baseline(prefix):
    """COPY of the statement build_parts aggregates and formats with, in one piece, to /dev/null;
    the sensors table it reads is made as build_parts makes it. Returns (rows, bytes, seconds)."""
    from django.db import connection, transaction

    from portfolio.models import Farm
    from uploads.raptormaps import csvfile

    sensors = csvfile._sensors_in_order(Farm.objects.filter(farm_id__startswith=prefix), {}, "local")
    counted = {"rows": 0, "bytes": 0}

    with open(os.devnull, "wb") as devnull, transaction.atomic(), connection.cursor() as cursor:

        def write(chunk):
            counted["rows"] += chunk.count(b"\n")
            counted["bytes"] += len(chunk)
            devnull.write(chunk)

        csvfile._prepare_postgres_session(cursor)
        parameters = csvfile._create_sensors_table(cursor, sensors, UNTIL)
        statement = f"COPY ({csvfile._formatted_rows_sql(csvfile._history_sql())}) TO STDOUT (FORMAT csv)"
        started = time.perf_counter()
        csvfile.stream_copy(cursor, statement, write, parameters)
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return counted["rows"], counted["bytes"], seconds


def upload_throughput():
    """Section 3, to be written: PUT a 1 GB part to the sandbox through the upload client, and
    ``curl -T`` the same file to a signed URL of the sandbox; return (our MB/s, curl's MB/s)."""
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=1_000_000)
    args = parser.parse_args()

    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from portfolio.ingest.formats import RAPTOR_HEADERS as HEADERS
    from portfolio.models import Portfolio

    call_command("migrate", verbosity=0)
    portfolio = Portfolio.objects.create(name="Bench", slug="bench")
    started = time.perf_counter()
    big = load_readings(create_sensors(portfolio, "BIG"), args.readings)
    small = load_readings(create_sensors(portfolio, "SMALL"), args.readings // 10)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE portfolio_observation")
    print(f"data: {big:,} and {small:,} readings on 200 sensors each, loaded in {time.perf_counter() - started:.1f} s")

    small_run = build_in_child("SMALL")
    # Alternate the two twice and keep each one's best: other work on the machine only ever slows a run.
    big_runs, copy_runs = [], []
    for _ in range(2):
        big_runs.append(build_in_child("BIG"))
        copy_runs.append(copy_baseline("BIG"))
    big_run = min(big_runs, key=lambda run: run["seconds"])
    copy_rows, copy_bytes, copy_seconds = min(copy_runs, key=lambda run: run[2])
    header_bytes = len(",".join(HEADERS)) + 1
    if (copy_rows, copy_bytes) != (big_run["rows"], big_run["bytes"] - header_bytes * big_run["parts"]):
        sys.exit(f"COPY wrote {copy_rows:,} rows and {copy_bytes:,} bytes, build_parts {big_run}: they should agree")

    rows_rate, readings_rate = big_run["rows"] / big_run["seconds"], big_run["readings"] / big_run["seconds"]
    copy_rate = copy_rows / copy_seconds
    rss_ratio = big_run["max_rss_kb"] / small_run["max_rss_kb"]
    build_times = ", ".join(f"{run['seconds']:.2f} s" for run in big_runs)
    copy_times = ", ".join(f"{run[2]:.2f} s" for run in copy_runs)
    print(
        f"build_parts, {big_run['readings']:,} readings -> {big_run['rows']:,} rows "
        f"({big_run['bytes'] / 1e6:.0f} MB, {big_run['parts']} part): {big_run['seconds']:.2f} s, "
        f"{rows_rate:,.0f} rows/s, {readings_rate:,.0f} readings/s  (runs: {build_times})"
    )
    print(
        f"COPY of the same join, aggregation and formatting to /dev/null: {copy_seconds:.2f} s, "
        f"{copy_rate:,.0f} rows/s  (runs: {copy_times})"
    )
    print(
        f"peak RSS: {small_run['max_rss_kb'] / 1024:.0f} MB for {small_run['readings']:,} readings, "
        f"{big_run['max_rss_kb'] / 1024:.0f} MB for {big_run['readings']:,}"
    )
    for note in big_run["notes"]:
        print(f"note: {note}")
    throughput = upload_throughput()
    print()
    print(f"{'1. rate / COPY rate:':40} {rows_rate / copy_rate:6.2f}   (target >= 0.5)")
    print(f"{'2. peak RSS, whole / tenth:':40} {rss_ratio:6.2f}   (target <= 1.2)")
    if throughput is None:
        print(f"{'3. upload of a 1 GB part / curl -T:':40}   not measured yet (upload_throughput)")
    else:
        print(f"{'3. upload of a 1 GB part / curl -T:':40} {throughput[0] / throughput[1]:6.2f}")


if __name__ == "__main__":
    main()
