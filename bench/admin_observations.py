"""Admin pages over a big observation table, on PostgreSQL: do they stay flat as it grows?

Loads observations (1,000 sensors of 20 farms, 15-minute data) into a scratch database in
two steps, --small rows then --large rows in all (default 1,000,000 and 5,000,000), and at
each size times the admin pages that read the table. Baselines, measured in the same run:
one exact ``SELECT COUNT(*)`` of the table, and the observation list as Django's defaults
would run it (exact page count, full count, facets allowed). The figure that matters is
each page's growth from the small to the large table, against the baselines' growth.

    .venv/bin/python bench/admin_observations.py [--small N --large N]

It drops and recreates the scratch database BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/bench_admin); DATABASE_URL is never used, so a run can
never touch a real database.
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

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_admin")
use_bench_environment()
os.environ["ALLOWED_HOSTS"] = "testserver"

FARMS, EQUIPMENT_PER_FARM, SENSORS_PER_EQUIPMENT = 20, 25, 2


def create_sensors():
    from django.core.management import call_command

    from portfolio.choices import EquipmentType, SensorType
    from portfolio.models import Equipment, Farm, Portfolio, Sensor

    call_command("migrate", verbosity=0)
    portfolio = Portfolio.objects.create(name="Bench", slug="bench")
    for f in range(FARMS):
        farm = Farm.objects.create(portfolio=portfolio, farm_id=f"F{f:02d}", name=f"Farm {f}", timezone="UTC")
        for e in range(EQUIPMENT_PER_FARM):
            equipment = Equipment.objects.create(
                farm=farm, equipment_id=f"INV-{e:02d}", name=f"Inverter {e}", equipment_type=EquipmentType.INVERTER
            )
            Sensor.objects.bulk_create(
                Sensor(equipment=equipment, sensor_id=f"S{s}", sensor_type=SensorType.AC_POWER)
                for s in range(SENSORS_PER_EQUIPMENT)
            )


def grow_to(rows):
    """Extend every sensor's series forward in time until the table holds ``rows`` rows."""
    from django.db import connection

    from portfolio.models import Observation, Sensor

    sensors = Sensor.objects.count()
    have = Observation.objects.count() // sensors
    want = rows // sensors
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO portfolio_observation (sensor_id, observed_at, value, ingested_at)
            SELECT s.id, timestamptz '2025-01-01' + interval '15 minutes' * n, random() * 1000, now()
            FROM portfolio_sensor s, generate_series(%s, %s - 1) n
            """,
            [have, want],
        )
        cursor.execute("VACUUM ANALYZE portfolio_observation")
    print(f"table now {sensors * want:,} observations ({time.perf_counter() - started:.0f} s to load)")


def timed(action, repeat=5):
    action()  # warm the cache: the question is steady-state cost, not first-touch I/O
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=5_000_000)
    args = parser.parse_args()
    recreate_database()

    import django

    django.setup()
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.core.paginator import Paginator
    from django.db import connection
    from django.test import Client

    from portfolio.models import Farm, Observation, Sensor

    create_sensors()
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)
    observation_admin = admin.site.get_model_admin(Observation)

    def count_all():
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM portfolio_observation")
            cursor.fetchone()

    def page(url):
        def get():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return get

    def with_django_defaults(url):
        """The same page with Django's own paginator and full count (what we replaced)."""
        get = page(url)

        def run():
            saved = observation_admin.paginator, observation_admin.show_full_result_count
            observation_admin.paginator, observation_admin.show_full_result_count = Paginator, True
            try:
                get()
            finally:
                observation_admin.paginator, observation_admin.show_full_result_count = saved

        return run

    sensor = Sensor.objects.order_by("pk")[500]
    farm = Farm.objects.order_by("pk")[10]
    day = "observed_at__gte=2025-01-05+00:00:00%2B00:00&observed_at__lt=2025-01-06+00:00:00%2B00:00"
    measures = {
        "baseline: exact COUNT(*) of the table": count_all,
        "baseline: observation list, Django defaults": with_django_defaults("/admin/portfolio/observation/"),
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
    }
    results = {}
    for size in (args.small, args.large):
        grow_to(size)
        results[size] = {name: timed(action) for name, action in measures.items()}

    small, large = results[args.small], results[args.large]
    print(f"\nmedian ms of 5 warm runs; growth = large / small ({args.large:,} / {args.small:,} rows)\n")
    print(f"{'':46} {'small':>8} {'large':>8} {'growth':>7}")
    for name in measures:
        print(f"{name:46} {small[name] * 1000:8.0f} {large[name] * 1000:8.0f} {large[name] / small[name]:7.2f}")


if __name__ == "__main__":
    main()
