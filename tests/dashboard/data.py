"""Farms with readings at chosen times, runs and syncs at chosen moments: what the dashboard tests build."""

from datetime import timedelta

from django.utils import timezone

from portfolio.models import Observation
from tests.factories import EquipmentFactory, FarmFactory, SensorFactory
from uploads.models import Attempt, AttemptOutcome, RunStatus, RunTrigger, Service, SyncRun, SyncStatus, UploadRun


def farm(portfolio, farm_id, last=None, sensors=2):
    """A farm with ``sensors`` sensors; with ``last``, the first sensor's latest reading is at ``last``
    and the others' are older (the farm's last reading is the latest of its sensors')."""
    made = FarmFactory(portfolio=portfolio, farm_id=farm_id, name=f"Farm {farm_id}")
    equipment = EquipmentFactory(farm=made)
    for number in range(sensors):
        sensor = SensorFactory(equipment=equipment)
        if last is not None:
            Observation.objects.bulk_create(
                Observation(sensor=sensor, observed_at=last - timedelta(minutes=15 * (step + number)), value=1.0)
                for step in range(4)
            )
    return made


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def run(integration, status, queued, error="", attempts=0):
    """An upload run queued at ``queued``, finished a minute later, with ``attempts`` failed PUTs."""
    record = UploadRun.objects.create(integration=integration, status=status, trigger=RunTrigger.SCHEDULE, error=error)
    UploadRun.objects.filter(pk=record.pk).update(
        queued_at=queued, started_at=queued, finished_at=queued + timedelta(minutes=1)
    )
    for number in range(attempts):
        Attempt.objects.create(
            service=Service.RAPTORMAPS,
            operation="put",
            method="PUT",
            url="https://storage.example/part.csv?[redacted]",
            status_code=403,
            outcome=AttemptOutcome.GAVE_UP if number == attempts - 1 else AttemptOutcome.RETRY,
            error="HTTP 403 Forbidden",
            started_at=queued + timedelta(seconds=number),
            duration_ms=12,
            run=record,
        )
    record.refresh_from_db()
    return record


def sync(account, status, queued, error="", **counts):
    record = SyncRun.objects.create(account=account, status=status, trigger=RunTrigger.SCHEDULE, error=error, **counts)
    SyncRun.objects.filter(pk=record.pk).update(queued_at=queued, finished_at=queued + timedelta(minutes=1))
    record.refresh_from_db()
    return record


__all__ = ["RunStatus", "SyncStatus", "ago", "farm", "run", "sync"]
