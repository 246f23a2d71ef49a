"""Keep django-q2's Schedule rows in line with the integrations: one per enabled integration.

Called when an integration is saved or deleted (uploads/signals.py) and by
``manage.py upload_raptormaps --sync-schedules``; rows are found by name, so calling it again
changes nothing.
"""

import math
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from uploads.models import RaptorMapsIntegration

__all__ = ["RAPTORMAPS_TASK", "raptormaps_schedule_name", "sync_all_schedules", "sync_raptormaps_schedule"]

RAPTORMAPS_TASK = "uploads.tasks.upload_raptormaps"


def raptormaps_schedule_name(integration_pk):
    return f"Raptor Maps upload: integration {integration_pk}"


def sync_raptormaps_schedule(integration):
    """Create, change or remove the schedule of one integration (``integration`` may be deleted)."""
    name = raptormaps_schedule_name(integration.pk)
    exists = RaptorMapsIntegration.objects.filter(pk=integration.pk, enabled=True).exists()
    if not exists:
        Schedule.objects.filter(name=name).delete()
        return None
    minutes = max(1, math.ceil(integration.interval_seconds / 60))
    schedule = Schedule.objects.filter(name=name).first()
    wanted = {"func": RAPTORMAPS_TASK, "args": repr((integration.pk,)), "schedule_type": Schedule.MINUTES}
    if schedule is None:
        # A new integration starts sending as soon as what was just ingested is past the safety lag
        # (uploads/raptormaps/window.py): sooner, its first run would find nothing it may send.
        first_run = timezone.now() + timedelta(seconds=settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS + 5)
        return Schedule.objects.create(name=name, minutes=minutes, next_run=first_run, repeats=-1, **wanted)
    changed = {key: value for key, value in {**wanted, "minutes": minutes}.items() if getattr(schedule, key) != value}
    if changed:
        for key, value in changed.items():
            setattr(schedule, key, value)
        schedule.save()
    return schedule


def sync_all_schedules():
    """Every integration's schedule, and no schedule left for an integration that is gone."""
    for integration in RaptorMapsIntegration.objects.all():
        sync_raptormaps_schedule(integration)
    known = {raptormaps_schedule_name(pk) for pk in RaptorMapsIntegration.objects.values_list("pk", flat=True)}
    stale = Schedule.objects.filter(func=RAPTORMAPS_TASK).exclude(name__in=known)
    return stale.delete()[0]
