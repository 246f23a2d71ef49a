"""What the sandbox received, and what it should have: recomputed from the observations."""

import csv
import io
import math
from collections import defaultdict
from datetime import UTC
from zoneinfo import ZoneInfo

from django_q.tasks import async_task

from portfolio.models import Observation, Sensor
from sandbox.csvcheck import HEADERS as SANDBOX_HEADERS
from uploads.models import Attempt, UploadRun

# The contract's headers as the sandbox checks them: written from the contract, apart from the
# app's own constant (portfolio.ingest.formats), so the tests would notice if that one were wrong.
HEADERS = list(SANDBOX_HEADERS)


def run_task(integration):
    """One scheduled run, through django-q2 exactly as the Schedule calls it."""
    async_task("uploads.tasks.upload_raptormaps", integration.pk)
    return UploadRun.objects.filter(integration=integration).order_by("-id").first()


def received_rows(sandbox):
    """Every data row the sandbox accepted, in upload order, as dicts."""
    rows = []
    for upload in sandbox.uploads():
        assert upload["valid"], upload["problems"]
        reader = csv.reader(io.StringIO(sandbox.upload_content(upload["key"]).decode()))
        assert next(reader) == HEADERS
        rows.extend(dict(zip(HEADERS, row, strict=True)) for row in reader)
    return rows


def expected_rows(farm, basis="local"):
    """(equipment_id, sensor key, observation_time) → value, recomputed from the observations."""
    zone = ZoneInfo(farm.timezone) if basis == "local" else UTC
    buckets = defaultdict(list)
    for sensor in Sensor.objects.filter(equipment__farm=farm).select_related("equipment"):
        for observation in Observation.objects.filter(sensor=sensor):
            local = observation.observed_at.astimezone(zone)
            start = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
            key = (sensor.equipment.equipment_id, sensor.sensor_id or sensor.sensor_type, f"{start:%Y-%m-%d %H:%M:%S}")
            buckets[(key, sensor.sensor_type)].append(observation.value)
    expected = {}
    for (key, sensor_type), values in buckets.items():
        expected[key] = max(values) if sensor_type == "production_meter_energy" else sum(values) / len(values)
    return expected


def as_values(rows):
    return {
        (row["equipment_id"], row["sensor_id"] or row["sensor_type"], row["observation_time"]): float(
            row["measured_value"]
        )
        for row in rows
    }


def assert_values_match(rows, expected):
    got = as_values(rows)
    assert len(got) == len(rows), "duplicate (sensor, observation_time) rows"
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert math.isclose(got[key], value, rel_tol=1e-12), key


def operations(run=None):
    attempts = Attempt.objects.order_by("id")
    if run is not None:
        attempts = attempts.filter(run=run)
    return [(a.operation, a.status_code, a.outcome) for a in attempts]
