"""One django-q2 Schedule per enabled integration, following it as it changes."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from tests.uploads.integrations import make_integration
from uploads.runs import schedules
from uploads.runs.schedules import (
    RAPTORMAPS_TASK,
    raptormaps_follow_up_name,
    raptormaps_schedule_name,
    sync_all_schedules,
)

pytestmark = pytest.mark.django_db(transaction=True)  # schedules follow saves on commit


def schedule_of(integration):
    return Schedule.objects.filter(name=raptormaps_schedule_name(integration.pk)).first()


def test_an_enabled_integration_gets_a_schedule_that_runs_soon_then_every_interval(settings):
    settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS = 60
    before = timezone.now()
    integration = make_integration()
    schedule = schedule_of(integration)
    # Once what was just ingested is past the safety lag, not sooner (it could send nothing yet).
    assert before + timedelta(seconds=65) <= schedule.next_run <= timezone.now() + timedelta(seconds=65)
    assert schedule.func == RAPTORMAPS_TASK
    assert schedule.args == f"({integration.pk},)"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 15, -1)


def test_the_schedule_follows_interval_changes_learned_and_set():
    integration = make_integration()
    integration.remote_interval_seconds = 300
    integration.save()
    assert schedule_of(integration).minutes == 5
    integration.upload_interval_seconds = 3600
    integration.save()
    assert schedule_of(integration).minutes == 60
    # Odd seconds round up to whole minutes, which is what django-q2 schedules in.
    integration.upload_interval_seconds = 90
    integration.save()
    assert schedule_of(integration).minutes == 2


def test_disabling_or_deleting_removes_the_schedule():
    integration = make_integration()
    integration.enabled = False
    integration.save()
    assert schedule_of(integration) is None
    integration.enabled = True
    integration.save()
    assert schedule_of(integration) is not None
    pk = integration.pk
    integration.delete()
    assert not Schedule.objects.filter(name=raptormaps_schedule_name(pk)).exists()


def test_sync_all_removes_strays_and_is_idempotent():
    integration = make_integration()
    Schedule.objects.create(name=raptormaps_schedule_name(9999), func=RAPTORMAPS_TASK, args="(9999,)")
    assert sync_all_schedules() == 1
    assert sync_all_schedules() == 0
    assert list(Schedule.objects.filter(func=RAPTORMAPS_TASK).values_list("name", flat=True)) == [
        raptormaps_schedule_name(integration.pk)
    ]


def test_a_follow_up_is_not_a_stray_and_goes_with_its_integration():
    integration = make_integration()
    at = timezone.now() + timedelta(minutes=2)
    regular = schedule_of(integration)
    regular.next_run = timezone.now() + timedelta(hours=1)
    regular.save()
    when, follow_up = schedules.follow_up(integration, at)
    assert (when, follow_up.schedule_type, follow_up.func) == (at, Schedule.ONCE, RAPTORMAPS_TASK)
    # Asked again, the one follow-up moves.
    later = at + timedelta(seconds=30)
    assert schedules.follow_up(integration, later)[1].pk == follow_up.pk
    assert Schedule.objects.get(name=raptormaps_follow_up_name(integration.pk)).next_run == later

    assert sync_all_schedules() == 0
    assert Schedule.objects.filter(name=raptormaps_follow_up_name(integration.pk)).exists()
    integration.enabled = False
    integration.save()
    assert not Schedule.objects.filter(func=RAPTORMAPS_TASK).exists()


def test_a_follow_up_left_by_a_deleted_integration_is_a_stray():
    Schedule.objects.create(
        name=raptormaps_follow_up_name(9999), func=RAPTORMAPS_TASK, args="(9999,)", schedule_type=Schedule.ONCE
    )
    assert sync_all_schedules() == 1


def test_no_follow_up_when_the_regular_run_comes_first():
    integration = make_integration()
    regular = schedule_of(integration)
    when, follow_up = schedules.follow_up(integration, regular.next_run + timedelta(seconds=1))
    assert (when, follow_up) == (regular.next_run, None)
    assert not Schedule.objects.filter(name=raptormaps_follow_up_name(integration.pk)).exists()
