"""How long a WattCarbon sync waits while a long import runs, on SQLite and on PostgreSQL.

Each database gets a scratch copy with a portfolio the imports fill and 400 small ones, each of 5
meters (a week of hourly readings each, ingested an hour ago) and 5 solar assets, with its own
WattCarbon account on the sandbox (``manage.py sandbox`` in its own process). A probe is the first
sync of a fresh account (``run_sync``, what the worker runs): it creates the 5 meters, uploads their
readings and creates the 5 assets, writing its run record, attempts, links and watermarks as it
goes; every probe does the same work. Then, in one run per database:

1. probes alone (no import): the median wall time is the baseline;
2. probes one after another (a fifth of a second apart), in their own process, while
   ``manage.py import_observations`` imports a Raptor Maps CSV of --rows readings (default
   100,000) in another;
3. the same while ``manage.py import_spreadsheet farms`` imports --sheet-rows farms (default
   6,000: on SQLite it holds the write lock longer than the 20 s busy timeout).

For each import it prints how long the import took, how many probes ran meanwhile, how long the
slowest took and how long it waited (its wall time minus the baseline), the longest single SQL
statement of any probe (on SQLite that is the wait for the write lock), and the probes that
failed and why. Ratios are against the probes alone in the same run. It exits non-zero only on
errors (a probe that fails on PostgreSQL or sends less than its portfolio, an import that fails);
a probe that fails with "database is locked" on SQLite is the documented behaviour, reported.

    .venv/bin/python bench/import_during_sync.py [--rows N] [--sheet-rows N] [--only sqlite|postgresql]

On PostgreSQL it drops and recreates the scratch database BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/bench_import_sync); DATABASE_URL is never used. SQLite runs on
var/bench/import-during-sync/bench.sqlite3 (deleted before and after), with the app's own SQLite
settings (WAL, IMMEDIATE transactions, the busy timeout). Files and logs go to
var/bench/import-during-sync/.
"""

import argparse
import csv
import json
import os
import select
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _scratch import recreate_database, use_bench_environment  # noqa: E402 - bench/ is on sys.path: these run as scripts

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_import_sync"
WORK = ROOT / "var" / "bench" / "import-during-sync"
SQLITE_FILE = WORK / "bench.sqlite3"

METERS = 5  # per probe: 5 meters created, 5 uploads of 168 hourly readings, 5 assets created
HOURS = 7 * 24
ACCOUNTS = 400  # fresh accounts (each with its own portfolio), one per probe
ALONE_PROBES = 5
# Between two probes: the probe process leaves the import some of a small machine's CPU, and the
# pool of accounts lasts through a slow import; still shorter than the readings import's write.
PROBE_PAUSE_SECONDS = 0.2
IMPORT_TIMEOUT = 900  # an import that has not ended by then has hung: the bench fails
SENSOR_TYPES = ("dc_voltage", "dc_current_amp", "ac_power", "dc_power")
START = datetime(2024, 6, 1, tzinfo=UTC)


# -- in the child processes ------------------------------------------------------------------------


