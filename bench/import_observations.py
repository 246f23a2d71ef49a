"""The readings import against its limit and against what a user would otherwise use, on PostgreSQL.

Generates a Raptor Maps CSV of --rows readings (default 1,000,000: 1,000 sensors, 15-minute
data) and a tenth of it, then measures in one run:

1. the option table (issue 17; skip with --no-options): the write half of an import (the staged
   rows checked and stored, as ingest/staging.py does it) into today's table with today's
   statements, then with each change alone, then with all the chosen ones, best of two each;
   and 4,000 "latest reading of a sensor" probes on a plain table against one partitioned by
   month (the cost monthly partitioning would add to the dashboard and the admin);
2. ``import_readings`` (what ``manage.py import_observations`` runs) of the 1/10 file and of
   the whole file into the project's tables, each in a fresh process: rows/s and peak RSS;
3. ``COPY`` of the same rows (already resolved to sensor ids and UTC times) into a bare table
   with the same unique key: the database's limit;
4. django-import-export's ``ObservationResource`` import of the first --resource-rows rows
   (default 20,000), what a user would otherwise use;
5. with --big-rows N (default 10,000,000; 0 skips it): ``import_readings`` of N more rows into
   the observation table already holding N, against ``COPY`` of the same N rows into the bare
   keyed table already holding the same N.

Targets (issues 3 and 17): import at least 1/3 of the COPY rate on --rows and at least 1/4 on
--big-rows into a table as big, at least 50 times the django-import-export rate, and peak RSS for
the whole file within 1.2 times that for the tenth.

    .venv/bin/python bench/import_observations.py [--rows N] [--big-rows N] [--resource-rows N] [--no-options]

It drops and recreates the scratch database BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/bench_import); DATABASE_URL is never used. The files go
to var/bench/ and are deleted at the end.
"""

import argparse
import csv
import itertools
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
from _targets import target  # noqa: E402

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_import")
use_bench_environment()

FARMS, INVERTERS_PER_FARM = 10, 25
SENSOR_TYPES = ("dc_voltage", "dc_current_amp", "ac_power", "dc_power")  # 10 x 25 x 4 = 1,000 sensors
SENSORS = FARMS * INVERTERS_PER_FARM * len(SENSOR_TYPES)
START = datetime(2024, 6, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)
WORK = ROOT / "var" / "bench"
COPY_BLOCK = 8 << 20  # bytes handed to COPY at a time
OPTION_REPEATS = 2
PROBES, PROBE_SENSORS, PROBE_MONTHS = 4_000, 4_000, 12  # the dashboard's freshness panel: 4,000 probes

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


def generate(path, rows, first_step=0):
    """A Raptor Maps CSV: every sensor at every 15-minute step from ``first_step``, time-major like a logger export."""
    from portfolio.ingest.formats import RAPTOR_HEADERS

    all_sensors = list(sensors())
    steps = rows // len(all_sensors)
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(RAPTOR_HEADERS)
        for step in range(first_step, first_step + steps):
            stamp = (START + step * STEP).strftime("%Y-%m-%d %H:%M:%S")
            for n, (farm_id, equipment_id, sensor_type) in enumerate(all_sensors):
                value = round(1000 * ((n * 7 + step * 13) % 997) / 997, 3)
                writer.writerow(
                    [farm_id, f"Bench farm {farm_id}", "UTC", "2023-01-01 00:00:00", "33.4", "-112.1",
                     equipment_id, f"Inverter {equipment_id}", "inverter", "", "", sensor_type, stamp, value]
                )  # fmt: skip
    return steps * len(all_sensors)


def import_in_child(path):
    checkpoint()
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def execute(*statements):
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def checkpoint():
    """Every timed step starts with no dirty buffers of the step before."""
    execute("CHECKPOINT")


def truncate_observations():
    execute("TRUNCATE portfolio_observation", "VACUUM ANALYZE portfolio_observation")


def resolve(path, resolved):
    """The file's rows as COPY text of (sensor id, UTC time, value): what COPY is given, untimed."""
    from portfolio.models import Sensor

    ids = {
        (s.equipment.farm.farm_id, s.equipment.equipment_id, s.sensor_type): s.pk
        for s in Sensor.objects.select_related("equipment__farm")
    }
    rows = 0
    with open(path, newline="") as stream, open(resolved, "w") as out:
        reader = csv.reader(stream)
        next(reader)
        for row in reader:
            out.write(f"{ids[(row[0], row[6], row[11])]}\t{row[12]}+00\t{row[13]}\n")
            rows += 1
    return rows


