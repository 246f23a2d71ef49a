"""A WattCarbon sync of a big portfolio against the sandbox: the first sync two ways, then re-syncs.

Builds one portfolio of 1,000 electricity meters (--meters), each with one year of hourly interval
readings (8,760,000 rows), and 1,000 assets, one per meter: 70% solar (with the fields the kind
requires), 10% storage_direct, 10% electrification_eemetered and 10% demand_response_eemetered with
three events each. Every reading was ingested an hour ago, in one import. The build is timed apart
and is not part of the figures. Then, against the sandbox (``manage.py sandbox`` in its own process):

1. the first sync (``run_sync``, what the worker runs), twice, each by a fresh account against a
   freshly reset sandbox: first the old way (the csv module writes the files, one upload at a time:
   ``CSV_IN_DATABASE`` off, ``upload_concurrency`` 1), then the new way (PostgreSQL writes each file,
   four uploads at a time, the default; on SQLite the csv module, four at a time). For each: wall
   time, the run's counters, the HTTP calls the sandbox logged, and the client's own time: the wall
   time minus the time the sandbox was busy with at least one request (the union of its handling
   intervals, from its log), with the bench process's CPU time beside it; target: the new way's own
   time at most half the old way's;
2. the CSV generation rate: every meter's interval file built as the sync builds it (``Series.chunk``)
   against one ``COPY (SELECT start, energy_kwh ...) TO STDOUT`` of the same rows read through psycopg
   to /dev/null, best of two each, alternating; target: at least half the ``COPY`` rate;
3. a re-sync with nothing changed, three times (the median counts): wall time, write calls (from the
   run and from the sandbox's log) and calls of any kind; target: no write call at all, and under 2%
   of the first sync's time;
4. a re-sync after a small change (10 assets renamed, one new hour on 10 other meters): exactly 10
   asset updates and 10 interval uploads, 20 write calls.

The re-syncs are the new way's account's. It prints the figures and the targets (bench/_targets.py).
With --profile it also profiles one more no-op re-sync (cProfile, top 15 by cumulative time); it
does so anyway when the no-op misses its time target. It exits non-zero on errors: a sync that
does not end as expected, a no-op re-sync that makes any write call, or a small change that does
not make exactly its 20 write calls (those are correctness failures, not noise). The time targets are only reported.

    .venv/bin/python bench/wattcarbon_sync.py [--meters N] [--sqlite] [--profile]

On PostgreSQL it drops and recreates the scratch database BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/bench_wattcarbon_sync); DATABASE_URL is never used, so the bench
cannot drop a database the app uses. With --sqlite it runs on a scratch SQLite file instead (the
app's embedded default), var/bench/wattcarbon-sync/bench.sqlite3, deleted before and after. The
sandbox keeps its files in var/bench/wattcarbon-sync/sandbox/, removed at the end, and writes its
output to var/bench/wattcarbon-sync/sandbox.log.
"""

import argparse
import atexit
import cProfile
import io
import logging
import os
import pstats
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _scratch import recreate_database, use_bench_environment  # noqa: E402 - bench/ is on sys.path: these run as scripts
from _targets import target  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_wattcarbon_sync"
WORK = ROOT / "var" / "bench" / "wattcarbon-sync"
SQLITE_FILE = WORK / "bench.sqlite3"
SANDBOX_DIR = WORK / "sandbox"

HOURS = 8760  # one year of hourly intervals per meter
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
EVENTS_PER_DR_ASSET = 3
CHANGED = 10  # assets renamed and meters given one more hour in the small change
NOOP_RUNS = 3
NOOP_TARGET = 0.02
OWN_TIME_TARGET = 0.5  # the new way's own time / the old way's
CSV_RATE_TARGET = 0.5  # the CSV generation rate / a bare COPY's
# Out of every 10 assets: 7 solar, 1 storage, 1 electrification, 1 demand response.
KIND_CYCLE = ("solar",) * 7 + ("storage_direct", "electrification_eemetered", "demand_response_eemetered")
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


# -- the sandbox ---------------------------------------------------------------------------------


