"""Keep django-q2's Schedule rows in line with the integrations and accounts: one per enabled one.

Called when a Raptor Maps integration or a WattCarbon account is saved or deleted
(uploads/signals.py) and by ``manage.py upload_raptormaps --sync-schedules`` /
``sync_wattcarbon --sync-schedules``; rows are found by name, so calling it again changes nothing.

Besides its regular schedule, an integration or account may have one follow-up: a one-off run
that a run left behind for the readings it could not send yet (uploads/runs/waiting.py). It has a name
of its own, so there is never more than one, and goes with its integration or account.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from uploads.models import RaptorMapsIntegration, WattCarbonAccount

__all__ = [
    "RAPTORMAPS_TASK",
    "WATTCARBON_TASK",
    "cancel_follow_up",
    "follow_up",
    "raptormaps_follow_up_name",
    "raptormaps_schedule_name",
    "sync_all_schedules",
    "sync_raptormaps_schedule",
    "sync_wattcarbon_schedule",
    "wattcarbon_follow_up_name",
    "wattcarbon_schedule_name",
]

RAPTORMAPS_TASK = "uploads.tasks.upload_raptormaps"
WATTCARBON_TASK = "uploads.tasks.sync_wattcarbon"


@dataclass(frozen=True)
class _Job:
    model: type
    task: str
    name: str  # with {pk}
    follow_up_name: str  # with {pk}

    def schedule_name(self, pk):
        return self.name.format(pk=pk)

    def follow_up_schedule_name(self, pk):
        return self.follow_up_name.format(pk=pk)

    def sync(self, obj):
        """Create, change or remove the schedule of one object (``obj`` may be deleted)."""
        name = self.schedule_name(obj.pk)
        if not self.model.objects.filter(pk=obj.pk, enabled=True).exists():
            Schedule.objects.filter(name__in=[name, self.follow_up_schedule_name(obj.pk)]).delete()
            return None
        minutes = max(1, math.ceil(obj.interval_seconds / 60))
        wanted = {"func": self.task, "args": repr((obj.pk,)), "schedule_type": Schedule.MINUTES, "minutes": minutes}
        schedule = Schedule.objects.filter(name=name).first()
        if schedule is None:
            # The first run comes as soon as what was just ingested is past the safety lag
            # (uploads/runs/horizon.py): sooner, it would find nothing it may send.
            first_run = timezone.now() + timedelta(seconds=settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS + 5)
            return Schedule.objects.create(name=name, next_run=first_run, repeats=-1, **wanted)
        changed = {key: value for key, value in wanted.items() if getattr(schedule, key) != value}
        if changed:
            for key, value in changed.items():
                setattr(schedule, key, value)
            schedule.save()
        return schedule

    def sync_all(self):
        """Every object's schedule; returns how many schedules of objects that are gone were removed."""
        pks = list(self.model.objects.values_list("pk", flat=True))
        for obj in self.model.objects.all():
            self.sync(obj)
        enabled = self.model.objects.filter(enabled=True).values_list("pk", flat=True)
        known = {self.schedule_name(pk) for pk in pks} | {self.follow_up_schedule_name(pk) for pk in enabled}
        return Schedule.objects.filter(func=self.task).exclude(name__in=known).delete()[0]

    def follow_up(self, obj, at):
        """One run of ``obj`` at ``at``, unless its regular schedule comes by then.

        Returns ``(when, schedule)``: the follow-up's time and row, or the regular run's time and
        None; ``(None, None)`` when no run will come (``obj`` is disabled: its schedules are off).
        A follow-up already pending is moved, not doubled.
        """
        if not self.model.objects.filter(pk=obj.pk, enabled=True).exists():
            self.cancel_follow_up(obj)
            return None, None
        regular = Schedule.objects.filter(name=self.schedule_name(obj.pk)).values_list("next_run", flat=True).first()
        if regular is not None and regular <= at:
            self.cancel_follow_up(obj)
            return regular, None
        schedule, _ = Schedule.objects.update_or_create(
            name=self.follow_up_schedule_name(obj.pk),
            defaults={
                "func": self.task,
                "args": repr((obj.pk,)),
                "schedule_type": Schedule.ONCE,
                "repeats": -1,  # django-q2 deletes a ONCE schedule that fired
                "next_run": at,
            },
        )
        return at, schedule

    def cancel_follow_up(self, obj):
        Schedule.objects.filter(name=self.follow_up_schedule_name(obj.pk)).delete()


_RAPTORMAPS = _Job(
    RaptorMapsIntegration,
    RAPTORMAPS_TASK,
    "Raptor Maps upload: integration {pk}",
    "Raptor Maps upload: follow-up of integration {pk}",
)
_WATTCARBON = _Job(
    WattCarbonAccount, WATTCARBON_TASK, "WattCarbon sync: account {pk}", "WattCarbon sync: follow-up of account {pk}"
)
_JOBS = {RaptorMapsIntegration: _RAPTORMAPS, WattCarbonAccount: _WATTCARBON}

raptormaps_schedule_name = _RAPTORMAPS.schedule_name
wattcarbon_schedule_name = _WATTCARBON.schedule_name
sync_raptormaps_schedule = _RAPTORMAPS.sync
sync_wattcarbon_schedule = _WATTCARBON.sync
raptormaps_follow_up_name = _RAPTORMAPS.follow_up_schedule_name
wattcarbon_follow_up_name = _WATTCARBON.follow_up_schedule_name


def follow_up(obj, at):
    """A one-off run of an integration or account at ``at`` (see ``_Job.follow_up``)."""
    return _JOBS[type(obj)].follow_up(obj, at)


def cancel_follow_up(obj):
    """Remove the pending follow-up of an integration or account, if any: nothing waits for it now."""
    _JOBS[type(obj)].cancel_follow_up(obj)


def sync_all_schedules():
    """Every integration's and account's schedule; returns how many stale schedules were removed."""
    return _RAPTORMAPS.sync_all() + _WATTCARBON.sync_all()