def copy_file(cursor, table, resolved):
    with cursor.copy(f"COPY {table} (sensor_id, observed_at, value) FROM STDIN") as copy, open(resolved, "rb") as data:
        while block := data.read(COPY_BLOCK):
            copy.write(block)


def bare_table(name, existing_rows=0):
    """A table with nothing but the unique key, holding the observation table's first ``existing_rows``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(
            f"CREATE TABLE {name} (sensor_id bigint NOT NULL, observed_at timestamptz NOT NULL, "
            "value double precision NOT NULL, UNIQUE (sensor_id, observed_at))"
        )
        if existing_rows:
            cursor.execute(
                f"INSERT INTO {name} SELECT sensor_id, observed_at, value FROM portfolio_observation "
                "WHERE observed_at < %s ORDER BY ingested_at, id",
                [START + existing_rows // SENSORS * STEP],
            )
    execute(f"VACUUM ANALYZE {name}")


def copy_baseline(resolved, table="bench_copy", existing_rows=0):
    """COPY the resolved rows into a bare table with the same unique key (holding ``existing_rows`` already)."""
    from django.db import connection

    bare_table(table, existing_rows)
    checkpoint()
    with connection.cursor() as cursor:
        started = time.perf_counter()
        copy_file(cursor, table, resolved)
        seconds = time.perf_counter() - started
        cursor.execute(f"SELECT count(*) FROM {table}")
        rows = cursor.fetchone()[0] - existing_rows
    return rows, seconds


def table_insert_baseline():
    """The observation table's own cost: insert the COPY baseline's rows with one INSERT ... SELECT."""
    from django.db import connection, transaction

    truncate_observations()
    checkpoint()
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO portfolio_observation (sensor_id, observed_at, value, ingested_at) "
            "SELECT sensor_id, observed_at, value, now() FROM bench_copy"
        )
        rows = cursor.rowcount
    return rows, time.perf_counter() - started


def fill_observations(rows):
    """The observation table as after ``rows // SENSORS`` imports of one step each: time-major, ingested in order."""
    from portfolio.models import Sensor

    steps = rows // SENSORS
    pks = sorted(Sensor.objects.values_list("pk", flat=True))
    truncate_observations()
    execute(
        "INSERT INTO portfolio_observation (sensor_id, observed_at, value, ingested_at) "
        f"SELECT s, timestamptz '{START.isoformat()}' + t * interval '15 minutes', (s * 7 + t * 13) % 997, "
        f"timestamptz '{START.isoformat()}' + t * interval '15 minutes' + interval '1 hour' "
        f"FROM generate_series(0, {steps - 1}) t, unnest(ARRAY{pks}::bigint[]) s ORDER BY t, s",
        "VACUUM ANALYZE portfolio_observation",
    )


# --- the option table: the write half of an import, one change at a time -------------------------

