"""Upload runs end to end: the django-q2 task (sync mode) → the service → HTTP → the sandbox on 127.0.0.1.

The sandbox is a real server (sandbox/) that checks tokens, signed URLs and the CSV
strictly, so what it accepted is what Raptor Maps would be sent. Expected values are
recomputed here from the observations, independently of the CSV generator.
"""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_q.tasks import async_task

from portfolio.models import Observation, Sensor
from sandbox import raptormaps as sandbox_defaults
from tests.uploads.expectations import (
    assert_values_match,
    expected_rows,
    operations,
    received_rows,
    run_task,
)
from tests.uploads.integrations import make_farm_with_readings, make_integration, make_portfolio
from uploads.models import Attempt, RunStatus, UploadRun, UploadWatermark
from uploads.raptormaps.service import queue_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries")]


# -- the happy path --------------------------------------------------------------------------


def test_a_run_uploads_every_reading_value_by_value(sandbox, integration, sync_worker):
    run = run_task(integration)
    assert run.status == RunStatus.UPLOADED, run.error
    rows = received_rows(sandbox)
    farm = integration.covered_farms().get()
    assert_values_match(rows, expected_rows(farm))
    first = rows[0]
    assert (first["farm_id"], first["farm_name"], first["timezone"]) == ("NY-1", "Farm NY-1", "America/New_York")
    assert first["commissioning date"] == "2020-01-02 10:30:00"  # local time, like observation_time
    assert (run.parts, run.rows, run.readings) == (1, len(rows), Observation.objects.count())
    part = run.file_parts.get()
    assert part.status == "uploaded" and part.sha256 == sandbox.uploads()[0]["sha256"]
    assert operations(run) == [
        ("token", 200, "ok"),
        ("org_integrations", 200, "ok"),
        ("signed_url", 200, "ok"),
        ("put", 200, "ok"),
    ]
    assert UploadWatermark.objects.get(integration=integration, farm=farm).ingested_through == run.window_end
    assert run.task_id and Attempt.objects.filter(run=run).exclude(task_id=run.task_id).count() == 0
    integration.refresh_from_db()
    assert integration.remote_interval_seconds == 900  # learned from the org integration


def test_the_next_run_sends_nothing_then_only_the_late_reading_with_its_whole_bucket(sandbox, integration, sync_worker):
    run_task(integration)
    quiet = run_task(integration)
    assert quiet.status == RunStatus.NOTHING
    assert operations(quiet) == []
    assert len(sandbox.uploads()) == 1

    # A reading arrives late for a bucket that was sent already: the bucket goes again, complete.
    sensor = Sensor.objects.get(sensor_type="ac_power")
    late_time = datetime(2024, 6, 1, 12, 2, 30, tzinfo=UTC)
    Observation.objects.create(sensor=sensor, observed_at=late_time, value=5000.0)
    late = run_task(integration)
    assert late.status == RunStatus.UPLOADED
    rows = received_rows(sandbox)[-late.rows :]
    assert late.rows == 1
    bucket_values = list(
        Observation.objects.filter(sensor=sensor, observed_at__lt=datetime(2024, 6, 1, 12, 15, tzinfo=UTC))
        .filter(observed_at__gte=datetime(2024, 6, 1, 12, 0, tzinfo=UTC))
        .values_list("value", flat=True)
    )
    assert len(bucket_values) == 4
    assert rows[0]["observation_time"] == "2024-06-01 08:00:00"
    assert math.isclose(float(rows[0]["measured_value"]), sum(bucket_values) / 4, rel_tol=1e-12)


def test_utc_basis(sandbox, integration, sync_worker):
    integration.time_basis = "utc"
    integration.save()
    run_task(integration)
    rows = received_rows(sandbox)
    assert {row["timezone"] for row in rows} == {"UTC"}
    assert_values_match(rows, expected_rows(integration.covered_farms().get(), basis="utc"))


