"""Admin pages, the dashboard and the chart endpoints over a big observation table, on PostgreSQL: flat to 10 million?

Two kinds of farms share one table. Two charted farms hold a fixed year of readings, loaded
first and never grown: one farm's production-meter register (15-minute data) and another's 9
inverters (AC power, 5-minute data), 897,792 readings through 2025-12-01. Twenty listed farms
(1,000 sensors, 15-minute data from 2025-01-01) fill the table up to --small readings in all
(default 1,000,000); that database is then copied and, in the copy, the listed farms' series
grow forward in time to --large (default 10,000,000), all in SQL with generate_series. A meter
with a year of hourly intervals, and a year of upload parts and calls, feed the uploads' charts.

It times, through the real admin (the test client, as a superuser), every admin page that reads
the table, the admin index with its dashboard, and each chart's JSON endpoint over 1 day, its
default range and 1 year: median of 5 warm requests on each table, the small and the large
alternating request by request (each database keeps its own connection), so that another
process's busy minute falls on both. Baselines, in the same run: one exact ``SELECT COUNT(*)``,
and the observation list with Django's defaults (exact counts). Each page's figures: ms on both
tables, growth, and the targets (< 300 ms on the large table, growth < 1.5). The slowest SQL
query of each page on the large table is run again under ``EXPLAIN (ANALYZE, BUFFERS)``, its
plans written to var/bench/admin_observations.explain.txt.

When no index on (sensor, observed_at) carries the value (``INCLUDE (value)``), the charts that
read readings are timed a second time with such a covering index added to both databases, then
dropped (--no-covering skips it).

    .venv/bin/python bench/admin_observations.py [--small N --large N] [--no-covering]

It drops and recreates the scratch database BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/bench_admin) and its copy with "_large" after the name;
DATABASE_URL is never used, so a run can never touch a real database.
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
from _targets import target  # noqa: E402

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_admin")
use_bench_environment()
os.environ["ALLOWED_HOSTS"] = "testserver"

FARMS, EQUIPMENT_PER_FARM, SENSORS_PER_EQUIPMENT = 20, 25, 2
INVERTERS = 9
START, END = "2025-01-01", "2025-12-01"  # the charted year's data; every chart range ends at END
RANGES = {"1 day": "24h", "default": None, "1 year": "1y"}
MS_AT_LARGE, GROWTH = 300, 1.5
COVERING = "bench_observation_sensor_time_value"
EXPLAIN_FILE = ROOT / "var" / "bench" / "admin_observations.explain.txt"


def create_listed_farms(portfolio):
    """The 20 farms of the lists, each of 25 inverters of 2 sensors; the sensors' primary keys."""
    from portfolio.choices import EquipmentType, SensorType
    from portfolio.models import Equipment, Farm, Sensor

    sensors = []
    for f in range(FARMS):
        farm = Farm.objects.create(portfolio=portfolio, farm_id=f"F{f:02d}", name=f"Farm {f}", timezone="UTC")
        for e in range(EQUIPMENT_PER_FARM):
            equipment = Equipment.objects.create(
                farm=farm, equipment_id=f"INV-{e:02d}", name=f"Inverter {e}", equipment_type=EquipmentType.INVERTER
            )
            sensors += Sensor.objects.bulk_create(
                Sensor(equipment=equipment, sensor_id=f"S{s}", sensor_type=SensorType.AC_POWER)
                for s in range(SENSORS_PER_EQUIPMENT)
            )
    return [sensor.pk for sensor in sensors]


