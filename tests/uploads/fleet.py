"""A fleet of scheduled Raptor Maps integrations and WattCarbon accounts, worked by real `qcluster` processes.

Shared by tests/uploads/test_scale_out.py (which asserts) and bench/scale_out.py (which measures):
the fleet against the sandbox, slots (every schedule due at one instant), the worker processes,
and what a slot did: what the schedulers queued, the runs, overlaps and duplicates.

Each integration covers one farm, each account one portfolio of meters and assets, each on its
own org integration or WattCarbon account in the sandbox, so the sandbox's state tells who sent
what. A ``delay`` fault on the calls that carry data (a Raptor Maps PUT, a WattCarbon interval
upload) makes a run wait on the network as it would on the real services.
"""

import contextlib
import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django_q import core_signing as signing
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.models import OrmQ, Schedule, Task
from django_q.signing import PickleSerializer

from portfolio.models import Asset, IntervalReading, Meter, Observation, Portfolio, Sensor
from sandbox import raptormaps as rm_defaults
from tests.uploads.integrations import make_farm_with_readings, reading_value
from uploads.models import RaptorMapsIntegration, RunStatus, SyncRun, SyncStatus, UploadRun, WattCarbonAccount
from uploads.runs.schedules import raptormaps_schedule_name, wattcarbon_schedule_name
from uploads.secrets import Secret

ROOT = Path(settings.BASE_DIR)
FIRST_ORG_INTEGRATION = 201
READINGS_START = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
READINGS_HOURS = 6  # of 5-minute readings per farm before the first slot
INTERVALS_START = datetime(2024, 6, 1, tzinfo=UTC)
INTERVAL_HOURS = 48  # of hourly intervals per meter before the first slot
SLOT_HOURS = 1  # new readings (and 24 new intervals) ingested before each later slot
SKIPPED = (RunStatus.SKIPPED, SyncStatus.SKIPPED)
# The django-q2 scheduler logs one line per task it queues from a schedule.
SCHEDULED_LINE = re.compile(r"created task \S+ from schedule \[(?P<name>[^\]]+)\]")


def wattcarbon_login(n):
    return {
        "email": f"fleet-{n}@wattcarbon.invalid",
        "api_key": f"fleet-wattcarbon-key-{n:02d}",
        "account_id": f"fleet-{n}",
    }


def sandbox_settings(integrations, accounts):
    """The sandbox's start settings: one org integration per integration, one login per account."""
    return {
        "raptormaps": {"org_integrations": [{"id": FIRST_ORG_INTEGRATION + n} for n in range(integrations)]},
        "wattcarbon": {"accounts": [wattcarbon_login(n) for n in range(accounts)]},
    }


def slow_calls(sandbox, seconds, times=10_000):
    """Every call that carries data waits ``seconds`` first: a Raptor Maps PUT, a WattCarbon interval upload."""
    sandbox.fault("put", mode="delay", seconds=seconds, times=times)
    # An account's two meters each upload once a slot: half the wait each, so a sync waits as long as an upload.
    sandbox.fault("upload_intervals", service="wattcarbon", mode="delay", seconds=seconds / 2, times=times)


@dataclass
class Fleet:
    integrations: list
    accounts: list
    slots: list = field(default_factory=list)

    @property
    def schedule_names(self):
        return [raptormaps_schedule_name(i.pk) for i in self.integrations] + [
            wattcarbon_schedule_name(a.pk) for a in self.accounts
        ]

    def park(self):
        """Move every schedule of the fleet a day ahead, so that only a slot makes them due."""
        Schedule.objects.filter(name__in=self.schedule_names).update(next_run=timezone.now() + timedelta(days=1))

    def fire(self, clusters):
        """Make every schedule of the fleet due now, as when a slot comes round; return the slot."""
        # Where the runs and the logs stand first: a tick may follow the update at once.
        slot = Slot(
            fired_at=timezone.now(),
            after_upload=_last_pk(UploadRun),
            after_sync=_last_pk(SyncRun),
            log_offsets=[cluster.log_path.stat().st_size for cluster in clusters],
        )
        due = Schedule.objects.filter(name__in=self.schedule_names)
        updated = due.update(next_run=slot.fired_at - timedelta(seconds=1))
        assert updated == len(self.schedule_names), f"{updated} of {len(self.schedule_names)} schedules found"
        self.slots.append(slot)
        return slot


def _last_pk(model):
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@dataclass
class Slot:
    fired_at: datetime
    after_upload: int
    after_sync: int
    log_offsets: list = field(default_factory=list)  # where each cluster's log stood: the slot reads on from there


