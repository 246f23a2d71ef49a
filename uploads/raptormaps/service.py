"""An upload run: decide what to send, build the CSV parts, PUT each one, then move the watermarks.

The watermarks move only when every part was accepted, in one transaction. A run that
fails, or whose worker is killed, leaves them where they were, and the next run sends the
same readings again (Raptor Maps receives a bucket twice rather than never). Two runs of one
integration never overlap: a run holds the integration's lease (uploads/runs/leases.py) while it
works, on any worker on any machine.
"""

import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portfolio.console import size
from portfolio.quantities import count
from portfolio.timefmt import time_text
from uploads.models import RunStatus, RunTrigger, UploadPart, UploadRun, UploadWatermark
from uploads.outbound.http import ServiceError
from uploads.raptormaps.api import RaptorMapsApi
from uploads.raptormaps.connection import learn_interval
from uploads.raptormaps.csvfile import PartTooSmall, build_parts
from uploads.raptormaps.window import farm_windows
from uploads.runs import lifecycle
from uploads.runs.horizon import ingestion_horizon
from uploads.runs.leases import LeaseHolder, LeaseLost
from uploads.runs.progress import RunProgress
from uploads.runs.taskcontext import current_task_id
from uploads.runs.waiting import raptormaps_waiting, settle
from uploads.secrets import SecretUnavailable

__all__ = ["INTERRUPTED_CONSEQUENCE", "enqueue_upload", "lease_name", "queue_run", "run_upload", "work_dir"]

logger = logging.getLogger(__name__)

# What an interrupted run's log says becomes of its work (here and from uploads/reaper.py).
INTERRUPTED_CONSEQUENCE = "The watermarks did not move, so the next run sends its readings again."


def lease_name(integration):
    return f"raptormaps-upload:{integration.pk}"


def work_dir(run):
    return Path(settings.UPLOADS_WORK_DIR) / f"raptormaps-run-{run.pk}"


def queue_run(integration, trigger, user=None, retry_of=None):
    """A queued run record for the worker (admin actions, schedules)."""
    return UploadRun.objects.create(
        integration=integration, trigger=trigger, requested_by=user, retry_of=retry_of, status=RunStatus.QUEUED
    )


def enqueue_upload(integration, trigger, user=None, retry_of=None):
    """Queue a run for a worker (admin "Upload now" and "Retry"); the record shows it at once."""
    run = queue_run(integration, trigger, user, retry_of)
    return lifecycle.send_to_worker(run, "uploads.tasks.upload_raptormaps", integration.pk, "upload run")


def run_upload(
    integration, *, run=None, trigger=RunTrigger.COMMAND, user=None, dry_run_dir=None, now=None, progress=None
):
    """Bring ``integration`` up to date (or, with ``dry_run_dir``, write what would be sent there).

    Returns the run record, whatever happened; the outcome is in its status and error. The run
    records how far it got as it goes (its page shows it); ``progress``, if given, is called with
    each ``portfolio.console.Step`` too (a command's console).
    """
    if run is None:
        run = queue_run(integration, trigger, user)
    elif run.is_finished:
        # A queued run handed out twice (a broker redelivering it) is not run again.
        logger.warning("Upload run %s is already %s; not running it again.", run.pk, run.get_status_display())
        return run
    run.task_id = current_task_id() or run.task_id
    lease = LeaseHolder(lease_name(integration))
    if not lease.acquire():
        running = UploadRun.objects.filter(integration_id=run.integration_id, status=RunStatus.RUNNING)
        return lifecycle.skip(run, RunStatus.SKIPPED, lease, running, "run", "integration")
    try:
        _abandon_dead_runs(integration, run)
        lifecycle.start(run, RunStatus.RUNNING)
        _Upload(integration, run, lease, dry_run_dir, now, RunProgress(run, progress)).execute()
    except (ServiceError, PartTooSmall, LeaseLost, SecretUnavailable) as exc:
        lifecycle.fail(run, RunStatus.FAILED, str(exc))
    except Exception as exc:
        logger.exception("Upload run %s of %s failed unexpectedly", run.pk, integration)
        lifecycle.fail(run, RunStatus.FAILED, f"Unexpected error: {type(exc).__name__}: {exc}")
        raise
    finally:
        if dry_run_dir is None:
            shutil.rmtree(work_dir(run), ignore_errors=True)
        lease.release()
    return run