# Today's table (migration 0010): surrogate key, unique key, btree on ingested_at, foreign key.
OPTION_TABLE = """
CREATE TABLE opt_obs (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, sensor_id bigint NOT NULL,
    observed_at timestamptz NOT NULL, value double precision NOT NULL, ingested_at timestamptz NOT NULL,
    CONSTRAINT opt_finite CHECK (value >= -1.7976931348623157e308 AND value <= 1.7976931348623157e308));
ALTER TABLE opt_obs ADD CONSTRAINT opt_unique UNIQUE (sensor_id, observed_at) {include};
CREATE INDEX opt_ingested_at ON opt_obs USING {ingested_at};
"""
FOREIGN_KEY = (
    "ALTER TABLE opt_obs ADD CONSTRAINT opt_sensor FOREIGN KEY (sensor_id) REFERENCES portfolio_sensor (id) "
    "DEFERRABLE INITIALLY DEFERRED"
)
GROUPING_PASS = "SELECT EXISTS (SELECT 1 FROM opt_stage GROUP BY sensor_ref, observed_at HAVING count(*) > 1)"
UPSERT_ALL = """
WITH written AS (INSERT INTO opt_obs AS o (sensor_id, observed_at, value, ingested_at)
    SELECT m.sensor_id, s.observed_at, s.value, now() FROM opt_stage s JOIN opt_map m ON m.ref = s.sensor_ref
    ORDER BY m.sensor_id, s.observed_at
    ON CONFLICT (sensor_id, observed_at) DO UPDATE SET value = EXCLUDED.value, ingested_at = EXCLUDED.ingested_at
    WHERE o.value IS DISTINCT FROM EXCLUDED.value RETURNING (xmax = 0) AS inserted)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
"""
RANGES = (
    "CREATE TEMPORARY TABLE opt_ranges AS SELECT sensor_ref, min(observed_at) AS low, max(observed_at) AS high "
    "FROM opt_stage GROUP BY sensor_ref; ANALYZE opt_ranges"
)
LOCK_SENSORS = (
    "SELECT id FROM portfolio_sensor WHERE id IN (SELECT m.sensor_id FROM opt_map m JOIN opt_ranges r "
    "ON r.sensor_ref = m.ref) ORDER BY id FOR KEY SHARE"
)
STORED = (
    "SELECT x.sensor_id, x.observed_at FROM opt_ranges r JOIN opt_map rm ON rm.ref = r.sensor_ref "
    "JOIN opt_obs x ON x.sensor_id = rm.sensor_id AND x.observed_at BETWEEN r.low AND r.high"
)
UPSERT_STORED = f"""
WITH known AS MATERIALIZED (SELECT m.sensor_id, s.observed_at, s.value FROM opt_stage s
    JOIN opt_map m ON m.ref = s.sensor_ref
    JOIN ({STORED}) e ON e.sensor_id = m.sensor_id AND e.observed_at = s.observed_at),
written AS (INSERT INTO opt_obs AS o (sensor_id, observed_at, value, ingested_at)
    SELECT sensor_id, observed_at, value, now() FROM known ORDER BY sensor_id, observed_at
    ON CONFLICT (sensor_id, observed_at) DO UPDATE SET value = EXCLUDED.value, ingested_at = EXCLUDED.ingested_at
    WHERE o.value IS DISTINCT FROM EXCLUDED.value RETURNING 1)
SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM known),
    (SELECT count(*) FROM (SELECT DISTINCT sensor_id, observed_at FROM known) k)
"""
INSERT_NEW = f"""
INSERT INTO opt_obs (sensor_id, observed_at, value, ingested_at)
SELECT m.sensor_id, s.observed_at, s.value, now() FROM opt_stage s JOIN opt_map m ON m.ref = s.sensor_ref
LEFT JOIN ({STORED}) e ON e.sensor_id = m.sensor_id AND e.observed_at = s.observed_at WHERE e.sensor_id IS NULL
ORDER BY m.sensor_id, s.observed_at
"""
BTREE, BRIN = "btree (ingested_at)", "brin (ingested_at) WITH (pages_per_range = 32, autosummarize = on)"
INCLUDE = "INCLUDE (value)"
CHECKED_ONCE = [RANGES, LOCK_SENSORS, GROUPING_PASS, UPSERT_ALL]
SPLIT = [RANGES, UPSERT_STORED, INSERT_NEW]
CHOSEN = [RANGES, LOCK_SENSORS, UPSERT_STORED, INSERT_NEW]
# label -> (foreign key, ingested_at index, include, statements of the write)
OPTIONS = {
    "today's table and statements (the baseline)": (True, BTREE, "", [GROUPING_PASS, UPSERT_ALL]),
    "BRIN on ingested_at instead of a btree": (True, BRIN, "", [GROUPING_PASS, UPSERT_ALL]),
    "sensors checked once (locked FOR KEY SHARE), no foreign key": (False, BTREE, "", CHECKED_ONCE),
    "plain INSERT for new rows, upsert only for stored ones": (True, BTREE, "", [GROUPING_PASS, *SPLIT]),
    "no grouping pass (the write finds repeated keys)": (True, BTREE, "", [UPSERT_ALL]),
    "unique key INCLUDE (value) (a cost, for charts)": (True, BTREE, INCLUDE, [GROUPING_PASS, UPSERT_ALL]),
    "all of the above (what the import does)": (False, BRIN, INCLUDE, CHOSEN),
    "all of the above but INCLUDE (value)": (False, BRIN, "", CHOSEN),
}  # fmt: skip