def build_fleet(sandbox_url, integrations, accounts, meters_per_account=2):
    """``integrations`` Raptor Maps integrations with a farm each and ``accounts`` WattCarbon accounts.

    Saving them creates their schedules (uploads/signals.py), due a little later; slots make them due.
    """
    ingested = timezone.now() - timedelta(hours=1)
    farms_portfolio = Portfolio.objects.create(name="Fleet farms", slug="fleet-farms")
    made = []
    for n in range(integrations):
        farm = make_farm_with_readings(
            farms_portfolio,
            farm_id=f"FLEET-{n:02d}",
            start=READINGS_START,
            hours=READINGS_HOURS,
            ingested_at=ingested,
        )
        integration = RaptorMapsIntegration(
            name=f"Fleet integration {n:02d}",
            base_url=sandbox_url,
            client_id=rm_defaults.DEFAULT_CLIENT_ID,
            client_secret=Secret(rm_defaults.DEFAULT_CLIENT_SECRET),
            org_id=rm_defaults.DEFAULT_ORG_ID,
            integration_id=FIRST_ORG_INTEGRATION + n,
        )
        integration.full_clean()
        integration.save()
        integration.farms.set([farm])
        made.append(integration)
    made_accounts = []
    for n in range(accounts):
        portfolio = Portfolio.objects.create(name=f"Fleet portfolio {n}", slug=f"fleet-{n}")
        for m in range(meters_per_account):
            meter = Meter.objects.create(
                portfolio=portfolio, name=f"Site {n}-{m} main meter", address=f"{10 + m} Main St Springfield IL"
            )
            asset = Asset(
                portfolio=portfolio,
                name=f"Site {n}-{m} storage",
                custom_id=f"FLEET-{n}-{m}",
                kind="storage_direct",
                timezone="America/Chicago",
                utility="Ameren Illinois",
                address=f"{10 + m} Main St Springfield IL",
            )
            asset.full_clean()
            asset.save()
            asset.meters.set([meter])
            _add_intervals(meter, INTERVALS_START, INTERVAL_HOURS, ingested)
        login = wattcarbon_login(n)
        account = WattCarbonAccount(
            name=f"Fleet account {n}",
            portfolio=portfolio,
            base_url=sandbox_url,
            email=login["email"],
            api_key=Secret(login["api_key"]),
            account_id=login["account_id"],
        )
        account.full_clean()
        account.save()
        made_accounts.append(account)
    fleet = Fleet(made, made_accounts)
    fleet.park()
    return fleet


def _add_intervals(meter, start, hours, ingested_at):
    IntervalReading.objects.bulk_create(
        IntervalReading(
            meter=meter,
            start=start + timedelta(hours=h),
            end=start + timedelta(hours=h + 1),
            quantity=10.0 + (h % 24) * 0.5,
            ingested_at=ingested_at,
        )
        for h in range(hours)
    )


def add_readings(fleet, slot_number):
    """New readings for slot ``slot_number`` (2, 3, ...), after any sent: an hour more per farm, a day per meter."""
    ingested = timezone.now()
    later = slot_number - 2
    step_first = (READINGS_HOURS + later * SLOT_HOURS) * 12
    sensors = Sensor.objects.filter(equipment__farm__raptormaps_integrations__in=fleet.integrations)
    Observation.objects.bulk_create(
        Observation(
            sensor=sensor,
            observed_at=READINGS_START + timedelta(minutes=5 * step),
            value=reading_value(sensor.sensor_type, step),
            ingested_at=ingested,
        )
        for sensor in sensors
        for step in range(step_first, step_first + SLOT_HOURS * 12)
    )
    for meter in Meter.objects.filter(portfolio__wattcarbon_accounts__in=fleet.accounts):
        _add_intervals(meter, INTERVALS_START + timedelta(hours=INTERVAL_HOURS + 24 * later), 24, ingested)


# -- the worker processes ------------------------------------------------------------------------


def _die_with_parent():
    """In a qcluster: SIGTERM when the process that started it dies, however it dies (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class QCluster:
    """``manage.py qcluster`` in its own process and session, as on its own host; its log in a file."""

    def __init__(self, environment, log_path):
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def alive(self):
        return self.process.poll() is None

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self, seconds=120):
        """SIGTERM, as a supervisor stops it: it finishes the tasks it holds, then exits. Killed after ``seconds``."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        else:
            # Its sentinel and workers may outlive it; they are in its session.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if not self._log.closed:
            self._log.close()
        return self.process.returncode


