"""Live progress of uploads and syncs: on the command line, and on the run's page while it runs.

Progress comes from the real work: the runs below go to the sandbox over loopback, and the
"running" snapshots are taken from inside the run, by the observer it calls after each part or
meter or asset, through the same admin URLs the page's script polls.
"""

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from portfolio.models import Asset, Meter
from portfolio.roles import VIEWER
from tests.uploads.test_no_secrets_after_a_run import secrets_on_the_wire, wire  # noqa: F401 (a fixture)
from uploads.models import Lease, RunStatus, RunTrigger, SyncRun, SyncStatus, UploadRun
from uploads.raptormaps.service import lease_name, queue_run, run_upload
from uploads.wattcarbon.service import queue_sync, run_sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries")]

PART_BYTES = 1500  # several parts from the test farm's readings


class Terminal(io.StringIO):
    """What a command sees when its stderr is a terminal."""

    def isatty(self):
        return True


def command(name, *args, stderr=None):
    out, err = io.StringIO(), stderr or io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def several_parts(integration):
    integration.part_bytes = PART_BYTES
    integration.save()
    return integration


def status_url(run):
    return reverse(f"admin:uploads_{run._meta.model_name}_status", args=[run.pk])


def change_url(run):
    return reverse(f"admin:uploads_{run._meta.model_name}_change", args=[run.pk])


def attempts_url(run):
    return f"{reverse('admin:uploads_attempt_changelist')}?{run.attempt_field}__id__exact={run.pk}"


def status(client, run):
    response = client.get(status_url(run))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return response.json()


# -- the command line -------------------------------------------------------------------------------


def test_the_upload_command_in_a_pipe_prints_plain_lines_with_the_real_counts(sandbox, integration):
    several_parts(integration)
    out, err = command("upload_raptormaps")
    run = UploadRun.objects.get()
    assert run.status == RunStatus.UPLOADED and run.parts > 1
    lines = err.splitlines()
    assert "\r" not in err
    assert lines[0].startswith("Test integration: building the files (1 farm in ")
    assert lines[1].startswith(
        f"Test integration: sending the files:   0%  0 of {run.parts} parts  0 of {run.rows:,} rows"
    )
    # The last line: every part, row and byte the run sent, as the run record says.
    assert lines[-1].startswith(
        f"Test integration: moving the watermarks: 100%  {run.parts} of {run.parts} parts  "
        f"{run.rows:,} of {run.rows:,} rows"
    )
    assert "ETA 0:00:00" in lines[-1] and "elapsed" in lines[-1]
    # The results stay on stdout, the progress on stderr.
    assert out.startswith(f"Test integration: run #{run.pk} uploaded — {run.parts} part(s)")
    assert "parts" not in out.splitlines()[0].split("—")[0]


def test_the_upload_command_on_a_terminal_redraws_one_line_per_part(sandbox, integration):
    several_parts(integration)
    _out, err = command("upload_raptormaps", stderr=Terminal())
    run = UploadRun.objects.get()
    # building, sending 0, each part, moving the watermarks: each a redraw of the same line.
    assert err.count("\r\x1b[2K") == run.parts + 3 and err.endswith("\n") and err.count("\n") == 1
    redraws = err.rstrip("\n").split("\r\x1b[2K")[1:]
    assert redraws[0].startswith("Test integration [------------------------] building the files")
    for number in range(1, run.parts + 1):
        assert f"  {number} of {run.parts} parts  " in redraws[1 + number]
    assert redraws[-1].startswith("Test integration [########################] 100%")


def test_the_sync_command_in_a_pipe_says_each_phase_with_meters_and_assets_done(demo_account):
    meters = Meter.objects.filter(portfolio=demo_account.portfolio).count()
    assets = Asset.objects.filter(portfolio=demo_account.portfolio).count()
    out, err = command("sync_wattcarbon", "--account", demo_account.name)
    run = SyncRun.objects.get()
    assert run.status == SyncStatus.SYNCED and run.meters_created == meters > 0 and assets > 0
    text = err
    assert "\r" not in text
    name = demo_account.name
    assert f"{name}: creating meters:   0%  0 of {meters} meters" in text
    assert f"{name}: sending readings:   0%  0 of {meters} meters" in text
    assert f"{name}: syncing assets:   0%  0 of {assets} assets" in text
    # The last line counts what the sync did, as its record does.
    last = text.splitlines()[-1]
    assert last.startswith(f"{name}: sending event documents: 100%  {assets} of {assets} assets")
    assert f"{run.meters_created} meters created" in last and f"{run.assets_created} assets created" in last
    assert f"{run.interval_rows:,} interval rows sent" in last
    assert out.startswith(f"{name}: sync #{run.pk} synced")


