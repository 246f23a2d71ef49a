"""The worker's schedules and when each runs next, in words.

A schedule due longer than HEALTHZ_SCHEDULER_STALE_SECONDS has not been picked up: the worker
(``manage.py qcluster``) is probably not running, which /healthz reports too. Only names and
times are shown: a schedule's function and arguments are the administrator's business.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils.timesince import timesince
from django_q.models import Schedule

from uploads.runs.schedules import RAPTORMAPS_TASK, WATTCARBON_TASK

__all__ = ["SCHEDULES_SHOWN", "ScheduleDue", "Schedules", "schedules_due"]

SCHEDULES_SHOWN = 20
TASK_WORDS = {RAPTORMAPS_TASK: "Raptor Maps upload", WATTCARBON_TASK: "WattCarbon sync"}
EVERY = {
    Schedule.HOURLY: "every hour",
    Schedule.DAILY: "every day",
    Schedule.WEEKLY: "every week",
    Schedule.MONTHLY: "every month",
    Schedule.QUARTERLY: "every quarter",
    Schedule.YEARLY: "every year",
    Schedule.ONCE: "once",
}


@dataclass
class ScheduleDue:
    schedule: Schedule
    what: str
    every: str
    next_run: object
    next_words: str
    overdue: bool


@dataclass
class Schedules:
    shown: list
    total: int

    @property
    def overdue(self):
        return sum(item.overdue for item in self.shown)


def schedules_due(now):
    """The next :data:`SCHEDULES_SHOWN` schedules, soonest (or most overdue) first."""
    fields = ("name", "func", "schedule_type", "minutes", "cron", "next_run", "repeats")
    rows = list(Schedule.objects.only(*fields).order_by("next_run", "name")[:SCHEDULES_SHOWN])
    total = len(rows) if len(rows) < SCHEDULES_SHOWN else Schedule.objects.count()
    late = timedelta(seconds=settings.HEALTHZ_SCHEDULER_STALE_SECONDS)
    return Schedules(shown=[_due(schedule, now, late) for schedule in rows], total=total)


def _due(schedule, now, late):
    moment = schedule.next_run
    if moment is None:
        words, overdue = "not planned", False
    elif moment >= now:
        words, overdue = (
            f"in {timesince(now, moment, depth=1)}" if moment - now >= timedelta(minutes=1) else "now",
            False,
        )
    else:
        overdue = now - moment > late
        words = f"overdue by {timesince(moment, now, depth=1)}" if overdue else "now"
    return ScheduleDue(
        schedule=schedule,
        what=TASK_WORDS.get(schedule.func, "housekeeping"),
        every=_every(schedule),
        next_run=moment,
        next_words=words,
        overdue=overdue,
    )


def _every(schedule):
    if schedule.schedule_type == Schedule.MINUTES:
        minutes = schedule.minutes or 1
        return "every minute" if minutes == 1 else f"every {minutes} minutes"
    if schedule.schedule_type == Schedule.CRON:
        return f"cron {schedule.cron}"
    return EVERY.get(schedule.schedule_type, schedule.get_schedule_type_display())