def cluster_environment(*, database_url, redis_url, cluster_name, work_dir, settings_module, extra=None):
    """What every qcluster of a fleet runs with: the same database, broker and cluster name on every host."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": database_url,
        "Q_CLUSTER_NAME": cluster_name,
        "UPLOADS_INGEST_SAFETY_LAG_SECONDS": "0",  # readings count as complete at once
        "UPLOADS_WORK_DIR": str(work_dir),
        "PYTHONUNBUFFERED": "1",
        **(extra or {}),
    }
    environment.pop("REDIS_URL", None)
    if redis_url:
        environment["REDIS_URL"] = redis_url
    return environment


def start_clusters(count, environment, log_dir):
    return [QCluster(environment, Path(log_dir) / f"qcluster-{n + 1}.log") for n in range(count)]


def scheduled_by(slot, clusters, names):
    """[Counter(schedule name → tasks queued)] per cluster, from its log since the slot fired."""
    counts = []
    for cluster, offset in zip(clusters, slot.log_offsets, strict=True):
        with cluster.log_path.open("rb") as stream:
            stream.seek(offset)
            text = stream.read().decode(errors="replace")
        counts.append(Counter(m["name"] for m in SCHEDULED_LINE.finditer(text) if m["name"] in names))
    return counts


def slot_runs(fleet, slot):
    uploads = list(UploadRun.objects.filter(pk__gt=slot.after_upload, integration__in=fleet.integrations))
    syncs = list(SyncRun.objects.filter(pk__gt=slot.after_sync, account__in=fleet.accounts))
    return uploads, syncs


def runs_of(fleet, slot):
    """Every run of the slot, uploads and syncs together."""
    uploads, syncs = slot_runs(fleet, slot)
    return uploads + syncs


def waiting_in_broker(cluster_name, names):
    """Counter(schedule name → tasks of it waiting in the broker of the cluster ``cluster_name``), on either broker."""
    broker = get_broker(cluster_name)
    if isinstance(broker, ORM):
        payloads = OrmQ.objects.filter(key=broker.list_key).values_list("payload", flat=True)
    else:
        payloads = broker.connection.lrange(broker.list_key, 0, -1)
    # Tasks are signed with SECRET_KEY, salted with the cluster name (django_q.signing).
    unsign = partial(signing.loads, key=settings.SECRET_KEY, salt=cluster_name, serializer=PickleSerializer)
    groups = (unsign(payload).get("group") for payload in payloads)
    return Counter(group for group in groups if group in names)


def wait_for_slot(fleet, slot, clusters, seconds):
    """Until every schedule was queued and its task ran, and every run of the slot has finished.

    Done means: each schedule queued at least once (the clusters' logs), as many tasks of the
    fleet's schedules finished since the slot fired as were queued (django-q2's task table), and
    no run of the slot left queued or running. A task queued twice is waited for too.
    """
    names = set(fleet.schedule_names)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for cluster in clusters:
            if not cluster.alive():
                code = cluster.process.returncode
                raise AssertionError(f"a qcluster stopped (exit {code}):\n{cluster.log()[-3000:]}")
        queued = sum(scheduled_by(slot, clusters, names), Counter())
        if set(queued) == names:
            finished = Task.objects.filter(group__in=names, started__gte=slot.fired_at).count()
            uploads, syncs = slot_runs(fleet, slot)
            settled = all(run.finished_at for run in uploads + syncs)
            if finished >= sum(queued.values()) and settled:
                return
        time.sleep(0.25)
    logs = "\n".join(f"--- {c.log_path.name}\n{c.log()[-2000:]}" for c in clusters)
    raise AssertionError(f"the slot fired at {slot.fired_at} did not finish within {seconds} s\n{logs}")


# -- what a slot did ---------------------------------------------------------------------------------


@dataclass
class SlotFigures:
    queued: Counter  # schedule name → tasks the schedulers queued for it
    queued_by_cluster: list  # tasks queued by each cluster
    ran_by_cluster: list  # tasks each cluster's workers ran
    real_runs: Counter  # ("integration"|"account", pk) → runs that did the work
    skipped_runs: int  # runs that found another run of theirs holding the lease
    statuses: Counter
    batch_seconds: float  # first run started → last run finished
    due_to_done_seconds: float  # the schedules due → last run finished (includes the scheduler's tick)
    mean_run_seconds: float  # of the runs that did the work

    def runs_per_slot(self):
        """(fewest, most) real runs of any one integration or account in the slot."""
        values = list(self.real_runs.values())
        return min(values), max(values)


def slot_figures(fleet, slot, clusters):
    names = set(fleet.schedule_names)
    queued_by = scheduled_by(slot, clusters, names)
    uploads, syncs = slot_runs(fleet, slot)
    real = Counter()
    for owner in fleet.integrations:
        real["integration", owner.pk] += 0
    for owner in fleet.accounts:
        real["account", owner.pk] += 0
    for run in uploads:
        if run.status not in SKIPPED:
            real["integration", run.integration_id] += 1
    for run in syncs:
        if run.status not in SKIPPED:
            real["account", run.account_id] += 1
    runs = [*uploads, *syncs]
    worked = [run for run in runs if run.status not in SKIPPED]
    return SlotFigures(
        queued=sum(queued_by, Counter()),
        queued_by_cluster=[sum(c.values()) for c in queued_by],
        ran_by_cluster=[_tasks_run(c, offset) for c, offset in zip(clusters, slot.log_offsets, strict=True)],
        real_runs=real,
        skipped_runs=len(runs) - len(worked),
        statuses=Counter(run.status for run in runs),
        batch_seconds=(max(r.finished_at for r in worked) - min(r.started_at for r in worked)).total_seconds(),
        due_to_done_seconds=(max(r.finished_at for r in runs) - slot.fired_at).total_seconds(),
        mean_run_seconds=sum((r.finished_at - r.started_at).total_seconds() for r in worked) / len(worked),
    )


def _tasks_run(cluster, offset):
    with cluster.log_path.open("rb") as stream:
        stream.seek(offset)
        text = stream.read().decode(errors="replace")
    return len(re.findall(r"processing \S+ 'uploads\.tasks\.(?:upload_raptormaps|sync_wattcarbon)'", text))


def overlaps(fleet):
    """Pairs of real runs of one integration (or account) whose [started_at, finished_at] intersect, over every slot."""
    spans = defaultdict(list)
    for run in UploadRun.objects.filter(integration__in=fleet.integrations).exclude(status__in=SKIPPED):
        spans["integration", run.integration_id].append((run.started_at, run.finished_at))
    for run in SyncRun.objects.filter(account__in=fleet.accounts).exclude(status__in=SKIPPED):
        spans["account", run.account_id].append((run.started_at, run.finished_at))
    found = 0
    for owned in spans.values():
        owned.sort()
        for n, (_, end) in enumerate(owned):
            found += sum(1 for start, _ in owned[n + 1 :] if end is None or start < end)
    return found


@dataclass
class Duplicates:
    raptormaps_rows: int  # (farm, equipment, sensor, time) rows received in more than one file, counted past the first
    raptormaps_files: int  # files received
    wattcarbon_meters: int  # meters created twice (same account and name), past the first
    wattcarbon_assets: int  # assets created twice (same account and customId), past the first
    wattcarbon_rows: int  # interval rows received again (the sandbox's "updated")

    @property
    def total(self):
        return self.raptormaps_rows + self.wattcarbon_meters + self.wattcarbon_assets + self.wattcarbon_rows


def duplicates(sandbox):
    """What the sandbox received twice; ``sandbox`` is a SandboxControl."""
    state = sandbox.state()
    seen = Counter()
    files = state["raptormaps"]["uploads"]
    for upload in files:
        for row in csv.DictReader(io.StringIO(sandbox.upload_content(upload["key"]).decode())):
            key = ("farm_id", "equipment_id", "sensor_id", "sensor_type", "observation_time")
            seen[tuple(row[column] for column in key)] += 1
    wattcarbon = state["wattcarbon"]
    meters = Counter((meter["accountId"], meter["name"]) for meter in wattcarbon["meters"])
    assets = Counter((asset["accountId"], asset["customId"]) for asset in wattcarbon["assets"])
    return Duplicates(
        raptormaps_rows=sum(count - 1 for count in seen.values()),
        raptormaps_files=len(files),
        wattcarbon_meters=sum(count - 1 for count in meters.values()),
        wattcarbon_assets=sum(count - 1 for count in assets.values()),
        wattcarbon_rows=sum(upload["updated"] for upload in wattcarbon["uploads"]),
    )


def expected_remote(fleet, slots, meters_per_account=2):
    """(Raptor Maps rows, WattCarbon interval rows) the sandbox should hold after ``slots`` slots."""
    hours = READINGS_HOURS + (slots - 1) * SLOT_HOURS
    sensors = Sensor.objects.filter(equipment__farm__raptormaps_integrations__in=fleet.integrations).count()
    rm_rows = sensors * hours * 4  # one row per sensor and 15-minute bucket
    wc_rows = len(fleet.accounts) * meters_per_account * (INTERVAL_HOURS + 24 * (slots - 1))
    return rm_rows, wc_rows


def received_rows(sandbox):
    state = sandbox.state()
    rm_rows = sum(upload["rows"] or 0 for upload in state["raptormaps"]["uploads"])
    wc_rows = sum(upload["inserted"] for upload in state["wattcarbon"]["uploads"])
    return rm_rows, wc_rows


__all__ = [
    "Duplicates",
    "Fleet",
    "QCluster",
    "Slot",
    "SlotFigures",
    "add_readings",
    "build_fleet",
    "cluster_environment",
    "duplicates",
    "expected_remote",
    "overlaps",
    "received_rows",
    "runs_of",
    "sandbox_settings",
    "slot_figures",
    "slot_runs",
    "slow_calls",
    "start_clusters",
    "wait_for_slot",
    "waiting_in_broker",
]