# -- daylight saving -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "note"),
    [
        (datetime(2024, 11, 3, 4, 0, tzinfo=UTC), "occurs twice"),  # 00:00 EDT → fall back at 02:00 EDT
        (datetime(2024, 3, 10, 5, 0, tzinfo=UTC), None),  # 00:00 EST → spring forward at 02:00 EST
    ],
)
def test_daylight_saving_days_have_no_duplicate_rows_and_say_what_was_done(sandbox, sync_worker, start, note):
    portfolio = make_portfolio()
    farm = make_farm_with_readings(portfolio, start=start, hours=5, step_minutes=5)
    integration = make_integration(
        portfolio=portfolio,
        base_url=sandbox.url,
        api_token=sandbox_defaults.DEFAULT_API_TOKEN,
        integration_id=sandbox_defaults.DEFAULT_INTEGRATION_ID,
    )
    run = run_task(integration)
    assert run.status == RunStatus.UPLOADED, run.error
    rows = received_rows(sandbox)
    # expected_rows keys by the local label, so the repeated hour's two occurrences merge there too.
    assert_values_match(rows, expected_rows(farm))
    if note:
        assert note in run.log
        assert "01:00" in run.log
    else:
        times = {row["observation_time"] for row in rows}
        assert not any(time.startswith("2024-03-10 02:") for time in times)  # the hour that does not exist


# -- parts -----------------------------------------------------------------------------------


def test_a_tiny_byte_cap_splits_the_file_into_parts_each_with_its_own_signed_url(sandbox, integration, sync_worker):
    integration.part_bytes = 1200
    integration.save()
    run = run_task(integration)
    assert run.status == RunStatus.UPLOADED, run.error
    uploads = sandbox.uploads()
    assert run.parts == len(uploads) > 3
    assert all(upload["bytes"] <= 1200 for upload in uploads)
    assert len({upload["key"] for upload in uploads}) == len(uploads)
    assert [op for op, _, _ in operations(run)].count("signed_url") == run.parts
    assert_values_match(received_rows(sandbox), expected_rows(integration.covered_farms().get()))
    assert [part.sha256 for part in run.file_parts.all()] == [upload["sha256"] for upload in uploads]


# -- faults survived -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "fault", "first_attempt"),
    [
        ("token", {"status": 503}, (503, "retry")),
        ("org_integrations", {"status": 502}, (502, "retry")),
        ("signed_url", {"status": 429, "retry_after": 1}, (429, "retry")),
        ("signed_url", {"status": 500}, (500, "retry")),
        ("put", {"status": 503, "retry_after": 1}, (503, "retry")),
        ("put", {"status": 504}, (504, "retry")),
        ("put", {"mode": "reset"}, (None, "retry")),
        ("put", {"mode": "timeout", "seconds": 4}, (None, "retry")),
        ("signed_url", {"mode": "timeout", "seconds": 4}, (None, "retry")),
        ("token", {"mode": "reset"}, (None, "retry")),
    ],
)
def test_each_fault_is_survived_and_every_attempt_recorded(
    sandbox, integration, sync_worker, operation, fault, first_attempt
):
    sandbox.fault(operation, **fault)
    run = run_task(integration)
    assert run.status == RunStatus.UPLOADED, run.error
    attempts = [(status, outcome) for op, status, outcome in operations(run) if op == operation]
    assert attempts == [first_attempt, (200, "ok")]
    retried = Attempt.objects.get(run=run, operation=operation, outcome="retry")
    assert retried.duration_ms >= 0 and retried.retry_in_seconds is not None
    if fault.get("retry_after"):
        assert retried.retry_in_seconds == fault["retry_after"]
    if fault.get("mode") == "timeout":
        assert retried.error == "timed out waiting for the answer"
    if fault.get("mode") == "reset":
        assert retried.error == "the connection was reset"
    assert_values_match(received_rows(sandbox), expected_rows(integration.covered_farms().get()))