class _Upload:
    def __init__(self, integration, run, lease, dry_run_dir, now, progress):
        self.progress = progress
        self.integration = integration
        self.run = run
        self.lease = lease
        self.dry_run_dir = Path(dry_run_dir) if dry_run_dir is not None else None
        self.now = now
        self.farms, self.until = [], None

    def execute(self):
        integration, run = self.integration, self.run
        farms = list(integration.covered_farms().order_by("farm_id"))
        if not farms:
            run.add_log("The integration covers no farms; nothing to send.")
            return self._finish(RunStatus.DRY_RUN if self.dry_run_dir is not None else RunStatus.NOTHING)
        until, reason = ingestion_horizon(self.now)
        self.farms, self.until = farms, until
        since = farm_windows(integration, farms)
        run.window_end = until
        run.window = {farm.farm_id: (since[farm.pk].isoformat() if since[farm.pk] else None) for farm in farms}
        run.add_log(
            f"{len(farms)} farm(s); readings ingested up to {time_text(until, 'UTC', precision='seconds')} ({reason}); "
            + ", ".join(_window_text(farm, since[farm.pk]) for farm in farms)
        )
        run.save(update_fields=["window_end", "window", "log", "task_id"])

        directory = self.dry_run_dir or work_dir(run)
        directory.mkdir(parents=True, exist_ok=True)
        self.progress("building the files", figures=(count(len(farms), "farms"),))
        # Building a large history is one long statement: the lease is renewed from a thread meanwhile.
        with self.lease.kept_alive():
            build = build_parts(
                farms,
                since=since,
                until=until,
                time_basis=integration.time_basis,
                part_bytes=integration.part_bytes,
                directory=directory,
                prefix=f"raptormaps-{integration.pk}-run-{run.pk}",
            )
        self.lease.keep_alive()
        self._record_build(build)
        if not build.parts:
            if self.dry_run_dir is not None:  # a dry run moves nothing, watermarks included
                run.add_log("Dry run: nothing new to send.")
                return self._finish(RunStatus.DRY_RUN)
            run.add_log("Nothing new to send.")
            self._move_watermarks(farms, until)
            return self._finish(RunStatus.NOTHING)
        if self.dry_run_dir is not None:
            figures = (count(len(build.parts), "parts"), count(build.rows, "rows"), size(build.bytes))
            self.progress("dry run: files written, nothing sent", figures=figures)
            UploadPart.objects.filter(run=run).update(status=UploadPart.Status.WRITTEN)
            run.add_log(f"Dry run: {len(build.parts)} part(s) written to {directory}; nothing sent.")
            return self._finish(RunStatus.DRY_RUN)

        api = RaptorMapsApi(integration, run=run, heartbeat=self.lease.keep_alive)
        sent = _Sent(build)
        try:
            self._learn_interval(api)
            self.progress("sending the files", **sent.figures())
            for part in build.parts:
                self._upload_part(api, part)
                sent.add(part)
                self.progress("sending the files", **sent.figures())
        finally:
            api.close()
        self.progress("moving the watermarks", **sent.figures())
        self._move_watermarks(farms, until)
        moved_to = time_text(until, "UTC", precision="seconds")
        run.add_log(f"All {len(build.parts)} part(s) uploaded; watermarks moved to {moved_to}.")
        return self._finish(RunStatus.UPLOADED)

    def _learn_interval(self, api):
        """The first real run asks the org integration how often it expects data (the default interval)."""
        if self.integration.remote_interval_seconds is not None:
            return
        try:
            found = learn_interval(self.integration, api)
        except ServiceError as exc:
            if exc.operation == "token" or exc.status_code is None:
                # No token, or no answer after every retry: the upload's calls would meet the same.
                raise
            self.run.add_log(f"Could not read the org integration's query interval ({exc}); uploading anyway.")
            return
        if found is None:
            self.run.add_log(f"The org has no integration {self.integration.integration_id}; uploading anyway.")

    def _record_build(self, build):
        run = self.run
        UploadPart.objects.bulk_create(
            UploadPart(run=run, number=part.number, rows=part.rows, bytes=part.bytes, sha256=part.sha256)
            for part in build.parts
        )
        run.readings, run.rows, run.bytes = build.readings, build.rows, build.bytes
        run.parts, run.skipped_nonfinite = len(build.parts), build.skipped_nonfinite
        for note in build.notes:
            run.add_log(note)
        if build.skipped_nonfinite:
            run.add_log(f"{build.skipped_nonfinite} row(s) skipped: their value was not a finite number.")
        run.add_log(f"Built {len(build.parts)} part(s): {build.rows:,} rows from {build.readings:,} readings.")
        run.save()

    def _upload_part(self, api, part):
        record = UploadPart.objects.get(run=self.run, number=part.number)
        try:
            api.put_file(part.path)
        except ServiceError:
            record.status = UploadPart.Status.FAILED
            record.save(update_fields=["status"])
            raise
        record.status = UploadPart.Status.UPLOADED
        record.uploaded_at = timezone.now()
        record.save(update_fields=["status", "uploaded_at"])
        self.lease.keep_alive()

    def _move_watermarks(self, farms, until):
        self.lease.keep_alive(force=True)  # only the lease holder moves them
        with transaction.atomic():
            for farm in farms:
                UploadWatermark.objects.update_or_create(
                    integration=self.integration,
                    farm=farm,
                    defaults={"ingested_through": until, "run": self.run},
                )

    def _finish(self, status):
        if self.until is not None:
            # What came in after the horizon is said, and fetched by a follow-up once due.
            waiting = raptormaps_waiting(self.farms, self.until)
            dry_run = self.dry_run_dir is not None
            settle(self.run, self.integration, waiting, "run", _DONE[status], dry_run=dry_run, now=self.now)
        return lifecycle.finish(self.run, status)


