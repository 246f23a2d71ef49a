"""The reaper of interrupted runs: a run whose lease lapsed is marked interrupted; a live one never is.

Here the runs and their leases are set up as a worker leaves them (a lease taken, then renewed
or left to lapse); tests/uploads/test_killed_workers.py kills real clusters.
"""

import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from tests.uploads.accounts import make_account
from tests.uploads.integrations import make_integration
from uploads import tasks
from uploads.models import Lease, RunStatus, RunTrigger, SyncRun, SyncStatus, UploadRun
from uploads.raptormaps.service import lease_name as upload_lease
from uploads.raptormaps.service import run_upload, work_dir
from uploads.reaper import reap_interrupted_runs
from uploads.runs.leases import LeaseHolder, LeaseLost
from uploads.wattcarbon.service import lease_name as sync_lease

pytestmark = pytest.mark.django_db


def running(model, owner_field, owner, lease_name):
    """A run as its worker leaves it while it works: running, holding its lease."""
    run = model.objects.create(
        **{owner_field: owner}, trigger=RunTrigger.SCHEDULE, status="running", started_at=timezone.now()
    )
    holder = LeaseHolder(lease_name(owner), seconds=60)
    assert holder.acquire()
    return run, holder


def lapse(name):
    """The worker stopped renewing a while ago."""
    Lease.objects.filter(name=name).update(expires_at=timezone.now() - timedelta(seconds=5))


@pytest.fixture
def integration():
    return make_integration(enabled=False)


@pytest.fixture
def account():
    return make_account(enabled=False)


def test_a_run_whose_lease_lapsed_is_marked_interrupted_with_a_log_line_and_its_lease_freed(
    integration, settings, tmp_path, caplog
):
    settings.UPLOADS_WORK_DIR = tmp_path
    run, _ = running(UploadRun, "integration", integration, upload_lease)
    work_dir(run).mkdir()
    lapse(upload_lease(integration))

    with caplog.at_level(logging.WARNING, logger="uploads.reaper"):
        assert tasks.reap_interrupted_runs() == f"1 run(s) without a worker marked interrupted: UploadRun #{run.pk}"

    run.refresh_from_db()
    assert run.status == RunStatus.ABANDONED
    assert run.get_status_display() == "interrupted (its worker stopped)"
    assert run.finished_at is not None
    assert "Interrupted: its worker stopped before finishing (its lease lapsed at " in run.log
    assert "found by the reaper). The watermarks did not move, so the next run sends its readings again." in run.log
    [record] = caplog.records
    assert record.getMessage().startswith(f"Upload run #{run.pk} of {integration}: its worker stopped (lease lapsed at")
    assert "Marked interrupted; the next run does its work." in record.getMessage()
    lease = Lease.objects.get(name=upload_lease(integration))
    assert (lease.owner, lease.expires_at) == ("", None)
    assert not work_dir(run).exists()
    assert reap_interrupted_runs() == [], "an interrupted run is not reaped again"


def test_a_sync_whose_lease_lapsed_is_marked_interrupted(account):
    sync, _ = running(SyncRun, "account", account, sync_lease)
    lapse(sync_lease(account))

    assert reap_interrupted_runs() == [sync]

    sync.refresh_from_db()
    assert sync.status == SyncStatus.ABANDONED
    assert sync.get_status_display() == "interrupted (its worker stopped)"
    assert "What it had saved stays; the next sync goes on from there." in sync.log


def test_runs_whose_worker_renews_the_lease_are_left_alone(integration, account):
    run, upload_holder = running(UploadRun, "integration", integration, upload_lease)
    sync, sync_holder = running(SyncRun, "account", account, sync_lease)
    # Started long ago: only the renewed lease says they are alive.
    UploadRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(hours=3))
    upload_holder.keep_alive(force=True)
    sync_holder.keep_alive(force=True)

    assert reap_interrupted_runs() == []

    run.refresh_from_db()
    sync.refresh_from_db()
    assert (run.status, sync.status) == ("running", "running")
    upload_holder.keep_alive(force=True)  # still theirs
    sync_holder.keep_alive(force=True)


def test_a_silent_worker_whose_run_was_reaped_loses_its_lease_before_it_can_move_a_watermark(integration):
    run, holder = running(UploadRun, "integration", integration, upload_lease)
    lapse(upload_lease(integration))
    assert reap_interrupted_runs() == [run]

    with pytest.raises(LeaseLost, match="lapsed and was taken over"):
        holder.keep_alive(force=True)


def test_a_dead_run_the_next_run_is_taking_over_is_left_to_that_run(integration):
    dead, _ = running(UploadRun, "integration", integration, upload_lease)
    lapse(upload_lease(integration))
    successor = LeaseHolder(upload_lease(integration))
    assert successor.acquire()  # the next run took the lapsed lease: it marks the dead run itself

    assert reap_interrupted_runs() == []
    dead.refresh_from_db()
    assert dead.status == "running"
    successor.keep_alive(force=True)


def test_a_running_run_with_no_lease_at_all_is_interrupted(integration):
    # Its worker released the lease but died before it could record the outcome (a lost database).
    run, holder = running(UploadRun, "integration", integration, upload_lease)
    holder.release()

    assert reap_interrupted_runs() == [run]


def test_after_the_reaper_the_next_run_starts_at_once_and_has_nobody_left_to_interrupt(
    sandbox, integration, sync_worker, quick_retries
):
    integration.base_url = sandbox.url
    integration.save()
    running(UploadRun, "integration", integration, upload_lease)
    lapse(upload_lease(integration))
    reap_interrupted_runs()

    following = run_upload(integration)

    assert following.status == RunStatus.NOTHING  # the integration covers no farms
    assert "had been interrupted" not in following.log


def test_the_reaper_runs_every_minute():
    schedule = Schedule.objects.get(name="reap interrupted upload runs and syncs")
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "uploads.tasks.reap_interrupted_runs",
        Schedule.MINUTES,
        1,
        -1,
    )


def test_the_admin_lists_an_interrupted_run_as_interrupted(admin_client, integration, account):
    running(UploadRun, "integration", integration, upload_lease)
    running(SyncRun, "account", account, sync_lease)
    lapse(upload_lease(integration))
    lapse(sync_lease(account))
    reap_interrupted_runs()

    for model in (UploadRun, SyncRun):
        page = admin_client.get(reverse(f"admin:uploads_{model._meta.model_name}_changelist")).content.decode()
        # The word the list shows; "abandoned" is only the stored value (a CSS class, the filter's query).
        assert 'title="interrupted (its worker stopped)">interrupted</span>' in page
        assert ">abandoned" not in page and "abandoned (" not in page