def test_a_put_retried_after_a_reset_uses_a_fresh_signed_url(sandbox, integration, sync_worker):
    sandbox.fault("put", mode="reset")
    run = run_task(integration)
    assert [op for op, _, _ in operations(run)][-4:] == ["signed_url", "put", "signed_url", "put"]
    assert len(sandbox.uploads()) == 1  # the cut-off body was not kept as a file


def test_an_expired_signed_url_is_renewed(sandbox, integration, sync_worker):
    sandbox.fault("signed_url", mode="expired")
    run = run_task(integration)
    assert run.status == RunStatus.UPLOADED, run.error
    puts = Attempt.objects.filter(run=run, operation="put").order_by("id")
    assert [(a.status_code, a.outcome) for a in puts] == [(403, "retry"), (200, "ok")]
    assert "signed URL expired; requesting a new one" in puts[0].error
    assert "expired" in puts[0].response_excerpt.lower()
    assert [op for op, _, _ in operations(run)].count("signed_url") == 2


def test_a_token_refused_mid_run_is_renewed_once(sandbox, integration, sync_worker):
    sandbox.fault("signed_url", status=401)
    run = run_task(integration)
    assert run.status == RunStatus.UPLOADED, run.error
    assert [op for op, _, _ in operations(run)].count("token") == 2
    assert ("signed_url", 401, "retry") in operations(run)


def test_a_cached_token_is_reused_by_the_next_run_and_renewed_when_it_expires(sandbox, integration, sync_worker):
    run_task(integration)
    Observation.objects.update(ingested_at=timezone.now())  # new data for the next run
    second = run_task(integration)
    assert [op for op, _, _ in operations(second)] == ["signed_url", "put"]
    integration.refresh_from_db()
    integration.access_token_expires_at = timezone.now() + timedelta(minutes=1)  # inside the renewal margin
    integration.save()
    Observation.objects.update(ingested_at=timezone.now())
    third = run_task(integration)
    assert [op for op, _, _ in operations(third)] == ["token", "signed_url", "put"]


def test_a_wrong_request_fails_the_run_without_retrying_and_the_next_run_sends_it_all(
    sandbox, integration, sync_worker
):
    sandbox.fault("signed_url", status=400)  # (a 404 names the integration: its own test)
    failed = run_task(integration)
    assert failed.status == RunStatus.FAILED
    assert failed.error.startswith("signed_url: HTTP 400")
    assert ("signed_url", 400, "gave_up") in operations(failed)
    assert failed.file_parts.get().status == "failed"
    assert not UploadWatermark.objects.exists()
    assert sandbox.uploads() == []

    healed = run_task(integration)
    assert healed.status == RunStatus.UPLOADED
    assert_values_match(received_rows(sandbox), expected_rows(integration.covered_farms().get()))


def test_retries_give_up_at_the_limit_and_the_run_fails_readably(sandbox, integration, sync_worker, settings):
    settings.UPLOADS_RETRY_MAX_ATTEMPTS = 3
    sandbox.fault("put", status=503, times=3)
    run = run_task(integration)
    assert run.status == RunStatus.FAILED
    # The storage's XML error is read (with defusedxml) into its Code and Message.
    assert run.error.startswith("put: HTTP 503 after 3 attempts. SlowDown: ")
    assert "<Error>" in Attempt.objects.filter(run=run).order_by("id").last().response_excerpt
    assert [outcome for op, _, outcome in operations(run) if op == "put"] == ["retry", "retry", "gave_up"]
    assert not UploadWatermark.objects.exists()


def test_a_second_part_failing_leaves_every_watermark_where_it_was(sandbox, integration, sync_worker, settings):
    settings.UPLOADS_RETRY_MAX_ATTEMPTS = 1
    integration.part_bytes = 1200
    integration.save()
    sandbox.fault("put", mode="delay", seconds=0)  # the first PUT goes through (faults are taken in order) ...
    sandbox.fault("put", status=500)  # ... the second is refused for good
    run = run_task(integration)
    assert run.status == RunStatus.FAILED
    assert list(run.file_parts.values_list("status", flat=True))[:3] == ["uploaded", "failed", "pending"]
    assert len(sandbox.uploads()) == 1  # the first part did reach Raptor Maps
    assert not UploadWatermark.objects.exists()


