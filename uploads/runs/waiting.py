"""What a run could not send yet, said plainly, and the one-off run that sends it once it is due.

A run sends what was ingested up to its horizon (uploads/runs/horizon.py). Readings ingested after it
wait: for the safety lag, until the newest of them is that old; or for a running import, with no
time known. A WattCarbon sync also derives only complete hours: the hour its production meter
was last read in waits until a reading after its end arrives. The run says so in ``waiting``
(shown in the admin and by the commands) and in its log, and, when the wait ends at a known time,
leaves one follow-up run for then (uploads/runs/schedules.py) unless the regular schedule comes first.
The status stays what it was (uploaded, synced, nothing new): what was due was sent.
"""

from dataclasses import dataclass, field
from datetime import UTC, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from portfolio.models import BillReading, ImportRecord, IntervalReading, Observation
from portfolio.production import HOUR, source_sensor
from portfolio.timefmt import time_text
from uploads.runs import schedules

__all__ = ["FOLLOW_UP_MARGIN", "OpenHour", "Waiting", "raptormaps_waiting", "settle", "wattcarbon_waiting"]

# A follow-up starts this long after its readings are due: the horizon is computed from the clock
# of whichever worker runs it.
FOLLOW_UP_MARGIN = timedelta(seconds=5)
# A derived hour still waits for its closing reading this long after it ended; then the meter has stopped.
OPEN_HOUR_PATIENCE = timedelta(hours=1)
# A run's note names this many meters whose hour is not over; the rest are counted.
HOURS_NAMED = 3


@dataclass(frozen=True)
class OpenHour:
    """The hour a derived meter was last read in: derived once a reading after its end arrives."""

    meter: str
    start: object
    readings: int

    @property
    def end(self):
        return self.start + HOUR

    def due_at(self):
        """The earliest a reading after its end can be past the safety lag."""
        return self.end + _lag()


@dataclass
class Waiting:
    """What one run left for later."""

    horizon: object
    readings: int = 0
    newest: object = None  # the newest ingested_at among them
    held_by: ImportRecord | None = None  # the running import that holds the horizon back
    hours: list = field(default_factory=list)  # OpenHour

    @property
    def readings_due_at(self):
        """When the last waiting reading is past the safety lag; None while an import holds them."""
        if not self.readings or self.held_by is not None:
            return None
        return self.newest + _lag()

    def due_at(self, now):
        """The first moment, after ``now``, at which something waiting is due; None if no such time is known."""
        times = [self.readings_due_at, *(hour.due_at() for hour in self.hours)]
        future = [moment for moment in times if moment is not None and moment > now]
        return min(future, default=None)

    def __bool__(self):
        return bool(self.readings or self.hours)

    def sentence(self, done):
        """'Synced up to 2026-12-06 14:00:00 UTC; 1,240 readings wait for the 60 s safety lag, until ...'."""
        parts = []
        wait = f"{_count(self.readings, 'reading')} {'waits' if self.readings == 1 else 'wait'}"
        if self.readings and self.held_by is not None:
            record = self.held_by
            parts.append(
                f"{wait} for the import of {record.file_name} (running since {_at(record.started_at)}) to finish"
            )
        elif self.readings:
            parts.append(f"{wait} for the {_lag_seconds():g} s safety lag, until {_at(self.readings_due_at)}")
        if self.hours:
            named = "; ".join(
                f"{hour.meter} from {_at(hour.start)} to {_at(hour.end)} ({_count(hour.readings, 'reading')} so far)"
                for hour in self.hours[:HOURS_NAMED]
            )
            more = f"; and {len(self.hours) - HOURS_NAMED} more" if len(self.hours) > HOURS_NAMED else ""
            hours = _count(len(self.hours), "derived hour")
            parts.append(
                f"{hours} {'waits' if len(self.hours) == 1 else 'wait'} for a reading after its end: {named}{more}"
            )
        return f"{done} {_at(self.horizon, up=False)}; " + "; ".join(parts) + "."


def raptormaps_waiting(farms, horizon):
    """The observations of ``farms`` ingested after ``horizon``."""
    observations = Observation.objects.filter(sensor__equipment__farm__in=farms, ingested_at__gt=horizon)
    return _after_horizon(horizon, [observations])


