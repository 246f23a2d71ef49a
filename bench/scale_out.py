"""Scale-out: one `qcluster` against two (as on two hosts), on PostgreSQL with the Redis broker.

20 Raptor Maps integrations (--integrations), each with a farm of readings, and 5 WattCarbon accounts
(--accounts), each with 2 meters of hourly intervals and 2 assets, all against the sandbox (in this
process, on 127.0.0.1), where every call that carries data waits --delay seconds first (a Raptor Maps
PUT; a WattCarbon interval upload, half of it for each of an account's two meters): the runs wait on
the network as they do on the real services. Every schedule is made due at one instant (a slot),
then N qcluster processes work it, each with the project's Q_CLUSTER (2 workers), one database, one
Redis and one cluster name, as on N hosts. The slot is fired twice (--slots), with new readings in
between. All of it once with N=1 and once with N=2, each on a fresh database and a fresh cluster name.

For each N and slot it prints: the tasks the schedulers queued (each schedule must be queued once,
by whichever cluster's scheduler got to it first) and which cluster queued them; the runs of each
integration and account that did the work (exactly 1) and those skipped because another run held
the lease (a second task of one schedule would end so: counted apart, never an upload); the tasks
each cluster's workers ran; the batch time (first run started → last run finished) and the time from
the schedules being due (the scheduler ticks every 30 s, so that includes up to 30 s of waiting).
Then over both slots: overlapping runs of one integration or account (0), and duplicates in what the
sandbox received (Raptor Maps rows received in two files, WattCarbon meters or assets created twice,
interval rows sent again: 0), and the rows received against those expected. Last, the speed-up
(batch time with 1 over 2) and each qcluster's throughput. It exits non-zero on any correctness
failure; the times are only reported.

    .venv/bin/python bench/scale_out.py [--integrations 20] [--accounts 5] [--slots 2] [--delay 2]

It needs PostgreSQL and Redis. It drops and recreates the scratch database BENCH_DATABASE_URL names
(default postgres://postgres@127.0.0.1:5432/bench_scale_out; DATABASE_URL is never used), and
uses the Redis of BENCH_REDIS_URL, else REDIS_URL, else redis://127.0.0.1:6379/0, under cluster names
of its own (scale-bench-<pid>-<N>), whose keys it deletes afterwards. Logs and files go to
var/bench/scale-out/.
"""

import argparse
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _scratch import recreate_database, use_bench_environment  # noqa: E402 - bench/ is on sys.path: these run as scripts

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_scale_out"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
WORK = ROOT / "var" / "bench" / "scale-out"
SLOT_TIMEOUT = 900