def create_charted_farms(portfolio):
    """A farm measured by its production-meter register, and one by its 9 inverters' AC power."""
    from portfolio.choices import EquipmentType, SensorType
    from portfolio.models import Equipment, Farm, Sensor

    by_register = Farm.objects.create(
        portfolio=portfolio, farm_id="C-REG", name="Charted by register", timezone="America/New_York"
    )
    meter = Equipment.objects.create(
        farm=by_register, equipment_id="MTR-01", name="Meter", equipment_type=EquipmentType.METER
    )
    register = Sensor.objects.create(equipment=meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    by_inverters = Farm.objects.create(
        portfolio=portfolio, farm_id="C-INV", name="Charted by inverters", timezone="America/New_York"
    )
    inverters = []
    for e in range(INVERTERS):
        equipment = Equipment.objects.create(
            farm=by_inverters, equipment_id=f"INV-{e:02d}", name=f"Inverter {e}", equipment_type=EquipmentType.INVERTER
        )
        inverters.append(Sensor.objects.create(equipment=equipment, sensor_type=SensorType.AC_POWER))
    return by_register, by_inverters, register, inverters


def insert_readings(cursor, statement, parameters):
    # Bench data is valid by construction: skip the deferred foreign-key check of each row,
    # which would queue millions of trigger events (replica role: triggers do not fire).
    cursor.execute("SET session_replication_role = replica")
    try:
        cursor.execute(statement, parameters)
    finally:
        cursor.execute("SET session_replication_role = DEFAULT")


def load_charted_readings(register, inverters):
    """The charted year: inverters' power by the sun's hours every 5 minutes, the register counting up every 15."""
    from django.db import connection

    with connection.cursor() as cursor:
        insert_readings(
            cursor,
            """
            INSERT INTO portfolio_observation (sensor_id, observed_at, value, ingested_at)
            SELECT s, timestamptz %(start)s + interval '5 minutes' * n,
                greatest(0, sin(mod(n, 288) / 288.0 * 2 * pi() - pi() / 2)) * 3000 + random() * 50, now()
            FROM unnest(%(inverters)s::bigint[]) s,
                generate_series(0, (extract(epoch FROM timestamptz %(end)s - timestamptz %(start)s) / 300)::int - 1) n
            """,
            {"start": START, "end": END, "inverters": [sensor.pk for sensor in inverters]},
        )
        insert_readings(
            cursor,
            """
            INSERT INTO portfolio_observation (sensor_id, observed_at, value, ingested_at)
            SELECT %(register)s, timestamptz %(start)s + interval '15 minutes' * n, n * 750.0, now()
            FROM generate_series(0, (extract(epoch FROM timestamptz %(end)s - timestamptz %(start)s) / 900)::int - 1) n
            """,
            {"start": START, "end": END, "register": register.pk},
        )
        cursor.execute("SELECT count(*) FROM portfolio_observation")
        return cursor.fetchone()[0]


def grow_to(rows, listed, charted):
    """Extend every listed sensor's series forward in time until the table holds about ``rows`` rows."""
    from django.db import connection

    from portfolio.models import Observation

    have = Observation.objects.filter(sensor_id__in=listed[:1]).count()
    want = (rows - charted) // len(listed)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        insert_readings(
            cursor,
            """
            INSERT INTO portfolio_observation (sensor_id, observed_at, value, ingested_at)
            SELECT s, timestamptz %(start)s + interval '15 minutes' * n, random() * 1000, now()
            FROM unnest(%(sensors)s::bigint[]) s, generate_series(%(have)s, %(want)s - 1) n
            """,
            {"start": START, "sensors": listed, "have": have, "want": want},
        )
        cursor.execute("VACUUM ANALYZE portfolio_observation")
        cursor.execute("SELECT count(*) FROM portfolio_observation")
        total = cursor.fetchone()[0]
    print(f"table now {total:,} observations ({time.perf_counter() - started:.0f} s to load)", flush=True)
    return total


def load_uploads_and_meter(portfolio):
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


class Databases:
    """The small and the large table, each in its own database with its own open connection.

    The machine is shared: measured one size after the other, a busy minute of another process
    would land on one size only. Each page is timed alternately on both, so noise falls on both.
    """

    def __init__(self, small, large):
        from django.db import connections

        self.small, self.large = small, large
        self.wrappers = {small: connections["default"]}
        self.clients = {}

    def clone_small_as_large(self):
        """The large database starts as a copy of the small one (same rows, same primary keys)."""
        import psycopg
        from django.db import connection, connections

        settings = connection.settings_dict
        name = f"{settings['NAME']}_large"
        connection.close()
        with psycopg.connect(
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
            user=settings["USER"],
            dbname="postgres",
            autocommit=True,
        ) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{settings["NAME"]}"')
        self.wrappers[self.large] = type(connections["default"])({**settings, "NAME": name}, "default")
        self.use(self.large)

    def use(self, size):
        from django.db import connections

        connections["default"] = self.wrappers[size]
        connections["default"].ensure_connection()

    def log_in(self, user):
        from django.test import Client

        for size in (self.small, self.large):
            self.use(size)
            self.clients[size] = Client()
            self.clients[size].force_login(user)

    def timed(self, action, repeat=5):
        """{size: median seconds of ``repeat`` warm runs of action(client)}, the sizes alternating."""
        times = {self.small: [], self.large: []}
        for run in range(repeat + 1):
            for size in (self.small, self.large):
                self.use(size)
                started = time.perf_counter()
                action(self.clients[size])
                if run:  # the first run of each warms the cache: the question is steady-state cost
                    times[size].append(time.perf_counter() - started)
        return {size: statistics.median(found) for size, found in times.items()}


