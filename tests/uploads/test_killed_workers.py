"""Workers killed mid-run: a real django-q2 cluster is SIGKILLed, whole, in the middle of a call.

Each test starts `manage.py qcluster` on the test database and broker (tests/fixtures/cluster.py),
queues the real task as the admin's "Upload now" / "Sync now" does, holds one call open in the
sandbox (a ``delay`` fault: the sandbox does the work only when the delay ends, after the kill,
so the receiver has it and the client never heard back), and kills every process of the cluster.
Then a fresh cluster runs the reaper, which marks the run interrupted once its lease lapsed,
and the next run, which must finish the work without loss and without anything the receiver
would count twice.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.models import OrmQ, Task
from django_q.tasks import async_task

from portfolio.models import Asset, BillReading, IntervalReading
from tests.uploads.expectations import HEADERS, assert_values_match, expected_rows
from tests.uploads.test_raptormaps_workers import received_rows_of, wait_for
from uploads.models import (
    Lease,
    RunStatus,
    RunTrigger,
    SyncRun,
    SyncStatus,
    UploadPart,
    UploadRun,
    UploadWatermark,
    WattCarbonAssetLink,
    WattCarbonMeterLink,
)
from uploads.raptormaps.service import enqueue_upload
from uploads.raptormaps.service import lease_name as upload_lease
from uploads.reaper import reap_interrupted_runs
from uploads.wattcarbon.service import enqueue_sync
from uploads.wattcarbon.service import lease_name as sync_lease

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries")]

WC = "wattcarbon"
LEASE_SECONDS = 3
HELD = 300  # seconds a held call waits for the kill; the test ends it sooner (clear_faults)
# A busy two-core machine starts a cluster in a few seconds; a run takes one or two.
STARTUP = 120
# The sandbox logs a call once it has its headers; the small body follows at once. This much
# later the request has surely been sent whole, and the worker waits for the held answer.
SEND = 0.5
INTERRUPTED = "Interrupted: its worker stopped before finishing (its lease lapsed at"

# Every cluster of these tests: a short lease, and calls that wait for the sandbox's held answer.
CLUSTER_ENV = {"UPLOADS_LEASE_SECONDS": LEASE_SECONDS, "UPLOADS_HTTP_READ_TIMEOUT": HELD}


def finished(model, pk):
    run = model.objects.get(pk=pk)
    return run if run.is_finished else None


def wait_finished(model, pk, cluster):
    wait_for(lambda: finished(model, pk), seconds=STARTUP, what=f"{model.__name__} #{pk} to finish\n{cluster.output()}")
    return model.objects.get(pk=pk)


def wait_for_lapse(name):
    """Until the dead worker's lease has lapsed: from then on, nobody is holding it."""
    lease = Lease.objects.get(name=name)
    assert lease.owner, "the killed run held the lease"
    wait_for(lambda: timezone.now() > lease.expires_at, seconds=LEASE_SECONDS + 10, what="the lease to lapse")


def reap_on(cluster, model, pk):
    """The reaper's task, run by a worker of ``cluster`` (as its every-minute schedule does)."""
    async_task("uploads.tasks.reap_interrupted_runs")
    interrupted = wait_finished(model, pk, cluster)
    assert interrupted.status == "abandoned", interrupted.log
    assert interrupted.get_status_display() == "interrupted (its worker stopped)"
    return interrupted


def killed_task_left_in_queue(run):
    """What the broker still holds of the killed run's task: an OrmQ row (redelivered after ``retry``), or nothing.

    Redis hands a task out once (BLPOP): a cluster killed with it loses it. The ORM broker
    locks it for ``retry`` seconds and hands it out again when they have passed.
    """
    broker = get_broker()
    if isinstance(broker, ORM):
        return [row for row in OrmQ.objects.filter(key=broker.list_key) if row.task["args"][-1:] == (run.pk,)]
    assert broker.connection.llen(broker.list_key) == 0
    return None


# -- Raptor Maps: killed in the middle of the PUT -----------------------------------------------------------