def _die_with_parent():
    """In the sandbox process: get SIGTERM if the bench dies, however it dies (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class SandboxProcess:
    """``manage.py sandbox`` in its own process (its own session: Ctrl-C reaches the bench, which stops it)."""

    def __init__(self, data_dir):
        import socket

        import requests

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        self.data_dir = data_dir
        self.log_path = data_dir.parent / "sandbox.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "manage.py", "sandbox", "--host", "127.0.0.1", "--port", str(port)]
        self.process = subprocess.Popen(
            [*command, "--data-dir", str(data_dir)],
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        atexit.register(self.stop)
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(400):
            if self.process.poll() is not None:
                break
            try:
                requests.get(f"{self.url}/_sandbox/state", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        self.stop()
        sys.exit(f"The sandbox did not start; see {self.log_path}.")

    def memory_mb(self):
        """(current RSS, peak RSS) of the sandbox process, in MB, from /proc (None elsewhere)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return tuple(int(values[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self._log.closed:
            self._log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def wattcarbon_calls(control, after_id=0):
    """The WattCarbon calls the sandbox logged after the call ``after_id``."""
    return [call for call in control.state()["requests"] if call["service"] == "wattcarbon" and call["id"] > after_id]


def last_call_id(control):
    return max((call["id"] for call in control.state()["requests"]), default=0)


def is_write(call):
    return call["method"] in WRITE_METHODS and call["operation"] != "token"


# -- the data ------------------------------------------------------------------------------------


def build_portfolio(meters):
    """The portfolio, its meters, assets (one per meter) and events; returns (portfolio, meter pks, asset pks)."""
    from portfolio.models import Asset, DemandResponseEvent, Meter, Portfolio

    portfolio = Portfolio.objects.create(name="Bench", slug="bench")
    Meter.objects.bulk_create(
        Meter(
            portfolio=portfolio,
            name=f"Site {n:04d} main meter",
            meter_type="electricity",
            address=f"{100 + n} Main St Springfield IL",
        )
        for n in range(meters)
    )
    meter_pks = list(Meter.objects.filter(portfolio=portfolio).order_by("name").values_list("pk", flat=True))
    assets = []
    for n in range(meters):
        kind = KIND_CYCLE[n % len(KIND_CYCLE)]
        asset = Asset(
            portfolio=portfolio,
            name=f"Site {n:04d} {kind.split('_')[0]}",
            custom_id=f"SITE-{n:04d}",
            kind=kind,
            timezone="America/Chicago",
            utility="Ameren Illinois",
            address=f"{100 + n} Main St Springfield IL",
            commenced_operation_date=date(2020, 1, 1) + timedelta(days=n),
        )
        if kind == "solar":
            asset.nameplate_capacity_kw = 50.0 + n % 200
            asset.inverter_data_id = f"INV-{n:05d}"
            asset.inverter_data_source = "enphase"
            if n % 3 == 0:
                asset.external_registry_name, asset.external_registry_asset_id = "GATS", f"NON{n:06d}"
        elif kind == "electrification_eemetered":
            asset.area_sqft = 1200 + n
            asset.previous_fuel = "gas"
            asset.building_type = "single_family_detached"
            asset.replacement_type = "furnace_only"
            asset.year_built = 1950 + n % 70
            asset.number_of_stories = 1 + n % 3
        assets.append(asset)
    Asset.objects.bulk_create(assets)
    asset_pks = list(Asset.objects.filter(portfolio=portfolio).order_by("custom_id").values_list("pk", flat=True))
    Asset.meters.through.objects.bulk_create(
        Asset.meters.through(asset_id=asset_pk, meter_id=meter_pk)
        for asset_pk, meter_pk in zip(asset_pks, meter_pks, strict=True)
    )
    events = []
    for asset in Asset.objects.filter(portfolio=portfolio, kind="demand_response_eemetered"):
        for k in range(EVENTS_PER_DR_ASSET):
            start = datetime(2025, 7, 7 + 7 * k, 22, tzinfo=UTC)  # 17:00 in Chicago (CDT)
            events.append(DemandResponseEvent(asset=asset, start=start, end=start + timedelta(hours=3)))
    DemandResponseEvent.objects.bulk_create(events)
    return portfolio, meter_pks, asset_pks


def _quantities(n):
    """A meter's 8,760 hourly kWh values as text: a solar-like day shape, scaled per meter."""
    scale = 20.0 + n % 50
    out = []
    for hour in range(HOURS):
        h = hour % 24
        value = scale * max(0.0, 1.0 - abs(h - 12.5) / 6.5) + 0.125 * (hour % 7)
        out.append(f"{value:.3f}")
    return out


def load_intervals(meter_pks, ingested_at):
    """One year of hourly readings per meter, stamped ``ingested_at``: COPY on PostgreSQL, executemany on SQLite."""
    from django.db import connection, transaction

    starts = [YEAR_START + timedelta(hours=hour) for hour in range(HOURS + 1)]
    if connection.vendor == "postgresql":
        text = [moment.isoformat() for moment in starts]
        stamp = ingested_at.isoformat()
        columns = 'meter_id, start, "end", quantity, unit, ingested_at'
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.copy(f"COPY portfolio_intervalreading ({columns}) FROM STDIN") as copy,
        ):
            for n, pk in enumerate(meter_pks):
                values = _quantities(n)
                copy.write(
                    "".join(f"{pk}\t{text[h]}\t{text[h + 1]}\t{values[h]}\tkWh\t{stamp}\n" for h in range(HOURS))
                )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE portfolio_intervalreading")
    else:
        adapt = connection.ops.adapt_datetimefield_value
        text = [adapt(moment) for moment in starts]
        stamp = adapt(ingested_at)
        insert = (
            'INSERT INTO portfolio_intervalreading (meter_id, start, "end", quantity, unit, ingested_at) '
            "VALUES (?, ?, ?, ?, 'kWh', ?)"
        )
        connection.ensure_connection()
        raw = connection.connection
        with transaction.atomic():
            for n, pk in enumerate(meter_pks):
                values = _quantities(n)
                raw.executemany(insert, ((pk, text[h], text[h + 1], float(values[h]), stamp) for h in range(HOURS)))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return len(meter_pks) * HOURS


# -- measuring -----------------------------------------------------------------------------------


class QueryCounter:
    """Counts the SQL statements of a block and the time spent in them (connection.execute_wrapper)."""

    def __init__(self):
        self.count, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def measured_sync(account_pk, control, profile=None):
    """One sync, as a worker runs it (the account loaded afresh); returns its figures."""
    from django.db import connection

    from uploads.models import Attempt, WattCarbonAccount
    from uploads.wattcarbon.service import run_sync

    account = WattCarbonAccount.objects.get(pk=account_pk)
    before = last_call_id(control)
    queries = QueryCounter()
    with connection.execute_wrapper(queries):
        started, cpu = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        run = run_sync(account)
        if profile is not None:
            profile.disable()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    calls = wattcarbon_calls(control, before)
    busy = busy_seconds(calls)
    attempts = list(Attempt.objects.filter(sync_run=run).values_list("operation", "duration_ms"))
    return {
        "run": run,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "busy_seconds": busy,
        "own_seconds": seconds - busy,
        "calls": calls,
        "writes": [call for call in calls if is_write(call)],
        "operations": Counter(call["operation"] for call in calls),
        "attempts": len(attempts),
        "http_seconds": sum(duration for _, duration in attempts) / 1000,
        "server_seconds": sum(call["duration_ms"] or 0 for call in calls) / 1000,
        "queries": queries.count,
        "query_seconds": queries.seconds,
    }


def busy_seconds(calls):
    """How long the sandbox was handling at least one of ``calls``: the union of their intervals (its log)."""
    spans = []
    for call in calls:
        start = datetime.fromisoformat(call["time"].replace("Z", "+00:00")).timestamp()
        spans.append((start, start + (call["duration_ms"] or 0) / 1000))
    total, reach = 0.0, None
    for start, end in sorted(spans):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def first_sync(label, portfolio, sandbox, control, rows, kinds, errors, *, name, concurrency, in_database):
    """A fresh account's first sync against a reset sandbox; checks what the sandbox holds; returns its figures."""
    from portfolio.models import Meter
    from sandbox import wattcarbon as sandbox_defaults
    from uploads.models import SyncStatus, WattCarbonAccount
    from uploads.secrets import Secret
    from uploads.wattcarbon import readings

    control.reset()
    account = WattCarbonAccount(
        name=name,
        portfolio=portfolio,
        base_url=sandbox.url,
        email=sandbox_defaults.DEFAULT_EMAIL,
        api_key=Secret(sandbox_defaults.DEFAULT_API_KEY),
        account_id=sandbox_defaults.DEFAULT_ACCOUNT_ID,
        upload_concurrency=concurrency,
    )
    account.full_clean()
    account.save()
    readings.CSV_IN_DATABASE = in_database
    try:
        first = measured_sync(account.pk, control)
    finally:
        readings.CSV_IN_DATABASE = True
    first["account"] = account
    run = first["run"]
    if run.status != SyncStatus.SYNCED or run.problems:
        fail(errors, f"{label}: the first sync ended {run.status} with {run.problems} problem(s): {run.error}")
    remote = control.wattcarbon()
    remote_rows = sum(meter["intervals"] for meter in remote["meters"])
    remote_documents = sum(len(asset["documents"]) for asset in remote["assets"])
    meters = Meter.objects.filter(portfolio=portfolio).count()
    expected = (meters, meters, rows, kinds["demand_response_eemetered"])
    got = (len(remote["meters"]), len(remote["assets"]), remote_rows, remote_documents)
    if got != expected:
        fail(errors, f"{label}: the sandbox holds {got} (meters, assets, interval rows, documents), not {expected}")
    if run.write_calls != len(first["writes"]):
        logged = len(first["writes"])
        fail(errors, f"{label}: the run counted {run.write_calls} write calls, the sandbox logged {logged}")
    print(
        f"first sync, {label}: {first['seconds']:.1f} s; meters created {run.meters_created:,}, assets created "
        f"{run.assets_created:,}, interval rows {run.interval_rows:,}, bill rows {run.bill_rows}, documents "
        f"{run.documents}; write calls {run.write_calls:,} (sandbox log {len(first['writes']):,}), HTTP calls "
        f"{len(first['calls']):,} ("
        + ", ".join(f"{op} {count:,}" for op, count in sorted(first["operations"].items()))
        + f"); {run.interval_rows / first['seconds']:,.0f} interval rows/s"
    )
    print(
        f"  the sandbox busy with at least one request {first['busy_seconds']:.1f} s (the sum of its handling "
        f"times {first['server_seconds']:.1f} s); the client's own time {first['own_seconds']:.1f} s; "
        f"the bench process's CPU time {first['cpu_seconds']:.1f} s; {first['queries']:,} SQL statements "
        f"{first['query_seconds']:.1f} s"
    )
    return first


def csv_rates(meter_pks, rounds=2):
    """(rows, best seconds to build every meter's interval file as the sync does, best seconds of one bare
    COPY of the same rows to /dev/null through psycopg), alternating."""
    from django.db import connection
    from django.utils import timezone

    from uploads.wattcarbon.readings import INTERVALS

    link = SimpleNamespace(intervals_through_at=None, intervals_through_id=None)
    until = timezone.now()
    bare = "COPY (SELECT start, energy_kwh FROM portfolio_intervalreading WHERE meter_id = ANY(%s)) TO STDOUT"
    built, copied, rows = [], [], 0
    with open(os.devnull, "wb") as sink:
        for _ in range(rounds):
            started, rows = time.perf_counter(), 0
            for pk in meter_pks:
                chunk = INTERVALS.chunk(link, pk, until, 10_000)
                rows += chunk.rows
            built.append(time.perf_counter() - started)
            started = time.perf_counter()
            with connection.cursor() as cursor, cursor.cursor.copy(bare, [meter_pks]) as copy:
                for data in copy:
                    sink.write(data)
            copied.append(time.perf_counter() - started)
    return rows, min(built), min(copied)


def small_change(portfolio, meter_pks, asset_pks):
    """Rename CHANGED assets and give CHANGED other meters one more hour, ingested now."""
    from portfolio.models import Asset, IntervalReading

    step = len(asset_pks) // CHANGED
    renamed = asset_pks[::step][:CHANGED]
    for pk in renamed:
        Asset.objects.filter(pk=pk).update(name=f"Renamed asset {pk}")
    grown = meter_pks[step // 2 :: step][:CHANGED]  # the meters of other assets than those renamed
    start = YEAR_START + timedelta(hours=HOURS)
    IntervalReading.objects.bulk_create(
        IntervalReading(meter_id=pk, start=start, end=start + timedelta(hours=1), quantity=1.5) for pk in grown
    )


def print_profile(profile, title):
    buffer = io.StringIO()
    pstats.Stats(profile, stream=buffer).strip_dirs().sort_stats("cumulative").print_stats(15)
    print(f"\n{title}")
    print(buffer.getvalue().rstrip())


def fail(errors, message):
    errors.append(message)
    print(f"ERROR: {message}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=1000, help="meters, and assets (one per meter); default 1000")
    parser.add_argument("--sqlite", action="store_true", help="run on a scratch SQLite file, not PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="profile one more no-op re-sync (cProfile, top 15)")
    args = parser.parse_args()
    if args.meters < CHANGED * 2:
        parser.error(f"--meters must be at least {CHANGED * 2}")

    WORK.mkdir(parents=True, exist_ok=True)
    if args.sqlite:
        os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_FILE}"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
    else:
        os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
        recreate_database()
    use_bench_environment()
    os.environ["UPLOADS_INGEST_SAFETY_LAG_SECONDS"] = "0"  # the readings count as complete at once
    # SIGTERM (a CI timeout, kill) ends the bench through its finally blocks, stopping the sandbox.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import django

    django.setup()
    logging.getLogger("uploads").setLevel(logging.WARNING)  # one line per call is noise here
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from sandbox.control import SandboxControl
    from uploads.models import SyncStatus
    from uploads.models.wattcarbon import DEFAULT_UPLOAD_CONCURRENCY

    call_command("migrate", verbosity=0)
    database = "SQLite" if args.sqlite else f"PostgreSQL {connection.pg_version // 10000}"
    sandbox = SandboxProcess(SANDBOX_DIR)
    control = SandboxControl(sandbox.url)
    errors = []
    try:
        started = time.perf_counter()
        portfolio, meter_pks, asset_pks = build_portfolio(args.meters)
        rows = load_intervals(meter_pks, ingested_at=timezone.now() - timedelta(hours=1))
        kinds = Counter(KIND_CYCLE[n % len(KIND_CYCLE)] for n in range(args.meters))
        print(
            f"data ({database}): {args.meters:,} meters, {args.meters:,} assets ("
            + ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
            + f"), {rows:,} hourly intervals; built in {time.perf_counter() - started:.1f} s (not measured)"
        )
        # 1. The first sync, the old way and the new way, each by a fresh account on a reset sandbox.
        old = first_sync(
            "old way (csv module, 1 upload at a time)",
            portfolio, sandbox, control, rows, kinds, errors,
            name="Bench, old way", concurrency=1, in_database=False,
        )  # fmt: skip
        writer = "csv module" if args.sqlite else "files by the database"
        first = first_sync(
            f"new way ({writer}, {DEFAULT_UPLOAD_CONCURRENCY} uploads at a time)",
            portfolio, sandbox, control, rows, kinds, errors,
            name="Bench", concurrency=DEFAULT_UPLOAD_CONCURRENCY, in_database=True,
        )  # fmt: skip
        account = first["account"]
        own_ratio = first["own_seconds"] / old["own_seconds"]
        cpu_ratio = first["cpu_seconds"] / old["cpu_seconds"]
        wall_ratio = first["seconds"] / old["seconds"]

        # 2. The CSV generation rate against a bare COPY of the same rows.
        csv_rate = None
        if not args.sqlite:
            csv_rows, built, copied = csv_rates(meter_pks)
            csv_rate = (csv_rows / built) / (csv_rows / copied)
            print(
                f"CSV files of {csv_rows:,} interval rows, built as the sync builds them: {built:.1f} s, "
                f"{csv_rows / built:,.0f} rows/s; a bare COPY of the same rows to /dev/null: {copied:.1f} s, "
                f"{csv_rows / copied:,.0f} rows/s (best of 2 each)"
            )

        # 3. Re-syncs with nothing changed.
        noops = []
        for _ in range(NOOP_RUNS):
            noop = measured_sync(account.pk, control)
            noops.append(noop)
            if noop["run"].status != SyncStatus.NOTHING:
                fail(errors, f"a no-op re-sync ended {noop['run'].status}: {noop['run'].error}")
            if noop["run"].write_calls or noop["writes"]:
                fail(
                    errors,
                    f"a no-op re-sync made write calls: {noop['run'].write_calls} counted by the run, "
                    f"{len(noop['writes'])} logged by the sandbox",
                )
        noop = sorted(noops, key=lambda figures: figures["seconds"])[len(noops) // 2]
        noop_ratio = noop["seconds"] / first["seconds"]
        print(
            "no-op re-syncs: "
            + ", ".join(f"{figures['seconds']:.2f} s" for figures in noops)
            + f" (median {noop['seconds']:.2f} s); write calls "
            + ", ".join(f"{figures['run'].write_calls}/{len(figures['writes'])}" for figures in noops)
            + " (run/sandbox log); calls of any kind "
            + ", ".join(str(len(figures["calls"])) for figures in noops)
            + f"; the median one ran {noop['queries']:,} SQL statements in {noop['query_seconds']:.2f} s"
        )

        if args.profile or noop_ratio >= NOOP_TARGET:
            profile = cProfile.Profile()
            profiled = measured_sync(account.pk, control, profile=profile)
            if profiled["run"].write_calls or profiled["writes"]:
                fail(errors, "the profiled no-op re-sync made write calls")
            print_profile(profile, f"profile of one more no-op re-sync ({profiled['seconds']:.2f} s under cProfile):")
            print()

        # 4. A small change.
        small_change(portfolio, meter_pks, asset_pks)
        change = measured_sync(account.pk, control)
        run = change["run"]
        operations = Counter(call["operation"] for call in change["writes"])
        expected_writes = {"update_asset": CHANGED, "upload_intervals": CHANGED}
        if run.status != SyncStatus.SYNCED or dict(operations) != expected_writes or run.write_calls != 2 * CHANGED:
            fail(
                errors,
                f"the small change's re-sync ended {run.status} with write calls {dict(operations)} "
                f"(the run counted {run.write_calls}), not {expected_writes}",
            )
        print(
            f"small-change re-sync ({CHANGED} assets renamed, one new hour on {CHANGED} meters): "
            f"{change['seconds']:.2f} s; assets updated {run.assets_updated}, interval rows {run.interval_rows}; "
            f"write calls {run.write_calls} (sandbox log {len(change['writes'])}: "
            + ", ".join(f"{op} {count}" for op, count in sorted(operations.items()))
            + f"), calls of any kind {len(change['calls'])}"
        )
        memory = sandbox.memory_mb()
        if memory:
            print(f"sandbox process: {memory[0]:.0f} MB resident now, {memory[1]:.0f} MB at peak")

        print()
        print(f"{'first sync, old way / new way:':44} {old['seconds']:8.1f} s / {first['seconds']:.1f} s")
        print(
            f"{'  client own time, old / new:':44} {old['own_seconds']:8.1f} s / {first['own_seconds']:.1f} s "
            f"(wall {wall_ratio:.2f}, CPU {cpu_ratio:.2f} of the old way's)"
        )
        print(f"{'no-op re-sync (median of 3):':44} {noop['seconds']:8.2f} s")
        print(f"{'small-change re-sync:':44} {change['seconds']:8.2f} s")
        print(f"{'small-change write calls:':44} {run.write_calls:>5}   (expected {2 * CHANGED})")
        print(f"{'small-change / first sync time:':44} {change['seconds'] / first['seconds']:8.4f}")
        target("first sync, client's own time, new / old way", own_ratio, OWN_TIME_TARGET, at_least=False)
        if csv_rate is not None:
            target("CSV generation rate / bare COPY rate", csv_rate, CSV_RATE_TARGET)
        noop_writes = max(max(figures["run"].write_calls, len(figures["writes"])) for figures in noops)
        target("no-op re-sync write calls (run and sandbox log)", noop_writes, 0, at_least=False, digits=0)
        target("no-op / first sync time", noop_ratio, NOOP_TARGET, at_least=False, digits=4)
    finally:
        control.close()
        sandbox.stop()
        if args.sqlite:
            connection.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
    if errors:
        sys.exit(f"{len(errors)} error(s): " + "; ".join(errors))


if __name__ == "__main__":
    main()