def setup(sandbox_url, rows, sheet_rows, tag):
    """Migrate, build the portfolios and the accounts, write the two import files."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from portfolio.models import Portfolio

    call_command("migrate", verbosity=0)
    Portfolio.objects.create(name="Imported", slug="imported")
    ingested = timezone.now() - timedelta(hours=1)
    with transaction.atomic():
        for k in range(ACCOUNTS):
            _probe_portfolio(k, sandbox_url, ingested, tag)
    _readings_file(WORK / "readings.csv", rows)
    _farms_file(WORK / "farms.csv", sheet_rows)


def _probe_portfolio(k, sandbox_url, ingested, tag):
    """Probe ``k``'s portfolio and account. One portfolio each, and ``tag`` (the database) in the
    asset ids: the sandbox has one account, where an asset id already taken is refused."""
    from portfolio.models import Asset, IntervalReading, Meter, Portfolio
    from sandbox import wattcarbon as sandbox_defaults
    from uploads.models import WattCarbonAccount
    from uploads.secrets import Secret

    year = datetime(2025, 1, 1, tzinfo=UTC)
    portfolio = Portfolio.objects.create(name=f"Synced {k:03d}", slug=f"synced-{k:03d}")
    meters = Meter.objects.bulk_create(
        Meter(portfolio=portfolio, name=f"Meter {n}", meter_type="electricity", address=f"{n} Main St Peoria IL")
        for n in range(METERS)
    )
    IntervalReading.objects.bulk_create(
        IntervalReading(
            meter=meter,
            start=year + timedelta(hours=h),
            end=year + timedelta(hours=h + 1),
            quantity=round(10 + (h % 24) * 0.5, 3),
            ingested_at=ingested,
        )
        for meter in meters
        for h in range(HOURS)
    )
    assets = Asset.objects.bulk_create(
        Asset(
            portfolio=portfolio,
            name=f"Site {n} solar",
            custom_id=f"{tag}-P{k:03d}-SITE-{n}",
            kind="solar",
            timezone="America/Chicago",
            utility="Ameren Illinois",
            address=f"{n} Main St Peoria IL",
            commenced_operation_date=datetime(2020, 1, 1 + n).date(),
            nameplate_capacity_kw=50.0 + n,
            inverter_data_id=f"INV-{k:03d}-{n}",
            inverter_data_source="enphase",
        )
        for n in range(METERS)
    )
    Asset.meters.through.objects.bulk_create(
        Asset.meters.through(asset_id=asset.pk, meter_id=meter.pk) for asset, meter in zip(assets, meters, strict=True)
    )
    WattCarbonAccount.objects.create(
        name=f"Probe {k:03d}",
        portfolio=portfolio,
        base_url=sandbox_url,
        email=sandbox_defaults.DEFAULT_EMAIL,
        api_key=Secret(sandbox_defaults.DEFAULT_API_KEY),
        account_id=sandbox_defaults.DEFAULT_ACCOUNT_ID,
        enabled=False,  # no schedule: only the probes sync it
    )


def _readings_file(path, rows):
    """A Raptor Maps CSV of ``rows`` readings: 500 sensors on 5 farms, every 15 minutes."""
    from portfolio.ingest.formats import RAPTOR_HEADERS

    sensors = [(f"IF-{f}", f"INV-{e:02d}", t) for f in range(5) for e in range(25) for t in SENSOR_TYPES]
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(RAPTOR_HEADERS)
        for n in range(rows):
            farm, equipment, sensor_type = sensors[n % len(sensors)]
            stamp = (START + timedelta(minutes=15 * (n // len(sensors)))).strftime("%Y-%m-%d %H:%M:%S")
            writer.writerow(
                [farm, f"Farm {farm}", "UTC", "2023-01-01 00:00:00", "33.4", "-112.1", equipment,
                 f"Inverter {equipment}", "inverter", "", "", sensor_type, stamp, (n * 7) % 997 / 10]
            )  # fmt: skip


def _farms_file(path, rows):
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["farm_id", "portfolio", "name", "timezone"])
        for n in range(rows):
            writer.writerow([f"SF-{n:06d}", "imported", f"Spreadsheet farm {n}", "America/Phoenix"])


class StatementTimer:
    """The longest single SQL statement of a block (connection.execute_wrapper), and how many ran."""

    def __init__(self):
        self.longest, self.count = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.longest = max(self.longest, time.perf_counter() - started)
            self.count += 1


def probes(first, count, until_stop):
    """Sync fresh accounts back to back; print one JSON list of their figures.

    Waits for "go" on stdin; with ``until_stop``, syncs until "stop" arrives (then one more if
    none ran), else ``count`` of them.
    """
    import django

    django.setup()
    from django.db import connection

    from uploads.models import RunTrigger, WattCarbonAccount
    from uploads.wattcarbon.service import run_sync

    accounts = list(WattCarbonAccount.objects.order_by("name").values_list("pk", flat=True))[first:]
    print("ready", flush=True)
    os.read(0, 3)  # "go\n"; unbuffered, so the select below sees "stop" as it comes
    figures = []
    for pk in accounts[: None if until_stop else count]:
        if until_stop and figures and select.select([sys.stdin], [], [], PROBE_PAUSE_SECONDS)[0]:
            break  # "stop": the import has ended
        account = WattCarbonAccount.objects.select_related("portfolio").get(pk=pk)
        timer = StatementTimer()
        started = time.perf_counter()
        try:
            with connection.execute_wrapper(timer):
                run = run_sync(account, trigger=RunTrigger.COMMAND)
            status, error = run.status, run.error
            work = [run.meters_created, run.interval_rows, run.assets_created]
        except Exception as exc:  # "database is locked" past the busy timeout: the figure to report
            status, error, work = "raised", f"{type(exc).__name__}: {exc}", None
            connection.close()
        figures.append(
            {
                "seconds": time.perf_counter() - started,
                "status": status,
                "error": error,
                "work": work,
                "longest_statement": timer.longest,
                "statements": timer.count,
            }
        )
    else:
        if until_stop:  # out of fresh accounts: what was measured stands; wait for the import
            figures[-1]["pool_ran_out"] = True
            select.select([sys.stdin], [], [])
    print(json.dumps(figures), flush=True)


# -- the orchestrating process ---------------------------------------------------------------------


def child(role, env, *args, **popen):
    command = [sys.executable, str(Path(__file__).resolve()), "--role", role, *map(str, args)]
    return subprocess.Popen(command, cwd=ROOT, env=env, text=True, **popen)


def run_probes(env, log, first, count=0, until_stop=False, during=None):
    """Probes in their own process; ``during``: a command to run alongside (the import)."""
    syncer = child(
        "probes", env, first, count, int(until_stop), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log
    )
    assert syncer.stdout.readline().strip() == "ready", f"the probe process did not start; see {log.name}"
    importer, import_seconds = None, None
    if during is not None:
        started = time.perf_counter()
        importer = subprocess.Popen(
            [sys.executable, "manage.py", *during], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True
        )
    syncer.stdin.write("go\n")
    syncer.stdin.flush()
    import_output = ""
    if importer is not None:
        import_output, _ = importer.communicate(timeout=IMPORT_TIMEOUT)
        import_seconds = time.perf_counter() - started
        syncer.stdin.write("stop\n")
        syncer.stdin.flush()
    output, _ = syncer.communicate(timeout=IMPORT_TIMEOUT)
    if syncer.returncode:
        sys.exit(f"The probe process failed ({syncer.returncode}); see {log.name}.")
    if importer is not None and importer.returncode:
        sys.exit(f"The import {' '.join(during)} failed ({importer.returncode}); see {log.name}.")
    return json.loads(output.strip().splitlines()[-1]), import_seconds, import_output.strip()


def measure(database, url, sandbox_url, args):
    """All the figures of one database."""
    WORK.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "UPLOADS_INGEST_SAFETY_LAG_SECONDS": "0",  # the readings count as complete at once
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)  # nothing is queued; no broker of the app's is touched
    log = open(WORK / f"{database.split()[0].lower()}.log", "w")  # noqa: SIM115 - closed below
    try:
        tag = database.split()[0].lower()
        setup_process = child("setup", env, sandbox_url, args.rows, args.sheet_rows, tag, stderr=log)
        if setup_process.wait():
            sys.exit(f"The setup failed; see {log.name}.")
        alone, _, _ = run_probes(env, log, first=0, count=ALONE_PROBES)
        used = len(alone)
        results = {}
        imports = {
            f"import_observations, {args.rows:,} readings": [
                "import_observations", str(WORK / "readings.csv"), "--portfolio", "imported", "--time-basis", "utc",
                "--verbosity", "0",
            ],
            f"import_spreadsheet farms, {args.sheet_rows:,} rows": [
                "import_spreadsheet", "farms", str(WORK / "farms.csv"),
            ],
        }  # fmt: skip
        for name, command in imports.items():
            during, seconds, output = run_probes(env, log, first=used, until_stop=True, during=command)
            used += len(during)
            results[name] = (during, seconds, output)
        return alone, results
    finally:
        log.close()


def check_work(database, probes, errors):
    """Every probe that synced did the same work: all its meters, readings and assets."""
    expected = [METERS, METERS * HOURS, METERS]
    wrong = [probe["work"] for probe in probes if probe["status"] == "synced" and probe["work"] != expected]
    if wrong:
        errors.append(f"{database}: a probe synced {wrong[0]} (meters, interval rows, assets), not {expected}")


def report(database, alone, results, errors):
    check_work(database, alone, errors)
    baseline = statistics.median(probe["seconds"] for probe in alone)
    longest_alone = max(probe["longest_statement"] for probe in alone)
    bad_alone = [probe for probe in alone if probe["status"] != "synced"]
    if bad_alone:
        errors.append(f"{database}: a probe alone ended {bad_alone[0]['status']}: {bad_alone[0]['error']}")
    print(
        f"\n{database}: a sync alone (first sync of {METERS} meters, {METERS * HOURS:,} interval rows, "
        f"{METERS} assets) takes {baseline:.2f} s (median of {len(alone)}); its longest SQL statement "
        f"{longest_alone * 1000:.0f} ms"
    )
    header = (
        f"  {'import':44} {'import s':>8} {'syncs':>5} {'slowest s':>9} {'waited s':>8} {'x alone':>7} "
        f"{'longest stmt s':>14} {'failed':>6}"
    )
    print(header)
    for name, (during, seconds, _output) in results.items():
        check_work(database, during, errors)
        slowest = max(probe["seconds"] for probe in during)
        failed = [probe for probe in during if probe["status"] != "synced"]
        longest = max(probe["longest_statement"] for probe in during)
        print(
            f"  {name:44} {seconds:8.1f} {len(during):5d} {slowest:9.2f} {max(0.0, slowest - baseline):8.2f} "
            f"{slowest / baseline:7.1f} {longest:14.2f} {len(failed):6d}"
        )
        if during[-1].get("pool_ran_out"):
            print(f"      (the {ACCOUNTS} fresh accounts ran out before the import ended: the probes cover its start)")
        for probe in failed[:3]:
            print(f"      failed after {probe['seconds']:.1f} s: {probe['status']}: {probe['error'][:160]}")
        if failed and database.startswith("PostgreSQL"):
            errors.append(f"{database}: {len(failed)} sync(s) failed during {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="readings in the import_observations file")
    parser.add_argument("--sheet-rows", type=int, default=6_000, help="farms in the spreadsheet")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="measure one database only")
    parser.add_argument("--role", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    use_bench_environment()
    if args.role == "setup":
        return setup(rest[0], int(rest[1]), int(rest[2]), rest[3])
    if args.role == "probes":
        return probes(int(rest[0]), int(rest[1]), bool(int(rest[2])))

    from wattcarbon_sync import SandboxProcess  # the same sandbox process as the sync benchmark

    WORK.mkdir(parents=True, exist_ok=True)
    sqlite_url = f"sqlite:///{SQLITE_FILE}"
    os.environ["DATABASE_URL"] = sqlite_url  # the sandbox's settings only; it uses no database
    sandbox = SandboxProcess(WORK / "sandbox")
    errors = []
    try:
        databases = []
        if args.only in (None, "sqlite"):
            databases.append(("SQLite", sqlite_url))
        if args.only in (None, "postgresql"):
            databases.append(("PostgreSQL", os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)))
        for database, url in databases:
            if database == "SQLite":
                remove_sqlite()
            else:
                os.environ["DATABASE_URL"] = url
                recreate_database()
            try:
                alone, results = measure(database, url, sandbox.url, args)
            finally:
                if database == "SQLite":
                    remove_sqlite()
            report(database, alone, results, errors)
    finally:
        sandbox.stop()
    if errors:
        sys.exit(f"{len(errors)} error(s): " + "; ".join(errors))


def remove_sqlite():
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
