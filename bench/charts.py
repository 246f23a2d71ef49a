"""The admin's chart endpoints over 10 million readings, on PostgreSQL: bounded by their range?

Loads readings (5-minute data, 100,000 per sensor, generated in SQL) into a scratch database in
two steps: the two charted farms' 19 sensors first (1,900,000 readings), then nine other farms'
81 sensors (10,000,000 in all), so the charted sensors' own data is the same at both sizes. At
each size it times every chart endpoint for a 1-day, a 30-day and a 1-year range (median of 5
warm runs, through the test client: view, queries and JSON), and, as the baseline measured in
the same run, the sensor's change page without its chart (the page the chart sits on). Two
figures matter: each chart's growth from the small to the large table (flat: the table's size
does not count, the range does), and its cost against the page.

    .venv/bin/python bench/charts.py

It drops and recreates the scratch database BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/charts_bench); DATABASE_URL is never used.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _scratch import recreate_database, use_bench_environment  # noqa: E402 - bench/ is on sys.path: these run as scripts

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/charts_bench")
use_bench_environment()
os.environ["ALLOWED_HOSTS"] = "testserver"

PER_SENSOR = 100_000  # 5-minute readings: 347 days from 2025-01-01
INVERTERS_PER_FARM = 9
END = "2025-12-01"  # every range ends here, inside the data
RANGES = {"1 day": "24h", "30 days": "30d", "1 year": "1y"}


def make_farm(portfolio, number, register=True):
    from portfolio.choices import EquipmentType, SensorType
    from portfolio.models import Equipment, Farm, Sensor

    farm = Farm.objects.create(
        portfolio=portfolio, farm_id=f"F{number:03d}", name=f"Farm {number}", timezone="America/New_York"
    )
    for e in range(INVERTERS_PER_FARM):
        equipment = Equipment.objects.create(
            farm=farm, equipment_id=f"INV-{e:02d}", name=f"Inverter {e}", equipment_type=EquipmentType.INVERTER
        )
        Sensor.objects.create(equipment=equipment, sensor_type=SensorType.AC_POWER)
    if register:
        meter = Equipment.objects.create(
            farm=farm, equipment_id="MTR-01", name="Meter", equipment_type=EquipmentType.METER
        )
        Sensor.objects.create(equipment=meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    return farm


def load_readings(farms):
    """100,000 readings per sensor of ``farms``: power by the sun's hours, registers counting up."""
    from django.db import connection

    from portfolio.models import Sensor

    sensors = list(Sensor.objects.filter(equipment__farm__in=farms).values_list("pk", flat=True))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO portfolio_observation (sensor_id, observed_at, value, ingested_at)
            SELECT s.id, timestamptz '2025-01-01' + interval '5 minutes' * n,
                CASE WHEN s.sensor_type = 'production_meter_energy' THEN n * 250.0
                     ELSE greatest(0, sin(mod(n, 288) / 288.0 * 2 * pi() - pi() / 2)) * 3000 + random() * 50 END,
                now()
            FROM portfolio_sensor s, generate_series(0, %s - 1) n
            WHERE s.id = ANY(%s)
            """,
            [PER_SENSOR, sensors],
        )
        cursor.execute("VACUUM ANALYZE portfolio_observation")
        cursor.execute("SELECT count(*) FROM portfolio_observation")
        total = cursor.fetchone()[0]
    print(f"table now {total:,} observations ({time.perf_counter() - started:.0f} s to load)", flush=True)
    return total


def load_uploads_and_meter(portfolio, farm):
    """A year of hourly intervals on a meter half sent to WattCarbon; a year of upload parts and calls."""
    from django.db import connection

    from portfolio.models import IntervalReading, Meter
    from uploads.models import RaptorMapsIntegration, UploadRun, WattCarbonAccount, WattCarbonMeterLink
    from uploads.secrets import Secret

    meter = Meter.objects.create(portfolio=portfolio, name="Bench meter", latitude=40.0, longitude=-75.0)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO portfolio_intervalreading (meter_id, start, "end", quantity, unit, ingested_at)
            SELECT %s, t, t + interval '1 hour', random() * 500, 'kWh', t + interval '1 hour'
            FROM generate_series(timestamptz '2025-01-01', timestamptz '2025-12-31 23:00', interval '1 hour') t
            """,
            [meter.pk],
        )
    account = WattCarbonAccount.objects.create(
        name="Bench account",
        portfolio=portfolio,
        base_url="https://wattcarbon.example",
        email="b@example.com",
        api_key=Secret("bench-key"),
        account_id="bench",
    )
    middle = IntervalReading.objects.filter(meter=meter).order_by("start")[4380]
    WattCarbonMeterLink.objects.create(
        account=account,
        meter=meter,
        remote_id=1,
        intervals_through_at=middle.ingested_at,
        intervals_through_id=middle.pk,
    )
    integration = RaptorMapsIntegration.objects.create(
        name="Bench integration",
        portfolio=portfolio,
        base_url="https://raptormaps.example",
        integration_id=1,
        api_token=Secret("bench-token"),
    )
    run = UploadRun.objects.create(integration=integration, status="uploaded", trigger="schedule")
    with connection.cursor() as cursor:
        # A part every 15 minutes and four calls per part, for a year: 35,040 parts, 140,160 calls.
        cursor.execute(
            """
            INSERT INTO uploads_uploadpart (run_id, number, rows, bytes, sha256, status, uploaded_at)
            SELECT %s, n + 1, 5000, 900000, repeat('0', 64), 'uploaded',
                timestamptz '2025-01-01' + interval '15 minutes' * n
            FROM generate_series(0, 35039) n
            """,
            [run.pk],
        )
        cursor.execute(
            """
            INSERT INTO uploads_attempt (service, operation, method, url, status_code, outcome, error,
                response_excerpt, started_at, duration_ms, run_id, subject_id, subject_label, task_id)
            SELECT 'raptormaps', 'put', 'PUT', 'https://raptormaps.example/part', 200,
                (ARRAY['ok', 'ok', 'ok', 'retry', 'ok', 'gave_up'])[1 + mod(n, 6)], '', '',
                timestamptz '2025-01-01' + interval '225 seconds' * n, 100, %s, '', '', ''
            FROM generate_series(0, 140159) n
            """,
            [run.pk],
        )
        cursor.execute("ANALYZE")
    return meter