def reachable_or_exit(database_url, redis_url):
    """Exit with a message naming what is missing when PostgreSQL or Redis does not answer."""
    import dj_database_url
    import psycopg
    import redis

    config = dj_database_url.parse(database_url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("bench/scale_out.py runs on PostgreSQL: set BENCH_DATABASE_URL=postgres://...")
    try:
        psycopg.connect(
            host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"], dbname="postgres", connect_timeout=5
        ).close()
    except psycopg.Error as exc:
        sys.exit(f"bench/scale_out.py needs PostgreSQL at {config['HOST']}:{config['PORT'] or 5432}: {exc}")
    try:
        redis.from_url(redis_url, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        where = urlsplit(redis_url)  # host and port only: the URL may carry a password
        sys.exit(f"bench/scale_out.py needs Redis at {where.hostname}:{where.port or 6379} (BENCH_REDIS_URL): {exc}")


def forget_cluster(redis_url, name):
    import redis

    connection = redis.from_url(redis_url)
    for key in connection.scan_iter(f"django_q:{name}:*"):
        connection.delete(key)
    connection.close()


def scenario(clusters_count, args, sandbox, redis_url):
    """A fresh database and fleet, ``clusters_count`` qclusters, ``args.slots`` slots; returns the figures."""
    from django.core.management import call_command
    from django.db import connections

    from tests.uploads import fleet as fleets

    connections.close_all()
    recreate_database()
    call_command("migrate", verbosity=0)
    sandbox.reset()
    fleets.slow_calls(sandbox, args.delay)
    fleet = fleets.build_fleet(sandbox.url, args.integrations, args.accounts)

    name = f"scale-bench-{os.getpid()}-{clusters_count}"
    directory = WORK / f"{clusters_count}-qcluster"
    shutil.rmtree(directory, ignore_errors=True)
    environment = fleets.cluster_environment(
        database_url=os.environ["DATABASE_URL"],
        redis_url=redis_url,
        cluster_name=name,
        work_dir=directory / "work",
        settings_module="portfolio.settings",
    )
    clusters = fleets.start_clusters(clusters_count, environment, directory)
    slots = []
    try:
        for number in range(1, args.slots + 1):
            if number > 1:
                fleets.add_readings(fleet, number)
            slot = fleet.fire(clusters)
            fleets.wait_for_slot(fleet, slot, clusters, SLOT_TIMEOUT)
            slots.append(fleets.slot_figures(fleet, slot, clusters))
            print(f"  {clusters_count} qcluster(s), slot {number}: batch {slots[-1].batch_seconds:.1f} s", flush=True)
    finally:
        stopping = time.monotonic()
        exits = [cluster.stop() for cluster in clusters]
        stop_seconds = time.monotonic() - stopping
        forget_cluster(redis_url, name)
    return {
        "fleet": fleet,
        "slots": slots,
        "overlaps": fleets.overlaps(fleet),
        "duplicates": fleets.duplicates(sandbox),
        "received": fleets.received_rows(sandbox),
        "expected": fleets.expected_remote(fleet, args.slots),
        "exits": exits,
        "stop_seconds": stop_seconds,
    }


def check(results, args, errors):
    schedules = args.integrations + args.accounts
    for count, result in results.items():
        for number, slot in enumerate(result["slots"], start=1):
            where = f"{count} qcluster(s), slot {number}"
            # A schedule queued twice is no error while its second run is skipped (the lease): reported above.
            if len(slot.queued) != schedules:
                errors.append(f"{where}: {len(slot.queued)} of {schedules} schedules queued")
            if slot.runs_per_slot() != (1, 1):
                errors.append(f"{where}: real runs per integration/account {slot.runs_per_slot()}, not exactly 1")
            if set(slot.statuses) - {"uploaded", "synced", "skipped"}:
                errors.append(f"{where}: runs ended {dict(slot.statuses)}")
        if result["overlaps"]:
            errors.append(f"{count} qcluster(s): {result['overlaps']} overlapping runs")
        if result["duplicates"].total:
            errors.append(f"{count} qcluster(s): duplicates {result['duplicates']}")
        if result["received"] != result["expected"]:
            errors.append(f"{count} qcluster(s): rows received {result['received']}, expected {result['expected']}")
        if result["exits"] != [0] * count:
            errors.append(f"{count} qcluster(s): exit codes {result['exits']} after SIGTERM")


def print_table(results, args):
    counts = sorted(results)
    width = 50

    def row(label, values):
        print(f"{label:<{width}}" + "".join(f"{value:>22}" for value in values))

    print()
    row("", [f"{count} qcluster{'s' if count > 1 else ''}" for count in counts])
    for number in range(args.slots):
        slots = [results[count]["slots"][number] for count in counts]
        print(f"slot {number + 1} (all {args.integrations + args.accounts} schedules due at once)")
        row(
            "  tasks queued (per schedule: fewest-most)",
            [f"{sum(s.queued.values())} ({_span(s.queued)})" for s in slots],
        )
        row("  queued by cluster", [" / ".join(map(str, s.queued_by_cluster)) for s in slots])
        row("  real runs per integration/account", [f"{a}-{b}" for a, b in (s.runs_per_slot() for s in slots)])
        row("  runs skipped (lease held by a run of the same)", [s.skipped_runs for s in slots])
        row("  tasks run by cluster", [" / ".join(map(str, s.ran_by_cluster)) for s in slots])
        row("  mean run", [f"{s.mean_run_seconds:.2f} s" for s in slots])
        row("  batch: first run started -> last finished", [f"{s.batch_seconds:.1f} s" for s in slots])
        row("  schedules due -> last run finished", [f"{s.due_to_done_seconds:.1f} s" for s in slots])
    row("overlapping runs of one integration/account", [results[c]["overlaps"] for c in counts])
    row("duplicates (RM rows, WC meters, assets, rows)", [_duplicates(results[c]["duplicates"]) for c in counts])
    row("RM files received", [results[c]["duplicates"].raptormaps_files for c in counts])
    row("rows received / expected (RM, WC)", [_received(results[c]) for c in counts])
    row("graceful stop (SIGTERM -> all exited)", [f"{results[c]['stop_seconds']:.1f} s" for c in counts])
    if 1 in results and 2 in results:
        print()
        for number in range(args.slots):
            one, two = (results[c]["slots"][number].batch_seconds for c in (1, 2))
            print(f"slot {number + 1}: batch with 1 qcluster / with 2 = {one:.1f} / {two:.1f} s = {one / two:.2f}x")
        runs = args.integrations + args.accounts
        single = [slot.batch_seconds for slot in results[1]["slots"]]
        per_minute = runs * 60 / (sum(single) / len(single))
        print(
            f"throughput of one qcluster (2 workers): {per_minute:.1f} runs/min with each run waiting {args.delay:g} s "
            f"on the network; at a 15-minute interval that is {per_minute * 15:.0f} integrations or accounts"
        )


def _span(counter):
    values = list(counter.values()) or [0]
    return f"{min(values)}-{max(values)}"


def _duplicates(found):
    return f"{found.raptormaps_rows}, {found.wattcarbon_meters}, {found.wattcarbon_assets}, {found.wattcarbon_rows}"


def _received(result):
    (rm, wc), (rm_expected, wc_expected) = result["received"], result["expected"]
    return f"{rm}/{rm_expected}, {wc}/{wc_expected}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--integrations", type=int, default=20, help="Raptor Maps integrations; default 20")
    parser.add_argument("--accounts", type=int, default=5, help="WattCarbon accounts; default 5")
    parser.add_argument("--slots", type=int, default=2, help="times every schedule is made due; default 2")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds each run waits on the sandbox; default 2")
    args = parser.parse_args()
    if min(args.integrations, args.accounts, args.slots) < 1:
        parser.error("--integrations, --accounts and --slots must be at least 1")

    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    os.environ["REDIS_URL"] = redis_url
    reachable_or_exit(os.environ["DATABASE_URL"], redis_url)
    use_bench_environment()
    os.environ["UPLOADS_INGEST_SAFETY_LAG_SECONDS"] = "0"
    # SIGTERM (a CI timeout, kill) ends the bench through its finally blocks, stopping the qclusters.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import django

    django.setup()
    logging.getLogger("uploads").setLevel(logging.WARNING)
    from django.db import connection

    from sandbox.control import SandboxControl
    from sandbox.server import start_sandbox
    from tests.uploads.fleet import sandbox_settings

    WORK.mkdir(parents=True, exist_ok=True)
    # reset: the sandbox keeps its state across restarts, and each bench starts empty.
    running = start_sandbox(
        port=0, data_dir=WORK / "sandbox", reset=True, **sandbox_settings(args.integrations, args.accounts)
    )
    sandbox = SandboxControl(running.url)
    results = {}
    try:
        for count in (1, 2):
            results[count] = scenario(count, args, sandbox, redis_url)
        database = f"PostgreSQL {connection.pg_version // 10000}"
    finally:
        sandbox.close()
        running.stop()
        shutil.rmtree(WORK / "sandbox", ignore_errors=True)
    print(
        f"\n{args.integrations} Raptor Maps integrations (a farm each) and {args.accounts} WattCarbon accounts "
        f"(2 meters, 2 assets each); {database}, Redis broker; each run waits {args.delay:g} s on the sandbox"
    )
    print_table(results, args)
    errors = []
    check(results, args, errors)
    if errors:
        for error in errors:
            print(f"ERROR: {error}")
        sys.exit(f"{len(errors)} error(s)")


if __name__ == "__main__":
    main()
