"""The Raptor Maps CSV generator against the database's own COPY, on PostgreSQL.

Builds two sets of farms: 1,000,000 raw readings (--readings) on 200 sensors of 4 farms in 4 time
zones, 5-minute readings across the autumn clock changes of Europe and North America, and a tenth of
that on 200 more sensors. Then, in one run:

1. ``build_parts`` (what an upload runs) over the million readings, in a fresh process: output rows/s
   and raw readings/s, against ``COPY`` of the same join, aggregation and formatting ``TO STDOUT``,
   read through psycopg as ``build_parts`` reads it and written to /dev/null: the database's limit;
2. peak RSS of a fresh process running ``build_parts`` over the tenth and over the whole;
3. upload throughput of a 1 GB part to the sandbox (``manage.py sandbox`` in its own process)
   through the upload client (``put_to_signed_url``, what a run does) against ``curl -T`` of the same
   file to a signed URL of the same endpoint; with the sandbox's CSV check off (the transport) and
   on (the sandbox as it runs).

It prints the figures and the ratios against the targets (rate at least 0.5 of the COPY rate,
peak RSS for the whole within 1.2 times that for the tenth, upload at least 0.7 of curl's), and
exits non-zero only on errors.

    .venv/bin/python bench/raptor_csv.py [--readings N]

It drops and recreates the scratch database BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/bench_raptor_csv); DATABASE_URL is never used, so the bench
cannot drop a database the app uses. The parts go to var/bench/raptor-csv/.
"""

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _scratch import recreate_database, use_bench_environment  # noqa: E402 - bench/ is on sys.path: these run as scripts
from _targets import target  # noqa: E402

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_raptor_csv")
use_bench_environment()

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


PUT_BYTES = 1_000_000_000
PUT_SENSORS = 100


def write_upload_part(path, size=PUT_BYTES):
    """A valid contract CSV of about ``size`` bytes: sensors one after another, each in time order."""
    from portfolio.ingest.formats import RAPTOR_HEADERS

    per_sensor = size // PUT_SENSORS // 150 + 1
    times = [
        (datetime(2000, 1, 1) + timedelta(minutes=15 * k)).strftime("%Y-%m-%d %H:%M:%S") for k in range(per_sensor)
    ]
    written = 0
    with open(path, "w", newline="") as out:
        out.write(",".join(RAPTOR_HEADERS) + "\n")
        for sensor in range(PUT_SENSORS):
            prefix = (
                f"BENCH-1,Bench farm,America/New_York,2020-01-01 00:00:00,40.5,-74.25,"
                f"INV-{sensor:03d},Inverter {sensor},inverter,S-{sensor:03d},AC power,ac_power,"
            )
            for start in range(0, per_sensor, 10_000):
                block = "".join(
                    f"{prefix}{when},{k}.5\n" for k, when in enumerate(times[start : start + 10_000], start)
                )
                out.write(block)
                written += len(block)
                if written >= size:
                    return path
    return path


def start_sandbox_process(data_dir):
    """``manage.py sandbox`` in its own process, so the server does not share the client's interpreter."""
    import socket

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DEBUG": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--reset",  # the sandbox keeps its state across restarts: each bench starts empty
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(f"{url}/_sandbox/state", timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    sys.exit("The sandbox did not start.")


def upload_throughput(runs=3):
    """PUT a 1 GB part to the sandbox through the upload client and with ``curl -T`` (same file, same
    endpoint, a fresh signed URL each); return {check: (our best MB/s, curl's best MB/s)}.

    Measured twice: with the sandbox's CSV check off (the transport: what the client itself costs)
    and on (the sandbox as it runs, bounded by its Python CSV check for both).
    """
    import requests

    from sandbox.control import SandboxControl
    from sandbox.raptormaps import DEFAULT_API_TOKEN, DEFAULT_INTEGRATION_ID
    from uploads.models import Service
    from uploads.outbound.http import Client, RetryPolicy
    from uploads.raptormaps.api import put_to_signed_url

    logging.getLogger("uploads.outbound.http").setLevel(logging.WARNING)  # one line per PUT is noise here
    work = WORK / "upload"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    part = write_upload_part(work / "part.csv")
    size = part.stat().st_size
    process, url = start_sandbox_process(work / "sandbox")
    control = SandboxControl(url)
    signed_url_endpoint = f"{url}/insights/api/v1/integrations/org_integrations/{DEFAULT_INTEGRATION_ID}/signed_url"

    def signed_url():
        answer = requests.get(signed_url_endpoint, headers={"Authorization": f"Bearer {DEFAULT_API_TOKEN}"}, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def ours():
        client = Client(Service.RAPTORMAPS, policy=RetryPolicy(max_attempts=1), timeout=(10, 600))
        started = time.perf_counter()
        put_to_signed_url(client, signed_url(), part)
        client.close()
        return time.perf_counter() - started

    def curl():
        target = signed_url()
        started = time.perf_counter()
        result = subprocess.run(
            [
                "curl",
                "-sS",
                "-T",
                str(part),
                "-H",
                "Content-Type: text/csv",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                target,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
        if result.stdout != "200":
            sys.exit(f"curl -T got HTTP {result.stdout}: {result.stderr}")
        return seconds

    figures = {}
    try:
        for check, repeat in ((False, runs), (True, 1)):
            control.configure(check_csv=check)
            times = {"ours": [], "curl": []}
            for _ in range(repeat):  # alternate, keep each one's best: other work only ever slows a run
                times["ours"].append(ours())
                times["curl"].append(curl())
                control.reset()  # forget the stored files (disk space), keep the process
                control.configure(check_csv=check)
            mb = size / 1e6
            figures[check] = (mb / min(times["ours"]), mb / min(times["curl"]), times)
            label = "on" if check else "off"
            print(
                f"PUT {size / 1e9:.2f} GB to the sandbox (CSV check {label}): upload client "
                + ", ".join(f"{t:.2f} s" for t in times["ours"])
                + "; curl -T "
                + ", ".join(f"{t:.2f} s" for t in times["curl"])
                + f"  -> best {figures[check][0]:,.0f} MB/s vs {figures[check][1]:,.0f} MB/s"
            )
    finally:
        control.close()
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return figures


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
    target("Raptor Maps CSV rate / COPY rate", rows_rate / copy_rate, 0.5)
    target("Raptor Maps CSV peak RSS, whole / tenth", rss_ratio, 1.2, at_least=False)
    transport, checked = throughput[False], throughput[True]
    target("1 GB PUT, upload client / curl -T", transport[0] / transport[1], 0.7)
    print(f"   the same with the sandbox CSV check on: {checked[0] / checked[1]:.2f}")


if __name__ == "__main__":
    main()
