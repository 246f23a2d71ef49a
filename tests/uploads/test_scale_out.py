"""Two `qcluster` processes, as on two hosts, share one database and one broker: every integration and
account runs exactly once per slot, never twice at once, and nothing reaches the services twice.

Both clusters run django-q2's scheduler on the same schedules; which one queues a due schedule is
a race they must settle between them. With REDIS_URL set the broker is Redis (under a cluster
name of this test's own), otherwise the ORM broker in the test database; the test asserts the
same on both. Then what settles that race (two scheduler ticks at one instant), and an upgrade's
stop: a qcluster stopped mid-slot loses nothing. bench/scale_out.py measures the first at a larger
size, and the time.
"""

import os
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.scheduler import scheduler
from django_q.signing import SignedPackage

from tests.uploads.fleet import (
    add_readings,
    build_fleet,
    cluster_environment,
    duplicates,
    expected_remote,
    overlaps,
    received_rows,
    runs_of,
    sandbox_settings,
    slot_figures,
    slow_calls,
    start_clusters,
    wait_for_slot,
    waiting_in_broker,
)
from tests.uploads.test_raptormaps_workers import database_url
from uploads.models import RunStatus, SyncStatus

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

INTEGRATIONS, ACCOUNTS, CLUSTERS, SLOTS = 6, 2, 2, 2
CALL_SECONDS = 1.0  # each run waits this long on the sandbox, so runs of both clusters run side by side
# A slot waits for a scheduler tick (every 30 s per cluster), then for its runs.
SLOT_SECONDS = 240


@pytest.fixture
def cluster_name():
    """A cluster (queue) name of this test's own; with Redis, its keys are removed afterwards."""
    name = f"scale-test-{os.getpid()}"
    yield name
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if redis_url:
        connection = redis.from_url(redis_url)
        for key in connection.scan_iter(f"django_q:{name}:*"):
            connection.delete(key)
        connection.close()


def test_two_clusters_run_every_integration_and_account_once_per_slot(sandbox, cluster_name, tmp_path):
    sandbox.configure(**sandbox_settings(INTEGRATIONS, ACCOUNTS))
    slow_calls(sandbox, CALL_SECONDS)
    fleet = build_fleet(sandbox.url, INTEGRATIONS, ACCOUNTS)
    environment = cluster_environment(
        database_url=database_url(),
        redis_url=os.environ.get("REDIS_URL", "").strip(),
        cluster_name=cluster_name,
        work_dir=tmp_path / "work",
        settings_module="tests.settings",
        extra={"SECRET_KEY": settings.SECRET_KEY},  # the secrets' encryption key derives from it
    )
    clusters = start_clusters(CLUSTERS, environment, tmp_path)
    figures = []
    try:
        for number in range(1, SLOTS + 1):
            if number > 1:
                add_readings(fleet, number)
            slot = fleet.fire(clusters)
            wait_for_slot(fleet, slot, clusters, SLOT_SECONDS)
            figures.append(slot_figures(fleet, slot, clusters))
    finally:
        exits = [cluster.stop() for cluster in clusters]
    assert exits == [0] * CLUSTERS, [cluster.log()[-2000:] for cluster in clusters]

    for number, slot in enumerate(figures, start=1):
        print(
            f"slot {number}: queued by cluster {slot.queued_by_cluster}, run by cluster {slot.ran_by_cluster}, "
            f"runs per integration/account {slot.runs_per_slot()}, skipped {slot.skipped_runs}, "
            f"batch {slot.batch_seconds:.1f} s"
        )
    once_each = Counter(dict.fromkeys(fleet.schedule_names, 1))
    for number, slot in enumerate(figures, start=1):
        # One cluster's scheduler queued each due schedule; the other found it no longer due.
        assert slot.queued == once_each, f"slot {number}"
        assert slot.runs_per_slot() == (1, 1), f"slot {number}: {slot.real_runs}"
        assert slot.skipped_runs == 0, f"slot {number}"
        assert set(slot.statuses) <= {RunStatus.UPLOADED, SyncStatus.SYNCED}, f"slot {number}: {slot.statuses}"
        assert sum(slot.ran_by_cluster) == INTEGRATIONS + ACCOUNTS, f"slot {number}"
    assert overlaps(fleet) == 0
    found = duplicates(sandbox)
    assert found.total == 0, found
    assert found.raptormaps_files == INTEGRATIONS * SLOTS
    assert received_rows(sandbox) == expected_remote(fleet, SLOTS)