def covering_index_present():
    """Whether an index on (sensor_id, observed_at) of the table already carries the value."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'portfolio_observation'")
        return any("(sensor_id, observed_at) INCLUDE (value)" in definition for (definition,) in cursor.fetchall())


def set_covering_index(present):
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        if present:
            cursor.execute(f"CREATE INDEX {COVERING} ON portfolio_observation (sensor_id, observed_at) INCLUDE (value)")
            cursor.execute("VACUUM ANALYZE portfolio_observation")
        else:
            cursor.execute(f"DROP INDEX IF EXISTS {COVERING}")
    if present:
        print(f"covering index built ({time.perf_counter() - started:.0f} s)", flush=True)


def slowest_query_plan(action):
    """(ms, SQL, EXPLAIN (ANALYZE, BUFFERS) text) of the slowest SELECT ``action`` sends."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        action()
    selects = [query for query in captured.captured_queries if query["sql"].lstrip().upper().startswith("SELECT")]
    if not selects:
        return None
    slowest = max(selects, key=lambda query: float(query["time"]))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return float(slowest["time"]) * 1000, slowest["sql"], plan


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--no-covering", action="store_true", help="do not time the charts with a covering index")
    args = parser.parse_args()
    recreate_database()

    import django

    django.setup()
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.paginator import Paginator
    from django.db import connection

    from portfolio.models import Farm, Observation, Portfolio, Sensor

    call_command("migrate", verbosity=0)
    portfolio = Portfolio.objects.create(name="Bench", slug="bench")
    by_register, by_inverters, register, inverters = create_charted_farms(portfolio)
    listed = create_listed_farms(portfolio)
    meter = load_uploads_and_meter(portfolio)
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    started = time.perf_counter()
    charted = load_charted_readings(register, inverters)
    print(f"charted farms: {charted:,} readings ({time.perf_counter() - started:.0f} s to load)", flush=True)
    databases = Databases(args.small, args.large)
    totals = {args.small: grow_to(args.small, listed, charted)}
    databases.clone_small_as_large()
    totals[args.large] = grow_to(args.large, listed, charted)
    databases.log_in(user)
    observation_admin = admin.site.get_model_admin(Observation)

    def count_all(client):
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM portfolio_observation")
            cursor.fetchone()

    def page(url, query=None):
        def get(client):
            response = client.get(url, query or {})
            assert response.status_code == 200, (url, response.status_code, response.content[:300])

        return get

    def with_django_defaults(url):
        """The same page with Django's own paginator and full count (what we replaced)."""
        get = page(url)

        def run(client):
            saved = observation_admin.paginator, observation_admin.show_full_result_count
            observation_admin.paginator, observation_admin.show_full_result_count = Paginator, True
            try:
                get(client)
            finally:
                observation_admin.paginator, observation_admin.show_full_result_count = saved

        return run

    sensor = Sensor.objects.get(pk=listed[500])
    farm = Farm.objects.get(farm_id="F10")
    day = "observed_at__gte=2025-01-01+00:00:00%2B00:00&observed_at__lt=2025-01-02+00:00:00%2B00:00"
    baselines = {
        "baseline: exact COUNT(*) of the table": count_all,
        "baseline: observation list, Django defaults": with_django_defaults("/admin/portfolio/observation/"),
    }
    pages = {
        "observations, unfiltered": page("/admin/portfolio/observation/"),
        "observations, one sensor": page(f"/admin/portfolio/observation/?sensor__id__exact={sensor.pk}"),
        "observations, sensor and equipment ID + day": page(
            f"/admin/portfolio/observation/?sensor_id=S1&equipment_id=INV-03&{day}"
        ),
        "observations, farm + day": page(
            f"/admin/portfolio/observation/?sensor__equipment__farm__id__exact={farm.pk}&{day}"
        ),
        "observations, page 50": page("/admin/portfolio/observation/?p=50"),
        "sensors (last observation)": page("/admin/portfolio/sensor/"),
        "equipment (last observation)": page("/admin/portfolio/equipment/"),
        "farms (last observation)": page("/admin/portfolio/farm/"),
        "farm delete confirmation": page(f"/admin/portfolio/farm/{farm.pk}/delete/"),
        "sensor change page (charted inverter)": page(f"/admin/portfolio/sensor/{inverters[0].pk}/change/"),
        "farm change page (charted inverters)": page(f"/admin/portfolio/farm/{by_inverters.pk}/change/"),
        "dashboard (/admin/)": page("/admin/"),
    }
    charts = {  # name → (URL, default range, whether it reads the observation table)
        "sensor readings, AC power": (f"/admin/portfolio/sensor/{inverters[0].pk}/chart/readings/", "7d", True),
        "sensor readings, register": (f"/admin/portfolio/sensor/{register.pk}/chart/readings/", "7d", True),
        "farm production, register": (f"/admin/portfolio/farm/{by_register.pk}/chart/production/", "30d", True),
        "farm production, 9 inverters": (f"/admin/portfolio/farm/{by_inverters.pk}/chart/production/", "30d", True),
        "meter intervals and sent": (f"/admin/portfolio/meter/{meter.pk}/chart/intervals/", "7d", False),
        "upload volume": ("/admin/uploads/uploadrun/chart/volume/", "30d", False),
        "calls by outcome": ("/admin/uploads/attempt/chart/outcomes/", "7d", False),
    }
    chart_measures, observation_charts = {}, []
    for name, (url, default, reads_observations) in charts.items():
        for words, preset in RANGES.items():
            label = f"chart: {name}, {words}" + (f" ({default})" if preset is None else "")
            chart_measures[label] = page(url, {"range": preset or default, "end": END})
            if reads_observations:
                observation_charts.append(label)
    measures = {**baselines, **pages, **chart_measures}

    results = {name: databases.timed(action) for name, action in measures.items()}
    large_client = databases.clients[args.large]
    plans = [
        (name, slowest_query_plan(lambda action=action: action(large_client)))
        for name, action in {**pages, **chart_measures}.items()
    ]
    covering = not args.no_covering and not covering_index_present()
    with_covering = {}
    if covering:
        for size in (args.small, args.large):
            databases.use(size)
            set_covering_index(True)
        with_covering = {name: databases.timed(chart_measures[name]) for name in observation_charts}
        plans += [
            (
                f"{name}, with the covering index",
                slowest_query_plan(lambda name=name: chart_measures[name](large_client)),
            )
            for name in observation_charts
        ]
        for size in (args.small, args.large):
            databases.use(size)
            set_covering_index(False)

    EXPLAIN_FILE.parent.mkdir(parents=True, exist_ok=True)
    with EXPLAIN_FILE.open("w") as stream:
        for name, found in plans:
            if found:
                ms, sql, plan = found
                stream.write(f"=== {name}: slowest query {ms:.1f} ms\n{sql}\n\n{plan}\n\n")
    print(f"EXPLAIN (ANALYZE, BUFFERS) of each page's slowest query at {totals[args.large]:,}: {EXPLAIN_FILE}")

    small, large = args.small, args.large
    print(
        f"\nmedian ms of 5 warm runs, the two tables alternating; growth = large / small "
        f"({totals[large]:,} / {totals[small]:,} rows)\n"
    )
    print(f"{'':62} {'small':>8} {'large':>8} {'growth':>7}")

    def row(name, measured):
        growth = measured[large] / measured[small]
        print(f"{name:62} {measured[small] * 1000:8.1f} {measured[large] * 1000:8.1f} {growth:7.2f}")

    for name in measures:
        row(name, results[name])
    for name in with_covering:
        row(f"{name}, covering index", with_covering[name])
    print()
    for name in [*pages, *chart_measures]:
        target(f"{name}: ms at {large:,}", results[name][large] * 1000, MS_AT_LARGE, at_least=False, digits=0)
        target(f"{name}: growth", results[name][large] / results[name][small], GROWTH, at_least=False)
    for name in with_covering:
        target(
            f"{name}, covering index: ms at {large:,}",
            with_covering[name][large] * 1000,
            MS_AT_LARGE,
            at_least=False,
            digits=0,
        )
        target(
            f"{name}, covering index: growth",
            with_covering[name][large] / with_covering[name][small],
            GROWTH,
            at_least=False,
        )


if __name__ == "__main__":
    main()
