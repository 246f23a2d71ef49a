"""The admin index's dashboard with 1,000 farms and 10,000,000 readings, on PostgreSQL: how long does it take?

Builds 1,000 farms in 10 portfolios, each farm with an inverter of 4 sensors (4,000 sensors), and
10,000,000 readings (2,500 per sensor, 15 minutes apart, up to now) in SQL with generate_series;
one farm in 37 stopped reporting three days ago and five farms have no readings at all, so the
dashboard has stale farms to flag. A Raptor Maps integration per portfolio has a few runs, one
failed. Then it times GET /admin/ as a logged-in administrator (Django's test client, median of
warm runs) against a baseline measured in the same run: the same page with the dashboard turned
off (DASHBOARD_ENABLED=False), which is Django's plain admin index. It also counts both pages'
queries, and times the freshness panel's one query on its own.

    .venv/bin/python bench/dashboard.py [--farms N --readings N --repeat N] [--reuse]

It drops and recreates the scratch database BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/dash_bench); DATABASE_URL is never used, so a run can never
touch a real database.
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

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dash_bench")
use_bench_environment()
os.environ["ALLOWED_HOSTS"] = "testserver"

PORTFOLIOS, SENSORS_PER_FARM = 10, 4
STALE_EVERY, NO_READINGS = 37, 5


def build(farms, readings):
    """The portfolios, farms, equipment and sensors, then every reading, all in SQL."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    per_sensor = readings // ((farms - NO_READINGS) * SENSORS_PER_FARM)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO portfolio_portfolio (name, slug) "
            "SELECT 'Portfolio ' || p, 'p' || p FROM generate_series(1, %s) p",
            [PORTFOLIOS],
        )
        cursor.execute(
            """
            INSERT INTO portfolio_farm (portfolio_id, farm_id, name, timezone, is_active)
            SELECT (SELECT id FROM portfolio_portfolio WHERE slug = 'p' || (1 + f %% %s)),
                   'F' || lpad(f::text, 4, '0'), 'Farm ' || f, 'UTC', true
            FROM generate_series(1, %s) f
            """,
            [PORTFOLIOS, farms],
        )
        cursor.execute(
            """
            INSERT INTO portfolio_equipment (farm_id, equipment_id, name, equipment_type, manufacturer, model,
                                             serial_number)
            SELECT id, 'INV-1', 'Inverter 1', 'inverter', '', '', '' FROM portfolio_farm
            """
        )
        cursor.execute(
            """
            INSERT INTO portfolio_sensor (equipment_id, sensor_id, name, sensor_type)
            SELECT e.id, 'S' || s, 'Sensor ' || s, 'ac_power' FROM portfolio_equipment e, generate_series(1, %s) s
            """,
            [SENSORS_PER_FARM],
        )
        # Stale farms end three days ago; the last NO_READINGS farms get none.
        cursor.execute(
            """
            INSERT INTO portfolio_observation (sensor_id, observed_at, value, ingested_at)
            SELECT s.id,
                   date_trunc('minute', now()) - interval '15 minutes' * n
                     - CASE WHEN f.id %% %s = 0 THEN interval '3 days' ELSE interval '0' END,
                   random() * 1000, now()
            FROM portfolio_sensor s
            JOIN portfolio_equipment e ON e.id = s.equipment_id
            JOIN portfolio_farm f ON f.id = e.farm_id
            CROSS JOIN generate_series(0, %s - 1) n
            WHERE f.id <= (SELECT max(id) FROM portfolio_farm) - %s
            ORDER BY s.id, n DESC
            """,
            [STALE_EVERY, per_sensor, NO_READINGS],
        )
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM portfolio_observation")
        (count,) = cursor.fetchone()
    print(
        f"built {farms:,} farms, {farms * SENSORS_PER_FARM:,} sensors, {count:,} readings "
        f"({time.perf_counter() - started:.0f} s)"
    )


def add_uploads():
    """An integration per portfolio (its schedule comes with it), some runs, one failed with its attempts."""
    from datetime import timedelta

    from django.utils import timezone

    from portfolio.models import Portfolio
    from uploads.models import Attempt, AttemptOutcome, RaptorMapsIntegration, RunStatus, Service, UploadRun
    from uploads.secrets import Secret

    now = timezone.now()
    for number, portfolio in enumerate(Portfolio.objects.order_by("pk")):
        integration = RaptorMapsIntegration.objects.create(
            name=f"Uploads {portfolio.slug}", portfolio=portfolio, api_token=Secret("bench-token"), integration_id=1
        )
        for step in range(5):  # every 15 minutes, the last one 5 minutes ago (failed, in the first portfolio)
            status = RunStatus.FAILED if number == 0 and step == 0 else RunStatus.UPLOADED
            error = "put: HTTP 403 SignatureDoesNotMatch" if status == RunStatus.FAILED else ""
            run = UploadRun.objects.create(integration=integration, status=status, trigger="schedule", error=error)
            moment = now - timedelta(minutes=5 + 15 * step)
            UploadRun.objects.filter(pk=run.pk).update(queued_at=moment, started_at=moment, finished_at=moment)
            if status == RunStatus.FAILED:
                Attempt.objects.create(
                    service=Service.RAPTORMAPS,
                    operation="put",
                    method="PUT",
                    url="https://storage.example/x",
                    status_code=403,
                    outcome=AttemptOutcome.GAVE_UP,
                    error="HTTP 403 Forbidden",
                    started_at=moment,
                    duration_ms=10,
                    run=run,
                )


def timed(action, repeat):
    action()  # warm the caches: the question is the steady-state cost
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--farms", type=int, default=1_000)
    parser.add_argument("--readings", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="time the database a previous run built, as it is")
    args = parser.parse_args()
    if not args.reuse:
        recreate_database()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.utils import timezone

    from dashboard.freshness import farm_freshness

    if args.reuse:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # the code may have moved on since the build
        user = get_user_model().objects.get(username="bench")
    else:
        build(args.farms, args.readings)
        add_uploads()
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)

    def index():
        response = client.get("/admin/")
        assert response.status_code == 200, response.status_code
        return response

    def plain_index():
        with override_settings(DASHBOARD_ENABLED=False):
            return index()

    def queries(action):
        made = []
        with connection.execute_wrapper(
            lambda execute, sql, params, many, context: made.append(sql) or execute(sql, params, many, context)
        ):
            response = action()
        return response, len(made)

    response, with_dashboard = queries(index)
    _, without = queries(plain_index)
    groups = farm_freshness(timezone.now())
    flagged = sum(group.flagged for group in groups)
    fresh = sum(group.fresh for group in groups)
    assert 'id="dashboard"' in response.content.decode()

    dashboard_s = timed(index, args.repeat)
    baseline_s = timed(plain_index, args.repeat)
    freshness_s = timed(lambda: farm_freshness(timezone.now()), args.repeat)

    print(f"\nmedian of {args.repeat} warm runs; {flagged} farms flagged, {fresh} fresh\n")
    print(f"{'':52} {'ms':>8} {'queries':>8}")
    print(f"{'baseline: /admin/ without the dashboard':52} {baseline_s * 1000:8.1f} {without:8}")
    print(f"{'/admin/ with the dashboard':52} {dashboard_s * 1000:8.1f} {with_dashboard:8}")
    print(f"{f'  of which the freshness panel ({args.farms:,} farms)':52} {freshness_s * 1000:8.1f}")
    print(f"\nratio dashboard / baseline: {dashboard_s / baseline_s:.1f}")


if __name__ == "__main__":
    main()