def timed(action, repeat=5):
    action()  # warm the cache: the question is steady-state cost, not first-touch I/O
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    recreate_database()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from portfolio.choices import SensorType
    from portfolio.models import Portfolio, Sensor

    call_command("migrate", verbosity=0)
    portfolio = Portfolio.objects.create(name="Bench", slug="bench")
    charted = [make_farm(portfolio, 0), make_farm(portfolio, 1, register=False)]
    rest = [make_farm(portfolio, number, register=False) for number in range(2, 11)]
    meter = load_uploads_and_meter(portfolio, charted[0])

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)

    def get(url, query=None):
        def run():
            response = client.get(url, query or {})
            assert response.status_code == 200, (url, response.status_code, response.content[:300])

        return run

    sensor = Sensor.objects.get(equipment__farm=charted[0], equipment__equipment_id="INV-00")
    register = Sensor.objects.get(equipment__farm=charted[0], sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    charts = {
        "sensor readings (AC power)": f"/admin/portfolio/sensor/{sensor.pk}/chart/readings/",
        "sensor readings (register)": f"/admin/portfolio/sensor/{register.pk}/chart/readings/",
        "farm production (register)": f"/admin/portfolio/farm/{charted[0].pk}/chart/production/",
        "farm production (9 inverters)": f"/admin/portfolio/farm/{charted[1].pk}/chart/production/",
        "meter intervals and sent": f"/admin/portfolio/meter/{meter.pk}/chart/intervals/",
        "upload volume": "/admin/uploads/uploadrun/chart/volume/",
        "calls by outcome": "/admin/uploads/attempt/chart/outcomes/",
    }
    baseline_name = "baseline: the sensor's change page"
    baseline = get(f"/admin/portfolio/sensor/{sensor.pk}/change/")
    results = {}
    for farms in (charted, rest):
        total = load_readings(farms)
        measured = {baseline_name: timed(baseline)}
        for name, url in charts.items():
            for words, preset in RANGES.items():
                measured[f"{name}, {words}"] = timed(get(url, {"range": preset, "end": END}))
        results[total] = measured

    (small_size, small), (large_size, large) = results.items()
    page = large[baseline_name]
    print(f"\nmedian ms of 5 warm runs; growth = large / small table ({large_size:,} / {small_size:,} readings);")
    print("x page = the chart's time over the sensor change page's, on the large table\n")
    print(f"{'':46} {'small':>8} {'large':>8} {'growth':>7} {'x page':>7}")
    for name in small:
        s, lg = small[name] * 1000, large[name] * 1000
        print(f"{name:46} {s:8.1f} {lg:8.1f} {lg / s:7.2f} {large[name] / page:7.2f}")


if __name__ == "__main__":
    main()