def wattcarbon_waiting(meters, horizon, derived_at):
    """What a sync of ``meters`` left: readings ingested after the horizon, and hours not over.

    ``derived_at``: meter pk → the stamp of the intervals the sync derived (and sent) for it.
    Readings of production meters' sensors count too: they become derived hours.
    """
    sent_through = {pk: max(stamp, horizon) for pk, stamp in derived_at.items()}
    derived_later = Q()
    for pk, stamp in sent_through.items():
        derived_later |= Q(meter_id=pk, ingested_at__lte=stamp)
    intervals = IntervalReading.objects.filter(meter__in=meters, ingested_at__gt=horizon)
    if sent_through:
        intervals = intervals.exclude(derived_later)
    bills = BillReading.objects.filter(meter__in=meters, ingested_at__gt=horizon)
    fed = [(meter, source_sensor(meter)) for meter in meters if meter.source_equipment_id is not None]
    fed = [(meter, sensor) for meter, sensor in fed if sensor is not None]
    observations = Observation.objects.filter(sensor__in=[sensor for _, sensor in fed], ingested_at__gt=horizon)
    waiting = _after_horizon(horizon, [intervals, bills, observations])
    waiting.hours = [hour for meter, sensor in fed if (hour := _open_hour(meter, sensor, horizon)) is not None]
    return waiting


def settle(run, owner, waiting, noun, done, *, dry_run=False, now=None):
    """Say what ``run`` left waiting (its ``waiting`` and log) and leave one follow-up run for when it is due.

    ``noun`` names a run of its kind ("run", "sync"), ``done`` what it did up to its horizon
    ("Sent up to"). A dry run only says it. A run that left nothing due at a known time removes
    a follow-up still pending: what it was for has been sent.
    """
    now = now or timezone.now()
    if not waiting:
        run.waiting = ""
        if not dry_run:
            schedules.cancel_follow_up(owner)
        return
    note = waiting.sentence(done)
    due = waiting.due_at(now)
    if dry_run:
        pass
    elif due is None:
        schedules.cancel_follow_up(owner)
        if owner.enabled:
            note += f" The next scheduled {noun} sends them once they are due."
        else:
            note += f" Nothing is scheduled: the {owner._meta.verbose_name} is disabled."
    else:
        when, follow_up = schedules.follow_up(owner, due + FOLLOW_UP_MARGIN)
        if follow_up is not None:
            note += f" A follow-up {noun} is scheduled for {_at(when)}."
        elif when is not None:
            note += f" The next scheduled {noun}, at {_at(when)}, sends them."
        else:
            note += f" Nothing is scheduled: the {owner._meta.verbose_name} is disabled."
    run.waiting = note
    run.add_log(note)


def _after_horizon(horizon, querysets):
    waiting = Waiting(horizon=horizon)
    for rows in querysets:
        found = rows.aggregate(count=Count("pk"), newest=Max("ingested_at"))
        if found["count"]:
            waiting.readings += found["count"]
            waiting.newest = max(filter(None, [waiting.newest, found["newest"]]))
    if waiting.readings:
        waiting.held_by = _holding_import(horizon)
    return waiting


def _holding_import(horizon):
    """The running readings import that holds the horizon back (uploads/runs/horizon.py), if one does."""
    return (
        ImportRecord.objects.filter(
            status=ImportRecord.Status.RUNNING, kind=ImportRecord.Kind.READINGS, started_at__lte=horizon
        )
        .order_by("started_at")
        .first()
    )


def _open_hour(meter, sensor, horizon):
    """The hour ``sensor`` was last read in (never complete: no later reading exists yet), while one
    may still come: an hour over for longer than OPEN_HOUR_PATIENCE is a meter that stopped
    reporting, not work that waits (the dashboard's freshness is the place for that)."""
    latest = Observation.objects.filter(sensor=sensor).aggregate(latest=Max("observed_at"))["latest"]
    if latest is None:
        return None
    start = latest.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if start + timedelta(hours=1) + OPEN_HOUR_PATIENCE < horizon:
        return None
    readings = Observation.objects.filter(sensor=sensor, observed_at__gte=start).count()
    return OpenHour(meter=meter.name, start=start, readings=readings)


def _count(number, noun):
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _lag_seconds():
    return settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS


def _lag():
    return timedelta(seconds=_lag_seconds())


def _at(moment, *, up=True):
    """A time as the runs' logs write it, to the second: rounded up for when something is due."""
    utc = moment.astimezone(UTC)
    if up and utc.microsecond:
        utc += timedelta(seconds=1)
    return time_text(utc, UTC, precision="seconds")