def test_a_cluster_killed_mid_put_leaves_an_interrupted_run_whose_readings_the_next_run_sends(
    sandbox, integration, clusters
):
    farm = integration.covered_farms().get()
    sandbox.fault("put", mode="delay", seconds=HELD)
    first = clusters(**CLUSTER_ENV)
    killed = enqueue_upload(integration, RunTrigger.ADMIN)
    wait_for(lambda: sandbox.calls("put"), seconds=STARTUP, what=f"the PUT to start\n{first.output()}")
    time.sleep(SEND)
    first.kill()
    killed_at = time.monotonic()

    killed.refresh_from_db()
    assert killed.status == RunStatus.RUNNING  # nobody was left to say otherwise
    assert not UploadWatermark.objects.exists()
    [part] = UploadPart.objects.filter(run=killed)
    assert part.status == UploadPart.Status.PENDING
    # Let the held PUT through: the sandbox stores the file the dead worker had sent whole.
    sandbox.clear_faults()
    wait_for(lambda: sandbox.uploads(), what="the killed run's file to be stored")

    # A fresh cluster; once the dead worker's lease has lapsed, the reaper's task marks the run.
    second = clusters(**CLUSTER_ENV)
    wait_for_lapse(upload_lease(integration))
    killed = reap_on(second, UploadRun, killed.pk)
    print(f"killed mid-PUT; marked interrupted {time.monotonic() - killed_at:.1f} s later (lease {LEASE_SECONDS} s)")
    assert INTERRUPTED in killed.log
    assert "The watermarks did not move, so the next run sends its readings again." in killed.log
    assert not Lease.objects.get(name=upload_lease(integration)).owner, "the reaper freed the dead worker's lease"

    # The killed task is not run again: Redis lost it with the cluster; the ORM broker hands it
    # out again after `retry` (35 minutes), long after the reaper, and the task refuses an
    # interrupted run. Here the retry period is made to pass at once.
    left = killed_task_left_in_queue(killed)
    if left is not None:
        [task] = left
        assert task.func() == "uploads.tasks.upload_raptormaps"
        OrmQ.objects.filter(pk=task.pk).update(lock=timezone.now())
        wait_for(lambda: Task.objects.filter(id=task.task_id()).exists(), seconds=STARTUP, what="the redelivery")
        assert Task.objects.get(id=task.task_id()).result == f"run #{killed.pk}: interrupted (its worker stopped)"
    puts = len(sandbox.calls("put"))

    resumed = enqueue_upload(integration, RunTrigger.ADMIN)
    resumed = wait_finished(UploadRun, resumed.pk, second)
    assert resumed.status == RunStatus.UPLOADED, f"{resumed.error}\n{resumed.log}"
    assert len(sandbox.calls("put")) == puts + 1, "the redelivered task sent nothing"
    assert UploadWatermark.objects.get(farm=farm).run == resumed
    assert resumed.window == killed.window, "the next run sends the interrupted run's window again"

    # Raptor Maps received the file twice: the same bytes both times (one SHA-256), every row the
    # contract's, values as recomputed from the observations. The PUT's outcome is unknowable
    # from a signed URL, so it is sent again: at least once, never a different value.
    uploads = sandbox.uploads()
    assert [upload["valid"] for upload in uploads] == [True, True]
    [resent] = UploadPart.objects.filter(run=resumed)
    assert {upload["sha256"] for upload in uploads} == {part.sha256} == {resent.sha256}
    rows = received_rows_of(sandbox, uploads[-1])
    assert list(rows[0]) == HEADERS
    assert_values_match(rows, expected_rows(farm))


def test_the_reaper_leaves_a_live_run_alone_while_its_worker_renews_the_lease(sandbox, integration, clusters):
    # The worker waits out six Retry-Afters of 2 s: about 12 s, longer than its 5 s lease, renewing it as it waits.
    sandbox.fault("signed_url", status=503, retry_after=2, times=6)
    cluster = clusters(UPLOADS_LEASE_SECONDS=5, UPLOADS_RETRY_MAX_ATTEMPTS=7)
    run = enqueue_upload(integration, RunTrigger.ADMIN)
    wait_for(lambda: sandbox.calls("signed_url"), seconds=STARTUP, what=f"the run to start\n{cluster.output()}")
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    wait_for(lambda: timezone.now() > run.started_at + timedelta(seconds=6), what="a lease's length")

    checks = 0
    while not finished(UploadRun, run.pk) and len(sandbox.calls("signed_url")) < 7:
        assert reap_interrupted_runs() == []
        checks += 1
        time.sleep(0.5)
    run = wait_finished(UploadRun, run.pk, cluster)
    assert checks, "the run ended before the reaper could look at it"
    assert run.status == RunStatus.UPLOADED, f"{run.error}\n{run.log}"
    assert "Interrupted" not in run.log
    print(f"the reaper looked at the live run {checks} time(s) past its lease's length and left it alone")


# -- WattCarbon: killed in the middle of a create, and of an interval upload ----------------------------------


def killed_sync(sandbox, account, clusters, operation):
    """Queue a sync, hold its first ``operation`` call, kill the cluster, let the held call through.

    Returns the interrupted sync (reaped by a fresh cluster) and that cluster.
    """
    sandbox.fault(operation, service=WC, mode="delay", seconds=HELD)
    first = clusters(**CLUSTER_ENV)
    sync = enqueue_sync(account, RunTrigger.ADMIN)
    wait_for(lambda: sandbox.calls(operation, service=WC), seconds=STARTUP, what=f"{operation}\n{first.output()}")
    time.sleep(SEND)
    first.kill()
    sync.refresh_from_db()
    assert sync.status == SyncStatus.RUNNING
    sandbox.clear_faults()  # the sandbox does what it was asked; nobody hears the answer
    wait_for(lambda: sandbox.calls(operation, service=WC)[0]["duration_ms"] is not None, what="the held call")

    second = clusters(**CLUSTER_ENV)
    wait_for_lapse(sync_lease(account))
    sync = reap_on(second, SyncRun, sync.pk)
    assert INTERRUPTED in sync.log
    assert "What it had saved stays; the next sync goes on from there." in sync.log
    return sync, second