def test_the_upload_reports_after_each_part_it_sent(sandbox, integration):
    """The observer hears from the work itself: one report a part, in order, with what was sent so far."""
    several_parts(integration)
    steps = []
    run = run_upload(integration, progress=steps.append)
    sending = [step for step in steps if step.phase == "sending the files"]
    assert [step.done for step in sending] == list(range(run.parts + 1))
    assert {step.total for step in sending} == {run.parts}
    parts = list(run.file_parts.order_by("number"))
    for step, sent in zip(sending[1:], range(1, run.parts + 1), strict=True):
        rows = sum(part.rows for part in parts[:sent])
        assert step.figures[0] == f"{rows:,} of {run.rows:,} rows"
    assert run.progress["phase"] == "moving the watermarks" and run.progress["done"] == run.parts


# -- the admin: the status JSON and the page's box ---------------------------------------------


def test_an_upload_runs_status_while_queued_running_and_done(sandbox, integration, admin_client, wire):  # noqa: F811
    several_parts(integration)
    run = queue_run(integration, RunTrigger.ADMIN)
    queued = status(admin_client, run)
    assert queued["status"] == "queued" and not queued["finished"]
    assert queued["phase"] == "Waiting for a worker to start it."
    assert queued["percent"] is None and queued["progress_line"] == f"In the queue for {queued['elapsed']}"
    page = admin_client.get(change_url(run)).content.decode()
    assert f'data-progress-url="{status_url(run)}"' in page and "portfolio/live_progress.js" in page

    seen = {}

    def watch(step):
        # Half-way through the parts, as the page's script would.
        if step.phase == "sending the files" and step.done == 1:
            seen["status"] = status(admin_client, run)
            seen["page"] = admin_client.get(change_url(run)).content.decode()

    run_upload(integration, run=run, progress=watch)
    running = seen["status"]
    assert running["status"] == "running" and not running["finished"]
    assert running["phase"] == "Sending the files."
    assert running["done"] == f"1 of {run.parts} parts done"
    assert running["percent"] == round(100 / run.parts, 1)
    first = run.file_parts.get(number=1)
    assert running["figures"].startswith(f"{first.rows:,} of {run.rows:,} rows")
    assert running["elapsed"].endswith(" s")
    assert running["progress_line"] == f"{running['done']} · {running['figures']} · elapsed {running['elapsed']}"
    assert 'id="run-status"' in seen["page"] and "Live status" in seen["page"]
    assert f'data-progress-url="{status_url(run)}"' in seen["page"]
    assert f"1 of {run.parts} parts done" in seen["page"]

    run.refresh_from_db()
    done = status(admin_client, run)
    assert done["status"] == "uploaded" and done["finished"]
    assert done["status_label"] == "Uploaded"
    assert done["phase"].startswith(f"{run.parts} of {run.parts} parts ({run.rows:,} rows, ")
    assert done["phase"].endswith(") sent.")
    assert done["details_url"] == attempts_url(run)
    assert done["details_label"] == f"Its {run.attempts.count()} HTTP calls in the attempt log"
    # The finished page: the outcome and the link, and no more polling.
    page = admin_client.get(change_url(run)).content.decode()
    assert "Outcome" in page and done["phase"] in page and done["details_label"] in page
    assert "data-progress-url" not in page and "live_progress.js" not in page
    # No secret the run handled, in any of the answers.
    answers = json.dumps([queued, running, done])
    secrets = secrets_on_the_wire(wire)
    assert secrets and not [secret for secret in secrets if secret in answers]


def test_a_failed_runs_status_says_why_and_links_its_attempts(sandbox, integration, admin_client, settings, wire):  # noqa: F811
    settings.UPLOADS_RETRY_MAX_ATTEMPTS = 1
    sandbox.fault("put", status=503)
    run = run_upload(integration)
    assert run.status == RunStatus.FAILED
    failed = status(admin_client, run)
    assert failed["finished"] and failed["status_label"] == "Failed"
    assert failed["phase"].startswith("0 of 1 part (") and run.error.splitlines()[0] in failed["phase"]
    assert failed["details_url"] == attempts_url(run)
    answer = json.dumps(failed)
    assert not [secret for secret in secrets_on_the_wire(wire) if secret in answer]