class SlowBroker:
    """The configured broker under a queue of the test's own, slowed down so that a scheduler's tick
    holds its schedules for a while; it notes the schedule (group) of each task it queues."""

    def __init__(self, queue):
        self.inner = get_broker(queue)
        self.groups = []
        self.seconds = None  # how long its tick took, waiting included

    def enqueue(self, task):
        time.sleep(0.005)
        self.groups.append(SignedPackage.loads(task)["group"])
        return self.inner.enqueue(task)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_two_schedulers_ticking_at_the_same_instant_queue_each_due_schedule_once(cluster_name):
    """What keeps two clusters from queueing one schedule twice: django-q2's tick locks the due
    schedules (SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite) and moves their next
    run in the same transaction; the other tick waits, then finds them no longer due."""
    due = timezone.now() - timedelta(seconds=1)
    names = [f"scale race {n:03d}" for n in range(100)]
    Schedule.objects.bulk_create(
        Schedule(name=name, func="math.floor", args="(1.5,)", schedule_type=Schedule.MINUTES, minutes=15, next_run=due)
        for name in names
    )
    brokers = [SlowBroker(cluster_name) for _ in range(2)]
    start = threading.Barrier(len(brokers))

    def tick(broker):
        try:
            start.wait()
            began = time.monotonic()
            scheduler(broker=broker)
            broker.seconds = time.monotonic() - began
        finally:
            connection.close()

    threads = [threading.Thread(target=tick, args=(broker,)) for broker in brokers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        queued = Counter(group for broker in brokers for group in broker.groups if group in names)
        print(
            "queued by each tick: " + ", ".join(f"{len(broker.groups)} in {broker.seconds:.2f} s" for broker in brokers)
        )
        assert queued == Counter(dict.fromkeys(names, 1))
        assert not Schedule.objects.filter(name__in=names, next_run__lte=timezone.now()).exists()
    finally:
        brokers[0].inner.purge_queue()


def test_a_qcluster_stopped_mid_slot_finishes_what_it_took_and_the_next_one_runs_the_rest(
    sandbox, cluster_name, tmp_path
):
    """An upgrade: SIGTERM to the qcluster, new code, a new qcluster. The stopped one finishes the
    tasks it had taken from the broker (running or waiting in its own queue) and exits; the rest
    stay in the broker (Redis, or the ORM queue table) for the next one. Nothing runs twice or is lost."""
    integrations, accounts = 12, 2
    sandbox.configure(**sandbox_settings(integrations, accounts))
    slow_calls(sandbox, 2 * CALL_SECONDS)  # long enough to stop it mid-slot
    fleet = build_fleet(sandbox.url, integrations, accounts)
    environment = cluster_environment(
        database_url=database_url(),
        redis_url=os.environ.get("REDIS_URL", "").strip(),
        cluster_name=cluster_name,
        work_dir=tmp_path / "work",
        settings_module="tests.settings",
        extra={"SECRET_KEY": settings.SECRET_KEY},
    )
    [old] = start_clusters(1, environment, tmp_path / "old")
    new = None
    try:
        slot = fleet.fire([old])
        wait_for(lambda: any(run.started_at for run in runs_of(fleet, slot)), SLOT_SECONDS, "a run to start")
        assert old.stop() == 0, old.log()[-2000:]
        runs = runs_of(fleet, slot)
        taken = len(runs)
        waiting = sum(waiting_in_broker(cluster_name, fleet.schedule_names).values())
        # Every run the stopped cluster started, it finished; the tasks it had not taken wait.
        assert all(run.finished_at for run in runs)
        assert 0 < taken < integrations + accounts
        assert waiting == integrations + accounts - taken

        [new] = start_clusters(1, environment, tmp_path / "new")
        wait_for(
            lambda: len(runs := runs_of(fleet, slot)) == integrations + accounts and all(r.finished_at for r in runs),
            SLOT_SECONDS,
            "the rest of the slot",
        )
    finally:
        if new is not None:
            assert new.stop() == 0, new.log()[-2000:]
    print(f"taken and finished by the stopped qcluster: {taken}; left in the broker for the next: {waiting}")
    figures = slot_figures(fleet, slot, [old])
    assert figures.runs_per_slot() == (1, 1)
    assert set(figures.statuses) <= {RunStatus.UPLOADED, SyncStatus.SYNCED}, figures.statuses
    assert not waiting_in_broker(cluster_name, fleet.schedule_names)
    assert duplicates(sandbox).total == 0
    assert received_rows(sandbox) == expected_remote(fleet, 1)


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")
