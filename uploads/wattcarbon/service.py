"""A WattCarbon sync: bring one account up to date with its portfolio's meters and assets.

In order: meters without a remote id are created; hourly intervals are derived from
production meters; interval and bill readings ingested since each meter's watermark are sent in
chunks; assets are created, or updated when their payload changed since the last accepted one;
demand-response assets whose events changed get a new events document.

A request the service refused (400, 404, 409, 422) is that object's problem: it is recorded on
the object and the sync goes on with the others. A 404 for a stored remote id marks the object
"missing on WattCarbon" (uploads/wattcarbon/missing.py). A create that met a 502 or 504 (its
outcome unknown) is tried again in the same sync, after the wait the service asked for and, for an
asset, after looking it up by its customId. Anything else (no answer after the retries, a
5xx, refused credentials) stops the sync. Remote ids and watermarks are saved the moment they are
known, so a sync that stops loses nothing and the next one goes on from there. A sync with
nothing changed makes no calls at all. One sync per account at a time: it holds the account's
lease (uploads/runs/leases.py).
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from math import ceil

from django.db.models import Count
from django.utils import timezone

from portfolio.choices import KINDS_WITH_EVENTS
from portfolio.models import Asset, Meter
from portfolio.production import derive_hourly_intervals
from portfolio.timefmt import time_text
from uploads.models import (
    Attempt,
    AttemptOutcome,
    RunTrigger,
    SyncRun,
    SyncStatus,
    WattCarbonAssetLink,
    WattCarbonMeterLink,
)
from uploads.outbound.http import RETRY_STATUSES, CallFailed, OutcomeUnknown, ServiceError
from uploads.outbound.pool import CallPool
from uploads.runs import lifecycle
from uploads.runs.horizon import ingestion_horizon
from uploads.runs.leases import LeaseHolder, LeaseLost
from uploads.runs.progress import RunProgress
from uploads.runs.taskcontext import current_task_id
from uploads.runs.waiting import settle, wattcarbon_waiting
from uploads.secrets import SecretUnavailable
from uploads.wattcarbon import payloads
from uploads.wattcarbon.api import WattCarbonApi, names_custom_id, remote_asset_id
from uploads.wattcarbon.missing import GONE_STATUSES, asset_gone, meter_gone
from uploads.wattcarbon.readings import SERIES, Chunk, Series

__all__ = ["INTERRUPTED_CONSEQUENCE", "enqueue_sync", "lease_name", "queue_sync", "run_sync"]

logger = logging.getLogger(__name__)

# Refusals that concern the one object sent, not the account or the service.
OBJECT_STATUSES = frozenset({400, 404, 409, 410, 413, 422})
# A partial sync's error names this many of the objects it could not sync.
PROBLEMS_NAMED = 5
# Placeholder remote id of a meter a dry run would create.
PLANNED = -1
# The sync's counters, written with its progress as they grow (its page shows them).
COUNTERS = (
    "meters_created",
    "derived_rows",
    "interval_rows",
    "bill_rows",
    "assets_created",
    "assets_updated",
    "documents",
    "problems",
)
READINGS_PHASE = "sending readings"
# How often the sync shows its lease it is alive while its uploads are in flight.
HEARTBEAT_SECONDS = 5.0
# What an interrupted sync's log says becomes of its work (here and from uploads/reaper.py).
INTERRUPTED_CONSEQUENCE = "What it had saved stays; the next sync goes on from there."


def lease_name(account):
    return f"wattcarbon-sync:{account.pk}"


def queue_sync(account, trigger, user=None, retry_of=None):
    return SyncRun.objects.create(
        account=account, trigger=trigger, requested_by=user, retry_of=retry_of, status=SyncStatus.QUEUED
    )


def enqueue_sync(account, trigger, user=None, retry_of=None):
    """Queue a sync for a worker (admin "Sync now" and "Retry"); the record shows it at once."""
    run = queue_sync(account, trigger, user, retry_of)
    return lifecycle.send_to_worker(run, "uploads.tasks.sync_wattcarbon", account.pk, "wattcarbon sync")


def run_sync(account, *, run=None, trigger=RunTrigger.COMMAND, user=None, dry_run=False, now=None, progress=None):
    """Sync ``account`` (or, with ``dry_run``, log what a sync would do and send nothing).

    Returns the run record, whatever happened; the outcome is in its status, log and error. The
    sync records how far it got after each meter and asset (its page shows it); ``progress``, if
    given, is called with each ``portfolio.console.Step`` too (a command's console).
    """
    if run is None:
        run = queue_sync(account, trigger, user)
    elif run.is_finished:
        logger.warning("WattCarbon sync %s is already %s; not running it again.", run.pk, run.get_status_display())
        return run
    run.task_id = current_task_id() or run.task_id
    lease = LeaseHolder(lease_name(account))
    if not lease.acquire():
        running = SyncRun.objects.filter(account_id=account.pk, status=SyncStatus.RUNNING)
        return lifecycle.skip(run, SyncStatus.SKIPPED, lease, running, "sync", "account")
    try:
        stale = SyncRun.objects.filter(account=account, status=SyncStatus.RUNNING)
        lifecycle.abandon_dead_runs(run, SyncStatus.ABANDONED, stale, INTERRUPTED_CONSEQUENCE)
        lifecycle.start(run, SyncStatus.RUNNING)
        _Sync(account, run, lease, dry_run, now, RunProgress(run, progress)).execute()
    except (ServiceError, LeaseLost, SecretUnavailable) as exc:
        _count_write_calls(run)
        lifecycle.fail(run, SyncStatus.FAILED, str(exc))
    except Exception as exc:
        logger.exception("WattCarbon sync %s of %s failed unexpectedly", run.pk, account)
        lifecycle.fail(run, SyncStatus.FAILED, f"Unexpected error: {type(exc).__name__}: {exc}")
        raise
    finally:
        lease.release()
    return run


def _count_write_calls(run):
    """The sync's calls that change something on WattCarbon: those accepted, and those that failed apart.

    A call retried after a 503 and then accepted is one failed and one accepted write call: each
    attempt is a call the service saw (or may have seen).
    """
    writes = Attempt.objects.filter(sync_run=run).exclude(method__in=("GET", "HEAD")).exclude(operation="token")
    counts = dict(writes.order_by().values_list("outcome").annotate(calls=Count("pk")))
    run.write_calls = counts.pop(AttemptOutcome.OK, 0)
    run.failed_write_calls = sum(counts.values())


class _Sync:
    def __init__(self, account, run, lease, dry_run, now, progress):
        self.progress = progress
        self.account = account
        self.run = run
        self.lease = lease
        self.dry_run = dry_run
        self.now = now
        self._api = None
        self._failed = set()  # id() of the links that had a problem in this sync
        self._problem_subjects = []
        self._derived_at = {}  # meter pk → when its derived intervals were stamped
        self._gone_now = set()  # pks of the meters found missing on WattCarbon in this sync
        self._reported = None  # the last progress reported: (phase, done, objects, unit)

    @property
    def api(self):
        # Created on first use: a sync with nothing to send asks for no token.
        if self._api is None:
            self._api = WattCarbonApi(self.account, run=self.run, heartbeat=self.lease.keep_alive)
        return self._api

    def execute(self):
        account, run = self.account, self.run
        portfolio = account.portfolio
        self.meters = list(Meter.objects.filter(portfolio=portfolio))
        self.assets = list(Asset.objects.filter(portfolio=portfolio).prefetch_related("meters", "events"))
        self.meter_links = _links(WattCarbonMeterLink, account, "meter", self.meters, save=not self.dry_run)
        self.asset_links = _links(WattCarbonAssetLink, account, "asset", self.assets, save=not self.dry_run)
        horizon, reason = ingestion_horizon(self.now)
        run.add_log(
            f"Portfolio {portfolio}: {len(self.meters)} meter(s), {len(self.assets)} asset(s); "
            f"readings ingested up to {time_text(horizon, 'UTC', precision='seconds')} ({reason})."
        )
        try:
            self.create_meters()
            self.derive_intervals(horizon)
            self.upload_readings(horizon)
            self.sync_assets()
            self.upload_events()
        finally:
            if self._api is not None:
                self._api.close()
        self._clear_old_errors()
        _count_write_calls(run)
        if self.dry_run:
            status = SyncStatus.DRY_RUN
            run.add_log("Dry run: nothing was sent.")
        elif run.problems:
            status = SyncStatus.PARTIAL
            named = ", ".join(self._problem_subjects[:PROBLEMS_NAMED])
            more = f" and {len(self._problem_subjects) - PROBLEMS_NAMED} more" if run.problems > PROBLEMS_NAMED else ""
            run.error = f"Could not sync {named}{more}; their sync state and the log say why."
        elif run.write_calls or run.derived_rows:
            status = SyncStatus.SYNCED
        else:
            status = SyncStatus.NOTHING
            run.add_log("Nothing changed since the last sync.")
        # What came in after the horizon, and hours not over, are said and fetched by a follow-up once due.
        waiting = wattcarbon_waiting(self.meters, horizon, self._derived_at)
        settle(run, account, waiting, "sync", _DONE[status], dry_run=self.dry_run, now=self.now)
        return lifecycle.finish(run, status)

    # -- 1. meters ---------------------------------------------------------------------------------

    def report(self, phase, done, objects, unit):
        """Say how far this phase got: ``done`` of ``objects`` (meters or assets), and what changed so far."""
        figures = tuple(self.run.figures())
        self._reported = (phase, done, objects, unit)
        self.progress(phase, done, len(objects), unit, figures, counts=COUNTERS)

    def each(self, phase, objects, unit):
        """``objects`` one by one, saying how far the phase got before the first and after each."""
        self.report(phase, 0, objects, unit)
        for done, obj in enumerate(objects, start=1):
            yield obj
            self.report(phase, done, objects, unit)

    def create_meters(self):
        for meter in self.each("creating meters", self.meters, "meters"):
            self._create_meter_if_new(meter)

    def _create_meter_if_new(self, meter):
        link = self.meter_links[meter.pk]
        if link.missing_at is not None:
            self._still_missing(link)
            return
        if link.remote_id is not None:
            return
        if self.dry_run:
            link.remote_id = PLANNED
            self.run.add_log(f"Would create meter {meter.name} ({meter.meter_type}).")
            return
        remote_id = self._create_meter(link, meter)
        if remote_id is None:
            return
        link.remote_id = remote_id
        link.synced_at = timezone.now()
        link.save(update_fields=["remote_id", "synced_at"])
        self.run.meters_created += 1
        self.run.add_log(f"Created meter {meter.name}: WattCarbon meter {link.remote_id}.")
        self.lease.keep_alive()

    def _create_meter(self, link, meter):
        """The new meter's id, or None (the problem recorded). A 502 or 504 is tried again in this sync."""
        payload = payloads.meter_payload(meter)
        tries = self._create_tries()
        for number in range(1, tries + 1):
            try:
                return self.api.create_meter(payload, subject=meter)
            except OutcomeUnknown as exc:
                # No answer at all (a reset, a timeout) most often means the meter was made: left for
                # the next sync. A gateway's 502 or 504 most often means it never got there.
                if exc.status_code not in RETRY_STATUSES or number == tries:
                    self._problem(link, f"{exc} The next sync creates it again (WattCarbon cannot look meters up).")
                    return None
                if not self._wait_before_again(link, exc, number):
                    return None
                self.run.add_log(
                    f"{exc} Creating meter {meter.name} again (WattCarbon cannot look meters up: if the first "
                    "create was carried out after all, it stays on WattCarbon, linked to nothing)."
                )
            except CallFailed as exc:
                self._refused(link, exc)
                return None
        return None

    def _create_tries(self):
        return max(2, self.api.client.policy.max_attempts)

    def _wait_before_again(self, link, exc, number):
        """Wait as the service asked (Retry-After, up to the limit) or back off; False if it asked too long."""
        policy = self.api.client.policy
        asked = exc.retry_after
        if asked is not None and asked > policy.max_retry_after:
            self._problem(
                link,
                f"{exc} WattCarbon asked to wait {asked:.0f} s (Retry-After) before trying again, more than the "
                f"{policy.max_retry_after:.0f} s limit (UPLOADS_RETRY_AFTER_MAX_SECONDS); the next sync tries again.",
            )
            return False
        if asked is None:
            self.api.client.wait(policy.backoff(number))
        else:
            self.api.client.wait(asked)
            self.run.add_log(f"WattCarbon asked to wait {asked:g} s (Retry-After); waited, then tried again.")
        return True

    # -- 3. intervals derived from production meters ---------------------------------------------------

    def derive_intervals(self, horizon):
        production = [meter for meter in self.meters if meter.source_equipment_id is not None]
        for meter in self.each("deriving hourly intervals", production, "production meters"):
            derived = derive_hourly_intervals(meter, horizon, write=not self.dry_run)
            if derived.sensor is None:
                self.run.add_log(f"Meter {meter.name}: its farm meter has no production meter sensor; nothing derived.")
                continue
            if derived.stamp is not None:
                self._derived_at[meter.pk] = derived.stamp
            self.run.derived_rows += derived.written
            verb = "Would derive" if self.dry_run else "Derived"
            if derived.written or derived.skipped:
                self.run.add_log(
                    f"{verb} {derived.created} new and {derived.updated} changed hourly interval(s) of "
                    f"{meter.name} from {derived.sensor}." + _skipped_text(derived.skipped)
                )
                if self.dry_run and derived.written:
                    self.run.add_log(f"Would upload those {derived.written} interval(s) of {meter.name}.")
            self.lease.keep_alive()

    # -- 2. readings ---------------------------------------------------------------------------------

    def upload_readings(self, horizon):
        # Intervals this sync derived are stamped after the horizon; they go now, not next time.
        latest = max([horizon, *self._derived_at.values()])
        saved = WattCarbonMeterLink.objects.filter(account=self.account, remote_id__isnull=False)
        waiting = {series: series.links_waiting(saved, latest) for series in SERIES}
        jobs = self._meters_to_send(horizon, waiting)
        if self.dry_run:
            for job in jobs:
                for series in job.series:
                    self._plan_series(job.link, job.meter, series, job.until)
                self._meter_done(job)
            return
        self._send_readings(jobs)

    def _meters_to_send(self, horizon, waiting):
        """The meters with readings to send, in order, each with its series that have some waiting."""
        self._readings_done = 0
        self.report(READINGS_PHASE, 0, self.meters, "meters")
        for meter in self.meters:
            link = self.meter_links[meter.pk]
            if link.remote_id is None or link.missing_at is not None or id(link) in self._failed:
                self._meter_done(None)
                continue
            # A dry run's new links are not saved: they are looked at one by one.
            series = [series for series in SERIES if link.pk is None or link.pk in waiting[series]]
            until = max(horizon, self._derived_at.get(meter.pk, horizon))
            yield _MeterUploads(link, meter, until, series)

    def _meter_done(self, job):
        self._readings_done += 1
        self.report(READINGS_PHASE, self._readings_done, self.meters, "meters")

    def _plan_series(self, link, meter, series, until):
        count = series.pending(link, meter, until).count()
        if count:
            chunk = self.account.chunk_rows
            self.run.add_log(
                f"Would upload {count:,} {series.name} row(s) of {meter.name} in {ceil(count / chunk)} file(s)."
            )

    def _send_readings(self, jobs):
        """Send the meters' files, ``upload_concurrency`` at a time, each meter's one after another.

        This thread builds the files (written by the database on PostgreSQL), saves the attempts and moves the
        watermarks; the pool's threads only send (uploads/outbound/pool.py). A file refused is its
        meter's problem and the others go on; an error that stops the sync stops new files, and
        the files in flight are waited for, their watermarks moved if they were accepted.
        """
        stop = None
        with CallPool(self.api.client, self.account.upload_concurrency, auth=self.api.auth) as pool:
            while True:
                while stop is None and not pool.full and (job := next(jobs, None)) is not None:
                    stop = self._guarded(self._send_next, pool, job)
                if not len(pool):
                    break
                for job, _, error in pool.results(timeout=HEARTBEAT_SECONDS):
                    more = self._guarded(self._sent, job, error)
                    if isinstance(more, BaseException):
                        stop = stop or more
                    elif more and stop is None:
                        stop = self._guarded(self._send_next, pool, job)
                    elif more:
                        job.series.clear()  # the sync stops: this meter's next file waits for the next sync
                        self._meter_done(job)
                if stop is None:
                    stop = self._guarded(self.lease.keep_alive)
        if stop is not None:
            raise stop

    @staticmethod
    def _guarded(step, *args):
        """``step(*args)``'s result, or the exception it raised (the sync stops once the files in flight end)."""
        try:
            return step(*args)
        except Exception as exc:
            return exc

    def _send_next(self, pool, job):
        """Build the meter's next file and hand it to the pool; the meter is done when none is left."""
        while job.series:
            series = job.series[0]
            chunk = series.chunk(job.link, job.meter, job.until, self.account.chunk_rows)
            if chunk is None:
                job.series.pop(0)
                continue
            job.chunk = chunk
            self.api.auth.token()  # fetched (and saved) here, not in a pool thread
            pool.submit(partial(series.upload, self.api, job.link.remote_id, chunk.blocks, job.meter), job)
            return None
        self._meter_done(job)
        return None

    def _sent(self, job, error):
        """Deal with the answer to the meter's file: True when its next file is due, False when it is done."""
        link, meter, series, chunk = job.link, job.meter, job.series[0], job.chunk
        job.chunk = None
        if error is not None:
            job.series.clear()
            self._meter_done(job)
            if not isinstance(error, CallFailed):
                raise error
            if error.status_code in GONE_STATUSES:
                self._gone(link, meter_gone(link, error))
                self._gone_now.add(meter.pk)
            else:
                self._refused(link, error)
            return False
        last_at = chunk.last_at
        if last_at is None:
            # Only the last row's ingestion time is needed: one value, not one per row.
            last_at = series.model.objects.filter(pk=chunk.last_id).values_list("ingested_at", flat=True).first()
        if last_at is None:
            job.series.pop(0)  # deleted meanwhile: the watermark stays, and the next sync sends the chunk again
            return True
        setattr(link, series.through_at, last_at)
        setattr(link, series.through_id, chunk.last_id)
        link.synced_at = timezone.now()
        link.save(update_fields=[series.through_at, series.through_id, "synced_at"])
        setattr(self.run, series.counter, getattr(self.run, series.counter) + chunk.rows)
        self.run.add_log(f"Uploaded {chunk.rows:,} {series.name} row(s) of {meter.name}.")
        self.report(READINGS_PHASE, self._readings_done, self.meters, "meters")  # the rows sent so far
        if chunk.rows < self.account.chunk_rows:
            job.series.pop(0)
        return True

    # -- 4. assets -----------------------------------------------------------------------------------

    def sync_assets(self):
        for asset in self.each("syncing assets", self.assets, "assets"):
            link = self.asset_links[asset.pk]
            meters = asset.meters.all()
            meter_ids = {meter: self._remote_meter_id(meter) for meter in meters}
            missing = {meter for meter in meters if self._meter_missing(meter)}
            problems = payloads.asset_problems(asset, meter_ids, missing)
            if problems:
                if link.remote_id and link.missing_at is None and any(m.pk in self._gone_now for m in missing):
                    self._check_still_there(link, asset)
                self._not_sent(link, problems)
                continue
            payload = payloads.asset_payload(asset, meter_ids)
            digest = payloads.fingerprint(payload)
            if link.missing_at is not None:
                self._relink(link, asset, payload, digest)
            elif not link.remote_id:
                self._create_asset(link, asset, payload, digest)
            elif digest != link.fingerprint:
                self._update_asset(link, asset, payloads.changed_fields(link.payload, payload), payload, digest)
            self.lease.keep_alive()

    def _remote_meter_id(self, meter):
        link = self.meter_links.get(meter.pk)  # None: a meter of another portfolio
        return link.remote_id if link is not None and link.missing_at is None else None

    def _meter_missing(self, meter):
        link = self.meter_links.get(meter.pk)
        return link is not None and link.missing_at is not None

    def _not_sent(self, link, problems):
        message = "Not sent: " + " ".join(problems)
        if link.missing_at is not None:
            message = (
                f"WattCarbon has no asset {link.remote_id} any more (deleted there, or the account was reset); "
                f"once it can be sent, a sync links it by its customId or creates it again. {message}"
            )
        self._problem(link, message)

    def _check_still_there(self, link, asset):
        """Its meters just turned out missing on WattCarbon (deleted, an account reset): is the asset there?"""
        if self.dry_run:
            return
        found = self._find(link, asset)
        if found is None or (found is not False and remote_asset_id(found) != link.remote_id):
            self.run.add_log(f"Asset {asset.custom_id}: WattCarbon has no asset {link.remote_id} any more either.")
            link.missing_at = timezone.now()
            link.save(update_fields=["missing_at"])

    def _relink(self, link, asset, payload, digest):
        """An asset missing on WattCarbon: link the one with its customId, or create it again."""
        if self.dry_run:
            self.run.add_log(
                f"Would look asset {asset.custom_id} up by its customId (missing on WattCarbon) and link it, "
                "or create it again."
            )
            return
        found = self._find(link, asset)
        if found is False:
            return
        # Whatever WattCarbon holds now, its events are sent again.
        link.events_fingerprint, link.events_synced_at = "", None
        link.save(update_fields=["events_fingerprint", "events_synced_at"])
        if found is not None:
            self.run.add_log(
                f"Asset {asset.custom_id} was missing on WattCarbon; found asset {remote_asset_id(found)} "
                "by its customId and linked it."
            )
            self._adopt(link, asset, found, payload, digest)
            return
        self.run.add_log(
            f"Asset {asset.custom_id} was missing on WattCarbon; no asset has its customId: creating it again."
        )
        link.remote_id = ""
        self._create_asset(link, asset, payload, digest)

    def _create_asset(self, link, asset, payload, digest):
        if self.dry_run:
            link.remote_id = str(PLANNED)
            self.run.add_log(f"Would create asset {asset.custom_id} ({asset.kind}).")
            return
        tries = self._create_tries()
        for number in range(1, tries + 1):
            try:
                answer = self.api.create_asset(payload, subject=asset)
            except OutcomeUnknown as exc:
                # It may exist now: wait as asked, then look before creating it again, so a retry never
                # makes a twin.
                if not self._wait_before_again(link, exc, number):
                    return
                found = self._find(link, asset)
                if found is False:
                    return
                if found is not None:
                    self.run.add_log(f"{exc} Found asset {asset.custom_id} by its customId; linked it.")
                    self._adopt(link, asset, found, payload, digest)
                    return
                if number == tries:
                    break
                self.run.add_log(f"{exc} Asset {asset.custom_id} is not on WattCarbon; creating it again.")
                continue
            except CallFailed as exc:
                if not names_custom_id(exc):
                    self._refused(link, exc)
                    return
                found = self._find(link, asset)
                if found is None:
                    self._problem(link, f"{exc} But no asset with customId {asset.custom_id!r} can be found.")
                elif found is not False:
                    self.run.add_log(f"Asset {asset.custom_id} already exists on WattCarbon; linked it.")
                    self._adopt(link, asset, found, payload, digest)
                return
            self._accepted(link, payload, digest, remote_id=remote_asset_id(answer))
            self.run.assets_created += 1
            self.run.add_log(f"Created asset {asset.custom_id}: WattCarbon asset {link.remote_id}.")
            return
        self._problem(
            link,
            f"{tries} creates ended without a clear answer and no asset has its customId; the next sync tries again.",
        )

    def _find(self, link, asset):
        """The remote asset with this asset's customId, None if there is none, False if the lookup was refused."""
        try:
            return self.api.find_asset(asset.custom_id, subject=asset)
        except CallFailed as exc:
            self._refused(link, exc)
            return False

    def _adopt(self, link, asset, found, payload, digest):
        """Link an asset found on WattCarbon, then bring its fields in line with ours."""
        link.remote_id, link.missing_at = remote_asset_id(found), None
        link.save(update_fields=["remote_id", "missing_at"])
        remote = {key: value for key, value in found.items() if key in payloads.ASSET_FIELDS and value is not None}
        changes = payloads.changed_fields(remote, payload)
        if changes:
            self._update_asset(link, asset, changes, payload, digest)
        else:
            self._accepted(link, payload, digest)

    def _update_asset(self, link, asset, changes, payload, digest):
        fields = ", ".join(sorted(changes))
        if self.dry_run:
            self.run.add_log(f"Would update asset {asset.custom_id}: {fields}.")
            return
        try:
            self.api.update_asset(link.remote_id, changes, subject=asset)
        except CallFailed as exc:
            self._refused_or_gone(link, exc)
            return
        self._accepted(link, payload, digest)
        self.run.assets_updated += 1
        self.run.add_log(f"Updated asset {asset.custom_id}: {fields}.")

    def _accepted(self, link, payload, digest, remote_id=None):
        if remote_id is not None:
            link.remote_id, link.missing_at = remote_id, None
        link.payload, link.fingerprint, link.synced_at = payload, digest, timezone.now()
        link.save(update_fields=["remote_id", "missing_at", "payload", "fingerprint", "synced_at"])

    # -- 5. demand-response events --------------------------------------------------------------------

    def upload_events(self):
        for asset in self.each("sending event documents", self.assets, "assets"):
            link = self.asset_links[asset.pk]
            if (
                asset.kind not in KINDS_WITH_EVENTS
                or not link.remote_id
                or link.missing_at is not None
                or id(link) in self._failed
            ):
                continue
            pending = payloads.pending_events(asset, link.events_fingerprint)
            if pending is None:
                self._note_no_events(asset, link)
                continue
            document, digest, count = pending
            if self.dry_run:
                self.run.add_log(f"Would upload the events of {asset.custom_id} ({count} event(s)).")
                continue
            try:
                self.api.upload_events(link.remote_id, document, subject=asset)
            except OutcomeUnknown as exc:
                self._problem(link, f"{exc} The events are sent again by the next sync.")
                continue
            except CallFailed as exc:
                self._refused_or_gone(link, exc)
                continue
            link.events_fingerprint, link.events_synced_at = digest, timezone.now()
            link.save(update_fields=["events_fingerprint", "events_synced_at"])
            self.run.documents += 1
            self.run.add_log(f"Uploaded the events of {asset.custom_id}: {count} event(s).")
            self.lease.keep_alive()

    def _note_no_events(self, asset, link):
        """Events all deleted since the last document: said once, and nothing is sent."""
        if not link.events_fingerprint or link.events_fingerprint == payloads.NO_EVENTS or asset.events.all():
            return
        self.run.add_log(
            f"{asset.custom_id} has no events now. WattCarbon refuses an events document without "
            "events, so none was sent; it keeps the events last sent until new ones are added here."
        )
        if not self.dry_run:
            link.events_fingerprint, link.events_synced_at = payloads.NO_EVENTS, timezone.now()
            link.save(update_fields=["events_fingerprint", "events_synced_at"])

    # -- problems ------------------------------------------------------------------------------------

    def _refused(self, link, exc):
        """A refusal of this object's request is its problem; anything else stops the sync."""
        self._problem(link, str(exc))
        if exc.status_code not in OBJECT_STATUSES:
            raise exc

    def _refused_or_gone(self, link, exc):
        """A call on an asset's stored id: a 404 says the asset is missing on WattCarbon."""
        if exc.status_code in GONE_STATUSES:
            self._gone(link, asset_gone(link, exc))
        else:
            self._refused(link, exc)

    def _gone(self, link, message):
        """The stored remote id names nothing on WattCarbon any more: mark the link missing."""
        self._problem(link, message)
        link.missing_at = link.error_at or timezone.now()
        if not self.dry_run:
            link.save(update_fields=["missing_at"])

    def _still_missing(self, link):
        """A meter still missing on WattCarbon: a problem of every sync until a person acts (its message stays)."""
        self._failed.add(id(link))
        self._problem_subjects.append(_subject(link))
        self.run.problems += 1
        self.run.add_log(f"Problem with {_subject(link)}: {link.error}")

    def _problem(self, link, message):
        self._failed.add(id(link))
        self._problem_subjects.append(_subject(link))
        self.run.problems += 1
        self.run.add_log(f"Problem with {_subject(link)}: {message}")
        if not self.dry_run:
            link.record_error(message, timezone.now())
            link.save(update_fields=["error", "error_at"])

    def _clear_old_errors(self):
        """Objects that went through this sync without a problem lose the error of an earlier one."""
        if self.dry_run:
            return
        for links in (self.meter_links, self.asset_links):
            for link in links.values():
                if link.error and id(link) not in self._failed and link.missing_at is None:
                    link.clear_error()
                    link.save(update_fields=["error", "error_at"])


@dataclass
class _MeterUploads:
    """One meter's readings to send: its series in turn, a file (chunk) at a time."""

    link: WattCarbonMeterLink
    meter: Meter
    until: datetime
    series: list[Series]
    chunk: Chunk | None = None  # the file in flight


_DONE = {
    SyncStatus.SYNCED: "Synced up to",
    SyncStatus.NOTHING: "Nothing changed up to",
    SyncStatus.PARTIAL: "Synced, with problems, up to",
    SyncStatus.DRY_RUN: "Dry run up to",
}


def _links(model, account, name, objects, save):
    """object pk → its link to ``account``; missing links are created (or, in a dry run, made in memory)."""
    found = {getattr(link, f"{name}_id"): link for link in model.objects.filter(account=account)}
    missing = [model(account=account, **{name: obj}) for obj in objects if obj.pk not in found]
    if missing and save:
        model.objects.bulk_create(missing, ignore_conflicts=True)
        found = {getattr(link, f"{name}_id"): link for link in model.objects.filter(account=account)}
    else:
        found.update({getattr(link, f"{name}_id"): link for link in missing})
    for obj in objects:
        setattr(found[obj.pk], name, obj)  # no query per link for str()
    return found


def _subject(link):
    if isinstance(link, WattCarbonMeterLink):
        return f"meter {link.meter.name}"
    return f"asset {link.asset.custom_id}"


def _skipped_text(skipped):
    if not skipped:
        return ""
    shown = "; ".join(f"{time_text(hour, 'UTC')}: {reason}" for hour, reason in skipped[:5])
    more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    return f" {len(skipped)} hour(s) left out: {shown}{more}."