class _Sent:
    """The parts, rows and bytes sent so far of a build, for the run's progress."""

    def __init__(self, build):
        self.build = build
        self.parts = self.rows = self.bytes = 0

    def add(self, part):
        self.parts += 1
        self.rows += part.rows
        self.bytes += part.bytes

    def figures(self):
        build = self.build
        return {
            "done": self.parts,
            "total": len(build.parts),
            "unit": "parts",
            "figures": (f"{self.rows:,} of {count(build.rows, 'rows')}", f"{size(self.bytes)} of {size(build.bytes)}"),
            "rate": (self.bytes, "bytes"),
        }


_DONE = {
    RunStatus.UPLOADED: "Sent up to",
    RunStatus.NOTHING: "Nothing new up to",
    RunStatus.DRY_RUN: "Dry run up to",
}


def _window_text(farm, since):
    if since is None:
        return f"{farm.farm_id}: all history"
    return f"{farm.farm_id}: after {time_text(since, 'UTC', precision='seconds')}"


def _abandon_dead_runs(integration, run):
    """Runs still marked running whose worker died: we hold the lease, so none of them is alive."""
    stale = UploadRun.objects.filter(integration=integration, status=RunStatus.RUNNING)
    for dead in lifecycle.abandon_dead_runs(run, RunStatus.ABANDONED, stale, INTERRUPTED_CONSEQUENCE):
        shutil.rmtree(work_dir(dead), ignore_errors=True)
