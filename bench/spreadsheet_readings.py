"""Interval readings from a spreadsheet, the way the admin and ``import_spreadsheet`` load them, on PostgreSQL.

Generates a meter export of --rows interval readings (default 100,000: 20 meters, hourly, times
in the site's zone without an offset, as a meter portal writes them) as CSV and as XLSX (real
date cells), then measures in one run, each through ``import_spreadsheet`` (what the admin's
import and the command run: reading, checking, storing, the ImportRecord):

1. the row-by-row path (django-import-export's own ``import_data``, as before issue 17) on the
   first --per-row-rows rows (default 2,000) of the CSV: the figure before;
2. the bulk path on the whole CSV into an empty table (all new), and again (all unchanged);
3. the bulk path on the whole XLSX into an empty table, and the time reading the XLSX alone.

It prints rows/s of each and the targets (issue 17): at least 20,000 rows/s for the CSV and
5,000 rows/s for the XLSX, with "met" or "missed".

    .venv/bin/python bench/spreadsheet_readings.py [--rows N] [--per-row-rows N]

It drops and recreates the scratch database BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/bench_sheets); DATABASE_URL is never used. The files go to
var/bench/.
"""

import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _scratch import recreate_database, use_bench_environment  # noqa: E402 - bench/ is on sys.path: these run as scripts
from _targets import target  # noqa: E402

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_sheets")
use_bench_environment()

METERS = 20
ZONE = "America/Phoenix"  # no daylight saving: every local hour exists once
START = datetime(2024, 1, 1)
HEADERS = ["portfolio", "meter", "start", "end", "quantity", "unit"]
WORK = ROOT / "var" / "bench"
CSV_TARGET, XLSX_TARGET = 20_000, 5_000


def rows(count):
    """Meter-major, hourly, local times: what one meter portal's export looks like."""
    per_meter = -(-count // METERS)
    made = 0
    for m in range(METERS):
        for hour in range(per_meter):
            if made == count:
                return
            start = START + timedelta(hours=hour)
            yield [
                "bench",
                f"Meter {m:02d}",
                start,
                start + timedelta(hours=1),
                round((m * 7 + hour * 13) % 997 / 9.7, 3),
            ]
            made += 1


def write_csv(path, count):
    with open(path, "w") as stream:
        stream.write(",".join(HEADERS) + "\n")
        for portfolio, meter, start, end, quantity in rows(count):
            stream.write(f"{portfolio},{meter},{start:%Y-%m-%d %H:%M},{end:%Y-%m-%d %H:%M},{quantity},kWh\n")


def write_xlsx(path, count):
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("interval-readings")
    sheet.append(HEADERS)
    for row in rows(count):
        sheet.append([*row, "kWh"])
    book.save(path)


def setup():
    """A portfolio whose meters are fed by a farm's production meters: the farm's zone is theirs."""
    from portfolio.models import Equipment, Farm, Meter, Portfolio, Sensor

    portfolio = Portfolio.objects.create(name="Bench", slug="bench")
    farm = Farm.objects.create(portfolio=portfolio, farm_id="BF-01", name="Bench farm", timezone=ZONE)
    for m in range(METERS):
        equipment = Equipment.objects.create(
            farm=farm, equipment_id=f"MTR-{m:02d}", name="Meter", equipment_type="meter"
        )
        Sensor.objects.create(equipment=equipment, sensor_type="production_meter_energy")
        Meter.objects.create(
            portfolio=portfolio, name=f"Meter {m:02d}", source_equipment=equipment, latitude=32.9, longitude=-112.7
        )


def empty():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE portfolio_intervalreading")
        cursor.execute("VACUUM ANALYZE portfolio_intervalreading")


def run(path, *, bulk=True):
    """import_spreadsheet of the file, as the command does; (outcome, seconds)."""
    from portfolio.resources import IntervalReadingResource
    from portfolio.resources.importing import Upload, import_spreadsheet

    resource = IntervalReadingResource()
    resource.bulk = bulk
    started = time.perf_counter()
    outcome = import_spreadsheet(resource, Upload.from_path(path), source="command")
    seconds = time.perf_counter() - started
    assert outcome.ok, outcome.problems[:3]
    return outcome, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--per-row-rows", type=int, default=2_000)
    args = parser.parse_args()

    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    from portfolio.models import IntervalReading
    from portfolio.resources.collector import collector_paused
    from portfolio.resources.files import read_sheet

    call_command("migrate", verbosity=0)
    setup()
    WORK.mkdir(parents=True, exist_ok=True)
    small, big, book = (
        WORK / "interval-readings-small.csv",
        WORK / "interval-readings.csv",
        WORK / "interval-readings.xlsx",
    )
    write_csv(small, args.per_row_rows)
    write_csv(big, args.rows)
    write_xlsx(book, args.rows)
    print(
        f"files: {args.rows:,} rows as CSV ({big.stat().st_size / 1e6:.1f} MB) and XLSX "
        f"({book.stat().st_size / 1e6:.1f} MB); {args.per_row_rows:,} rows for the row-by-row path",
        flush=True,
    )

    outcome, seconds = run(small, bulk=False)
    per_row = args.per_row_rows / seconds
    print(f"row by row (before), CSV, {outcome.rows_new:,} new: {seconds:.1f} s, {per_row:,.0f} rows/s", flush=True)
    empty()

    outcome, seconds = run(big)
    assert outcome.rows_new == args.rows == IntervalReading.objects.count(), outcome.message
    csv_rate = args.rows / seconds
    print(
        f"bulk, CSV, {args.rows:,} new: {seconds:.1f} s, {csv_rate:,.0f} rows/s ({csv_rate / per_row:.0f}x row by row)",
        flush=True,
    )
    outcome, seconds = run(big)
    assert outcome.rows_unchanged == args.rows, outcome.message
    print(f"bulk, CSV again, {args.rows:,} unchanged: {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s", flush=True)
    empty()

    started = time.perf_counter()
    with collector_paused():  # as import_spreadsheet reads it
        read_sheet(book.read_bytes())
    reading = time.perf_counter() - started
    outcome, seconds = run(book)
    assert outcome.rows_new == args.rows == IntervalReading.objects.count(), outcome.message
    xlsx_rate = args.rows / seconds
    print(
        f"bulk, XLSX, {args.rows:,} new: {seconds:.1f} s ({reading:.1f} s of it reading the workbook), "
        f"{xlsx_rate:,.0f} rows/s",
        flush=True,
    )
    print()
    target("bulk path, CSV, rows/s", csv_rate, CSV_TARGET, digits=0)
    target("bulk path, XLSX, rows/s", xlsx_rate, XLSX_TARGET, digits=0)


if __name__ == "__main__":
    main()