def option_table(resolved, rows):
    """Seconds of the write half of an import of the staged rows into each variant of the table, best of a few."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS opt_source")
        cursor.execute(
            "CREATE TEMPORARY TABLE opt_source (sensor_id bigint, observed_at timestamptz, value double precision)"
        )
        copy_file(cursor, "opt_source", resolved)
        # Staged as the import stages: line number, sensor reference, UTC time, value; and the reference map.
        cursor.execute(
            "CREATE TEMPORARY TABLE opt_stage AS SELECT (row_number() OVER ())::integer AS line, "
            "sensor_id::integer AS sensor_ref, observed_at, value FROM opt_source"
        )
        cursor.execute(
            "CREATE TEMPORARY TABLE opt_map AS SELECT DISTINCT sensor_id::integer AS ref, sensor_id FROM opt_source"
        )
        cursor.execute("DROP TABLE opt_source")
    seconds = {}
    # Round by round, every option once a round: the machine's load drifts, and each option sees all of it.
    for round_number in range(OPTION_REPEATS):
        for label, (foreign_key, ingested_at, include, statements) in OPTIONS.items():
            execute("DROP TABLE IF EXISTS opt_obs", "DROP TABLE IF EXISTS opt_ranges")
            execute(OPTION_TABLE.format(include=include, ingested_at=ingested_at))
            if foreign_key:
                execute(FOREIGN_KEY)
            checkpoint()
            started = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
                cursor.execute("ANALYZE opt_stage")
                for statement in statements:
                    cursor.execute(statement)
            elapsed = time.perf_counter() - started  # the commit ran the deferred foreign key checks
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM opt_obs")
                assert cursor.fetchone()[0] == rows, label
            seconds[label] = min(seconds.get(label, elapsed), elapsed)
            print(f"  round {round_number + 1}, {label}: {elapsed:.2f} s", flush=True)
    execute(
        "DROP TABLE IF EXISTS opt_obs", "DROP TABLE IF EXISTS opt_ranges", "DROP TABLE opt_stage", "DROP TABLE opt_map"
    )
    return seconds


def partition_probes():
    """Seconds of PROBES "latest reading of a sensor" probes: one table against one partitioned by month."""
    from django.db import connection

    first = START.replace(day=1)
    months = [first.replace(year=first.year + (first.month - 1 + m) // 12, month=(first.month - 1 + m) % 12 + 1)
              for m in range(PROBE_MONTHS + 1)]  # fmt: skip
    columns = "(sensor_id bigint NOT NULL, observed_at timestamptz NOT NULL, value double precision NOT NULL)"
    fill = (
        "INSERT INTO {table} SELECT s, timestamptz '" + first.isoformat() + "' + d * interval '1 day', d "
        f"FROM generate_series(0, {(months[-1] - months[0]).days - 1}) d, generate_series(1, {PROBE_SENSORS}) s"
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS probe_plain; DROP TABLE IF EXISTS probe_monthly")
        cursor.execute(f"CREATE TABLE probe_plain {columns}")
        cursor.execute(f"CREATE TABLE probe_monthly {columns} PARTITION BY RANGE (observed_at)")
        for low, high in itertools.pairwise(months):
            cursor.execute(
                f"CREATE TABLE probe_{low:%Y_%m} PARTITION OF probe_monthly FOR VALUES FROM (%s) TO (%s)", [low, high]
            )
        for table in ("probe_plain", "probe_monthly"):
            cursor.execute(fill.format(table=table))
            cursor.execute(f"ALTER TABLE {table} ADD UNIQUE (sensor_id, observed_at) INCLUDE (value)")
    execute("VACUUM ANALYZE probe_plain", "VACUUM ANALYZE probe_monthly")
    seconds = {}
    with connection.cursor() as cursor:
        for table in ("probe_plain", "probe_monthly"):
            probe = (
                f"SELECT count(l.value) FROM generate_series(1, {PROBES}) p, LATERAL (SELECT value FROM {table} "
                f"WHERE sensor_id = (p - 1) % {PROBE_SENSORS} + 1 ORDER BY observed_at DESC LIMIT 1) l"
            )
            best = None
            for _ in range(5):
                started = time.perf_counter()
                cursor.execute(probe)
                assert cursor.fetchone()[0] == PROBES
                elapsed = time.perf_counter() - started
                best = elapsed if best is None else min(best, elapsed)
            seconds[table] = best
        cursor.execute("DROP TABLE probe_plain; DROP TABLE probe_monthly")
    return seconds


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


def print_options(options, probes, rows):
    baseline = options["today's table and statements (the baseline)"]
    print(f"\nOption table: the write half of an import of {rows:,} staged rows into an empty table, best of "
          f"{OPTION_REPEATS} (the reading half, about the same for all, is not in it):")  # fmt: skip
    for label, seconds in options.items():
        print(f"  {label:62s} {seconds:6.2f} s  {rows / seconds:10,.0f} rows/s  {baseline / seconds:5.2f}x")
    plain, monthly = probes["probe_plain"], probes["probe_monthly"]
    print(f"  {PROBES:,} latest-reading probes, {PROBE_SENSORS:,} sensors x {PROBE_MONTHS} months of daily readings: "
          f"one table {plain * 1000:.0f} ms, partitioned by month {monthly * 1000:.0f} ms "
          f"({monthly / plain:.1f}x)\n")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="0: skip the big-table figure")
    parser.add_argument("--resource-rows", type=int, default=20_000)
    parser.add_argument("--no-options", action="store_true", help="skip the option table")
    args = parser.parse_args()

    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    from portfolio.models import Observation, Portfolio

    call_command("migrate", verbosity=0)
    Portfolio.objects.create(name="Bench", slug="bench")
    WORK.mkdir(parents=True, exist_ok=True)
    big, small, resolved = WORK / "readings-big.csv", WORK / "readings-small.csv", WORK / "readings-resolved.tsv"
    huge, huge_resolved = WORK / "readings-huge.csv", WORK / "readings-huge-resolved.tsv"
    try:
        big_rows = generate(big, args.rows)
        small_rows = generate(small, args.rows // 10)
        print(f"files: {big_rows:,} rows ({big.stat().st_size / 1e6:.0f} MB), {small_rows:,} rows", flush=True)

        small_run = import_in_child(small)  # also creates the farms, equipment and sensors
        resolve(big, resolved)
        if not args.no_options:
            print("option table:", flush=True)
            options = option_table(resolved, big_rows)
            probes = partition_probes()
        truncate_observations()
        big_run = import_in_child(big)
        assert big_run["new"] == big_rows == Observation.objects.count(), big_run
        copy_rows, copy_seconds = copy_baseline(resolved)
        table_rows, table_seconds = table_insert_baseline()
        truncate_observations()
        resource_rows, resource_seconds = resource_import(big, args.resource_rows)
        if args.big_rows:
            huge_rows = generate(huge, args.big_rows, first_step=args.big_rows // SENSORS)
            resolve(huge, huge_resolved)
            print(f"big-table file: {huge_rows:,} rows ({huge.stat().st_size / 1e9:.1f} GB)", flush=True)
            fill_observations(args.big_rows)
            huge_run = import_in_child(huge)
            assert huge_run["new"] == huge_rows, huge_run
            huge_copy_rows, huge_copy_seconds = copy_baseline(huge_resolved, "bench_copy_big", args.big_rows)
            assert huge_copy_rows == huge_rows
    finally:
        for path in (big, small, resolved, huge, huge_resolved):
            path.unlink(missing_ok=True)

    ours = big_run["rows"] / big_run["seconds"]
    copy_rate = copy_rows / copy_seconds
    resource_rate = resource_rows / resource_seconds
    rss_ratio = big_run["max_rss_kb"] / small_run["max_rss_kb"]
    if not args.no_options:
        print_options(options, probes, big_rows)
    print(
        f"import_readings, {big_rows:,} rows:     {ours:12,.0f} rows/s  ({big_run['seconds']:.1f} s: "
        f"reading and staging {big_run['reading']:.1f} s, checking and writing {big_run['writing']:.1f} s)"
    )
    print(f"INSERT ... SELECT of the same rows into the observation table (its keys and indexes): "
          f"{table_rows / table_seconds:,.0f} rows/s ({table_seconds:.1f} s)")  # fmt: skip
    print(f"COPY into a bare keyed table:   {copy_rate:12,.0f} rows/s  ({copy_seconds:.1f} s)")
    print(f"django-import-export, {resource_rows:,} rows: {resource_rate:9,.0f} rows/s  ({resource_seconds:.1f} s)")
    print(f"peak RSS: {small_run['max_rss_kb'] / 1024:.0f} MB for {small_rows:,} rows, "
          f"{big_run['max_rss_kb'] / 1024:.0f} MB for {big_rows:,}")  # fmt: skip
    if args.big_rows:
        huge_rate, huge_copy_rate = huge_run["rows"] / huge_run["seconds"], huge_copy_rows / huge_copy_seconds
        print(
            f"import_readings, {huge_rows:,} rows into {args.big_rows:,}: {huge_rate:,.0f} rows/s "
            f"({huge_run['seconds']:.1f} s: reading and staging {huge_run['reading']:.1f} s, checking and writing "
            f"{huge_run['writing']:.1f} s); COPY into the bare keyed table holding as many: "
            f"{huge_copy_rate:,.0f} rows/s ({huge_copy_seconds:.1f} s); peak RSS {huge_run['max_rss_kb'] / 1024:.0f} MB"
        )
    print()
    target(f"import / COPY, {big_rows:,} rows", ours / copy_rate, 0.33)
    target("import / django-import-export", ours / resource_rate, 50, digits=0)
    target(f"peak RSS, {big_rows:,} / {small_rows:,} rows", rss_ratio, 1.2, at_least=False)
    if args.big_rows:
        target(f"import / COPY, {huge_rows:,} rows into {args.big_rows:,}", huge_rate / huge_copy_rate, 0.25)


if __name__ == "__main__":
    main()