def test_a_syncs_status_counts_the_assets_done(demo_account, admin_client):
    run = queue_sync(demo_account, RunTrigger.ADMIN)
    assert status(admin_client, run)["phase"] == "Waiting for a worker to start it."
    assets = Asset.objects.filter(portfolio=demo_account.portfolio).count()
    seen = {}

    def watch(step):
        if step.phase == "syncing assets" and step.done == 1:
            seen["status"] = status(admin_client, run)

    run_sync(demo_account, run=run, progress=watch)
    running = seen["status"]
    assert running["status"] == "running" and running["phase"] == "Syncing assets."
    assert running["done"] == f"1 of {assets} assets done"
    assert "meters created" in running["figures"] and "interval rows sent" in running["figures"]
    # The page's fields agree with the box: the counters are written as they grow.
    assert running["figures"].startswith(f"{SyncRun.objects.get(pk=run.pk).meters_created} meters created, ")

    run.refresh_from_db()
    done = status(admin_client, run)
    assert done["finished"] and done["status"] == "synced"
    assert done["status_label"] == "Synced"
    # Said in the order the sync works: meters, their readings, then assets.
    assert done["phase"].startswith(f"{run.meters_created} meters created, ")
    assert done["phase"].index("interval rows sent") < done["phase"].index(f"{run.assets_created} assets created")
    assert done["details_url"] == attempts_url(run)
    assert demo_account.api_key.reveal() not in json.dumps(done)


def test_a_run_with_nothing_to_send_says_why(sandbox, integration, admin_client):
    run_upload(integration)
    again = run_upload(integration)
    assert again.status == RunStatus.NOTHING and again.parts == 0
    said = status(admin_client, again)
    assert said["status_label"] == "Nothing new to send"
    assert said["phase"] == (again.waiting or again.log.splitlines()[-1]) and said["phase"] != "Finished."


def test_a_running_run_whose_worker_stopped_says_so(integration, admin_client):
    run = queue_run(integration, RunTrigger.ADMIN)
    run.status, run.started_at = RunStatus.RUNNING, timezone.now() - timedelta(minutes=5)
    run.progress = {"phase": "sending the files", "done": 1, "total": 3, "unit": "parts", "figures": []}
    run.save()
    lapsed = timezone.now() - timedelta(minutes=1)
    Lease.objects.create(name=lease_name(integration), owner="host:1", expires_at=lapsed)
    said = status(admin_client, run)
    assert said["phase"].startswith("No sign of life from its worker since ")
    assert said["done"] == "1 of 3 parts done" and not said["finished"]
    # Renewed: the worker lives, and the box says what it does.
    Lease.objects.filter(name=lease_name(integration)).update(expires_at=timezone.now() + timedelta(minutes=1))
    assert status(admin_client, run)["phase"] == "Sending the files."


def test_upload_now_lands_on_the_runs_page_which_shows_the_outcome(
    sandbox, integration, sync_worker, admin_client, django_capture_on_commit_callbacks
):
    upload_now = reverse("admin:uploads_raptormapsintegration_upload_now", args=[integration.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(upload_now, follow=True)
    run = UploadRun.objects.get()
    assert response.redirect_chain == [(change_url(run), 302)]
    # The worker ran it at once (sync mode): the page it lands on shows how it ended.
    run.refresh_from_db()
    assert run.status == RunStatus.UPLOADED
    page = response.content.decode()
    assert 'id="run-status"' in page and "Outcome" in page and f'href="{attempts_url(run)}"' in page


def test_sync_now_on_one_meter_lands_on_the_syncs_page(demo_account, admin_client, queued_tasks):
    meter = Meter.objects.filter(portfolio=demo_account.portfolio).first()
    response = admin_client.post(
        reverse("admin:portfolio_meter_changelist"),
        {"action": "wattcarbon_sync_now", "_selected_action": [meter.pk]},
    )
    run = SyncRun.objects.get()
    assert response.status_code == 302 and response["Location"] == change_url(run)


def test_the_status_refuses_whoever_may_not_see_runs(integration, client):
    run = queue_run(integration, RunTrigger.ADMIN)
    nobody = User.objects.create_user("no-role", password="x", is_staff=True)
    client.force_login(nobody)
    refused = client.get(status_url(run))
    assert refused.status_code == 403 and "application/json" not in refused["Content-Type"]
    assert "viewer" in refused.content.decode().lower()
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.groups.add(Group.objects.get(name=VIEWER))
    client.force_login(viewer)
    assert status(client, run)["status"] == "queued"
    assert client.get(reverse("admin:uploads_uploadrun_status", args=[run.pk + 1000])).status_code == 404
