"""`manage.py upload_raptormaps`: foreground runs for cron and operations, and --dry-run."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from tests.uploads.expectations import HEADERS, assert_values_match, expected_rows
from tests.uploads.integrations import make_integration
from uploads.models import RunStatus, UploadRun, UploadWatermark

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries")]


def upload(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("upload_raptormaps", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_dry_run_writes_the_parts_and_sends_nothing(sandbox, integration, tmp_path, settings):
    integration.part_bytes = 1500
    integration.save()
    output = upload("--integration", integration.name, "--dry-run", "--output", str(tmp_path / "out"))
    files = sorted((tmp_path / "out" / "Test-integration").glob("*.csv"))
    run = UploadRun.objects.get()
    assert run.status == RunStatus.DRY_RUN and len(files) == run.parts > 1
    assert sandbox.calls() == []  # not even a token
    assert not UploadWatermark.objects.exists()
    rows = []
    for path in files:
        reader = csv.reader(io.StringIO(path.read_text()))
        assert next(reader) == HEADERS
        rows.extend(dict(zip(HEADERS, row, strict=True)) for row in reader)
    assert_values_match(rows, expected_rows(integration.covered_farms().get()))
    assert f"run #{run.pk} dry run (nothing sent)" in output
    assert "nothing sent" in output


def test_a_foreground_run_uploads_and_reports(sandbox, integration):
    output = upload()
    run = UploadRun.objects.get()
    assert run.status == RunStatus.UPLOADED and run.trigger == "command"
    assert f"Test integration: run #{run.pk} uploaded — 1 part(s)" in output
    assert len(sandbox.uploads()) == 1


def test_a_failed_run_makes_the_command_fail_for_cron(sandbox, integration, settings):
    settings.UPLOADS_RETRY_MAX_ATTEMPTS = 1
    sandbox.fault("put", status=503)
    with pytest.raises(CommandError, match="1 of 1 run"):
        upload()
    assert UploadRun.objects.get().status == RunStatus.FAILED


def test_refusals(sandbox, tmp_path):
    with pytest.raises(CommandError, match="No enabled Raptor Maps integration"):
        upload()
    make_integration(name="Only one")
    with pytest.raises(CommandError, match=r"No Raptor Maps integration named 'Other' \(known: Only one\)"):
        upload("--integration", "Other")
    with pytest.raises(CommandError, match="--dry-run needs --output"):
        upload("--dry-run")
    with pytest.raises(CommandError, match="--output goes with --dry-run"):
        upload("--output", str(tmp_path))


def test_a_disabled_integration_runs_only_when_named(sandbox, integration):
    integration.enabled = False
    integration.save()
    with pytest.raises(CommandError, match="No enabled"):
        upload()
    upload("--integration", integration.name)
    assert UploadRun.objects.get().status == RunStatus.UPLOADED