def test_a_secret_the_keys_cannot_open_fails_the_run_and_says_what_to_do(sandbox, integration, sync_worker, settings):
    settings.SECRETS_ENCRYPTION_KEYS = ["a key that did not encrypt it"]
    run = run_task(integration)
    assert run.status == RunStatus.FAILED
    assert "client secret cannot be decrypted" in run.error and "Enter it again" in run.error
    assert sandbox.calls() == []


def test_a_queued_run_delivered_twice_runs_once(sandbox, integration, sync_worker):
    run = queue_run(integration, "admin")
    async_task("uploads.tasks.upload_raptormaps", integration.pk, run.pk)
    async_task("uploads.tasks.upload_raptormaps", integration.pk, run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.UPLOADED
    assert UploadRun.objects.count() == 1
    assert len(sandbox.calls("put")) == 1


# -- what was learned from the org integration belongs to it ------------------------------------------


def test_another_org_integration_forgets_the_learned_interval_and_the_next_run_learns_its_own(
    sandbox, integration, sync_worker
):
    other = {"id": 202, "api_type": "csv_upload", "enabled": True, "query_interval_secs": 3600}
    sandbox.configure(raptormaps={"org_integrations": [{"id": sandbox_defaults.DEFAULT_INTEGRATION_ID}, other]})
    assert run_task(integration).status == RunStatus.UPLOADED
    integration.refresh_from_db()
    assert integration.remote_interval_seconds == 900

    integration.integration_id = 202
    integration.save()
    assert integration.remote_interval_seconds is None  # learned from 101: not 202's
    integration.refresh_from_db()
    assert (integration.remote_interval_seconds, integration.interval_seconds) == (None, 900)  # the default

    make_farm_with_readings(integration.portfolio, farm_id="NY-2")  # something new to send
    assert run_task(integration).status == RunStatus.UPLOADED
    integration.refresh_from_db()
    assert integration.remote_interval_seconds == 3600


def test_an_org_integration_raptor_maps_does_not_have_fails_the_run_and_says_what_to_check(
    sandbox, integration, sync_worker
):
    # Deleted on Raptor Maps, or the id of another org's integration: its signed_url answers 404.
    integration.integration_id = 999
    integration.save()

    run = run_task(integration)

    assert run.status == RunStatus.FAILED
    assert run.error == (
        "Raptor Maps has no org integration 999 (deleted, or another org?): "
        "check the integration ID with Test connection."
    )
    assert [(operation, status) for operation, status, _ in operations(run)][-1] == ("signed_url", 404)
    assert sandbox.uploads() == []
    integration.refresh_from_db()
    assert integration.integration_id == 999  # not changed behind the person's back
    assert not UploadWatermark.objects.filter(integration=integration).exists()


def test_saving_other_fields_keeps_what_was_learned(integration):
    integration.remote_interval_seconds = 1800
    integration.save()
    loaded = type(integration).objects.defer("base_url").get(pk=integration.pk)
    loaded.name = "Renamed"
    loaded.save()
    loaded.refresh_from_db()
    assert loaded.remote_interval_seconds == 1800


# -- the storage host's stricter rules ---------------------------------------------------------


def test_a_url_signed_with_metadata_gets_its_headers_and_the_put_no_bearer_token(sandbox, integration, sync_worker):
    """The sandbox refuses a PUT that carries an Authorization header or leaves out a signed
    x-amz-meta-* header: the run going through shows the client sends exactly what is signed."""
    sandbox.configure(signed_metadata=True)
    run = run_task(integration)
    assert run.status == RunStatus.UPLOADED, run.error
    [upload] = sandbox.uploads()
    assert upload["metadata"] == {"org-id": "1", "integration-id": "101"}
    assert [call["status"] for call in sandbox.calls("put")] == [200]