def next_sync(account, cluster):
    sync = enqueue_sync(account, RunTrigger.ADMIN)
    sync = wait_finished(SyncRun, sync.pk, cluster)
    assert sync.status == SyncStatus.SYNCED, f"{sync.error}\n{sync.log}"
    return sync


def assert_everything_once(sandbox, account):
    """WattCarbon holds each meter and asset once, linked to ours, and each meter's readings as stored here."""
    state = sandbox.wattcarbon()
    meters = {meter["id"]: meter for meter in state["meters"]}
    links = WattCarbonMeterLink.objects.filter(account=account).select_related("meter")
    assert sorted(meters) == sorted(link.remote_id for link in links), "a meter was created twice"
    custom_ids = [asset["customId"] for asset in state["assets"]]
    assert sorted(custom_ids) == sorted(Asset.objects.values_list("custom_id", flat=True)), "an asset twice"
    remote_assets = {asset["customId"]: str(asset["id"]) for asset in state["assets"]}
    assert {link.asset.custom_id: link.remote_id for link in WattCarbonAssetLink.objects.filter(account=account)} == (
        remote_assets
    )
    for link in links:
        stored = IntervalReading.objects.filter(meter=link.meter).order_by("start")
        received = sandbox.wattcarbon_intervals(link.remote_id)
        assert [row["start_datetime"] for row in received] == [reading.start.isoformat() for reading in stored]
        assert [row["energy_kwh"] for row in received] == [pytest.approx(reading.energy_kwh) for reading in stored]
        assert meters[link.remote_id]["intervals"] == stored.count()
        bills = BillReading.objects.filter(meter=link.meter).order_by("start_date")
        assert [row["start_date"] for row in sandbox.wattcarbon_bills(link.remote_id)] == [
            f"{bill.start_date:%Y-%m-%d}" for bill in bills
        ]


def test_a_cluster_killed_mid_asset_create_leaves_one_asset_the_next_sync_finds_by_custom_id(
    sandbox, demo_account, clusters
):
    _, cluster = killed_sync(sandbox, demo_account, clusters, "create_asset")
    # The killed sync had created the meters (their ids saved the moment they were known) and
    # sent their readings; the asset it was creating exists on WattCarbon, unknown here.
    [orphan] = sandbox.wattcarbon()["assets"]
    link = WattCarbonAssetLink.objects.get(account=demo_account, asset__custom_id=orphan["customId"])
    assert not link.remote_id
    meters_before = len(sandbox.wattcarbon()["meters"])
    assert meters_before == WattCarbonMeterLink.objects.filter(remote_id__isnull=False).count() == 3

    sync = next_sync(demo_account, cluster)

    link.refresh_from_db()
    assert link.remote_id == str(orphan["id"]), "linked to the asset the killed sync created"
    assert f"Asset {orphan['customId']} already exists on WattCarbon; linked it." in sync.log
    assert sync.meters_created == 0 and len(sandbox.wattcarbon()["meters"]) == meters_before
    # The one create of it the next sync sent was refused for its customId (409): no twin.
    creates = sandbox.calls("create_asset", service=WC)
    assert creates[0]["fault"] == "delay", "the killed sync's create"
    assert [call["status"] for call in creates[1:]].count(409) == 1
    assert_everything_once(sandbox, demo_account)


def test_a_cluster_killed_mid_interval_upload_leaves_rows_the_receiver_replaces_not_doubles(
    sandbox, demo_account, clusters
):
    _, cluster = killed_sync(sandbox, demo_account, clusters, "upload_intervals")
    uploads = sandbox.wattcarbon()["uploads"]  # the bills that went before it, and the held file
    # Files go up several at a time: another meter's may have been accepted while this one was held.
    held = sandbox.calls("upload_intervals", service=WC)[0]
    assert held["fault"] == "delay"
    [stored] = [  # stored after the kill
        upload
        for upload in uploads
        if upload["kind"] == "intervals" and f"/meters/{upload['meterId']}/" in held["path"]
    ]
    assert stored["inserted"] == stored["received"] > 0
    meter_link = WattCarbonMeterLink.objects.get(account=demo_account, remote_id=stored["meterId"])
    assert meter_link.intervals_through_id is None, "its watermark did not move"

    sync = next_sync(demo_account, cluster)

    # The next sync sent the same rows again; WattCarbon keys intervals by meter and start
    # [assumed, contracts.md 2.2], so it replaced them: nothing counted twice.
    resent = [
        upload
        for upload in sandbox.wattcarbon()["uploads"][len(uploads) :]
        if upload["meterId"] == stored["meterId"] and upload["kind"] == "intervals"
    ]
    assert resent[0]["received"] == stored["received"] and resent[0]["updated"] == stored["received"]
    assert resent[0]["inserted"] == 0
    assert sync.meters_created == 0
    assert_everything_once(sandbox, demo_account)
