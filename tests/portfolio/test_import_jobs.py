"""The readings-import job: how a record moves from queued to one finished state, whatever happens."""

import hashlib
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django_q.conf import Conf
from django_q.tasks import async_task

from portfolio.ingest import ImportResult, Problem, Progress, ReadingsFileError, jobs
from portfolio.models import ImportRecord, Observation
from tests.factories import PortfolioFactory, SensorFactory

pytestmark = pytest.mark.django_db

CONTENT = (
    b"farm_id,equipment_id,sensor_id,observed_at,value\n"
    b"NORTH,INV-1,AC-1,2024-06-01T00:00:00+00:00,1.5\n"
    b"NORTH,INV-1,AC-1,2024-06-01T00:15:00+00:00,2.5\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def queued_record(content=CONTENT, **options):
    """A record as the admin page leaves it, except that the checksum is left for the worker."""
    record = ImportRecord(kind="readings", target="readings", source="admin", file_name="june.csv")
    record.options = jobs.readings_options(**options)
    record.upload.save("june.csv", ContentFile(content), save=False)
    record.save()
    return record


def test_a_queued_file_is_imported_and_its_checksum_computed():
    SensorFactory(sensor_id="AC-1", equipment__equipment_id="INV-1", equipment__farm__farm_id="NORTH")
    record = queued_record()
    upload_path = Path(record.upload.path)

    assert jobs.run_readings_import(record.pk) == "imported"

    record.refresh_from_db()
    assert (record.status, record.rows_read, record.rows_new) == ("imported", 2, 2), record.message
    assert (record.sha256, record.file_size) == (hashlib.sha256(CONTENT).hexdigest(), len(CONTENT))
    assert record.started_at <= record.finished_at
    assert not record.upload and not upload_path.exists()
    assert Observation.objects.count() == 2


def test_a_finished_record_is_not_run_again():
    record = queued_record()
    jobs.run_readings_import(record.pk)
    record.refresh_from_db()
    finished_at = record.finished_at
    assert jobs.run_readings_import(record.pk) == record.status
    record.refresh_from_db()
    assert record.finished_at == finished_at


def test_an_unexpected_error_is_recorded_as_a_failure_and_raised_again(caplog):
    portfolio = PortfolioFactory(slug="gone")
    record = queued_record(portfolio=portfolio)
    portfolio.delete()  # between the upload and the worker

    with pytest.raises(type(portfolio).DoesNotExist):
        jobs.run_readings_import(record.pk)

    record.refresh_from_db()
    assert record.status == "failed"
    assert record.message == "Failed, nothing imported: DoesNotExist: Portfolio matching query does not exist."
    assert "Traceback" not in record.message
    assert record.finished_at is not None
    assert not record.upload, "the upload is deleted whatever the outcome"
    assert "Traceback" in caplog.text


def test_an_error_inside_the_importer_leaves_the_record_failed_not_running():
    record = queued_record()
    record.options["time_basis"] = "martian"  # the importer raises ValueError for it
    record.save()

    with pytest.raises(ValueError, match="time_basis"):
        jobs.run_readings_import(record.pk)

    record.refresh_from_db()
    assert record.status == "failed" and record.finished_at is not None
    assert record.message.startswith("Failed, nothing imported: ValueError: time_basis must be one of")
    assert not record.upload


def test_a_missing_upload_fails_through_the_worker_too(settings, monkeypatch):
    record = queued_record()
    Path(record.upload.path).unlink()
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)

    with pytest.raises(FileNotFoundError):
        async_task(jobs.TASK, record.pk)

    record.refresh_from_db()
    assert record.status == "failed"
    assert record.message.startswith("Failed, nothing imported: FileNotFoundError: ")


def test_a_refusal_is_recorded_with_its_problems():
    record = ImportRecord.objects.create(kind="readings", target="readings", source="command", file_name="x.csv")
    jobs.start_record(record)
    problems = [Problem(2, "value", "'abc' is not a number"), Problem(3, None, "5 columns, expected 4")]
    jobs.finish_with_refusal(record, ReadingsFileError(problems, 250, rows_read=1000))

    record.refresh_from_db()
    assert (record.status, record.rows_invalid, record.rows_read) == ("refused", 250, 1000)
    assert record.problems == [
        {"line": 2, "column": "value", "message": "'abc' is not a number"},
        {"line": 3, "column": None, "message": "5 columns, expected 4"},
    ]
    assert record.message == "Refused, nothing imported: 250 problems (the first are listed)."

    one = ImportRecord.objects.create(kind="readings", target="readings", source="command", file_name="y.csv")
    jobs.finish_with_refusal(one, ReadingsFileError([Problem(1, None, "The file has no header row.")]))
    assert one.message == "Refused, nothing imported: line 1: The file has no header row."


def test_a_result_is_summed_up_in_one_sentence():
    result = ImportResult(
        "Raptor Maps CSV",
        rows_read=1_000_000,
        rows_new=990_000,
        rows_updated=10_000,
        farms_created=2,
        sensors_created=28,
    )
    assert jobs.summary(result) == (
        "1,000,000 rows (Raptor Maps CSV): 990,000 new, 10,000 updated, 0 unchanged; created 2 farms, 28 sensors."
    )


def test_an_errors_file_outside_the_media_folder_is_copied_in(tmp_path, media):
    # A command-line import writes its errors file next to its input, anywhere on disk.
    errors = tmp_path / "elsewhere" / "june.errors.csv"
    errors.parent.mkdir()
    errors.write_text("line,column,error\n5,value,'x' is not a number\n")
    record = ImportRecord.objects.create(kind="readings", target="readings", source="command", file_name="june.csv")
    jobs.start_record(record)
    result = ImportResult("long format", rows_read=5, rows_new=4, rows_skipped=1, errors_path=errors)
    result.problems = [Problem(5, "value", "'x' is not a number")]
    jobs.finish_with_result(record, result)

    record.refresh_from_db()
    assert record.status == "imported"
    assert record.rows_skipped == 1 and record.problems[0]["line"] == 5
    assert Path(record.errors_file.path).is_relative_to(media)
    assert Path(record.errors_file.path).read_text() == errors.read_text()


def test_progress_is_written_at_most_once_a_period_and_only_while_running():
    record = ImportRecord.objects.create(kind="readings", target="readings", source="command", file_name="x.csv")
    jobs.start_record(record)
    report = jobs.progress_recorder(record, min_interval=3600)

    def stored():
        return tuple(ImportRecord.objects.filter(pk=record.pk).values_list("bytes_read", "rows_read").get())

    report(Progress("reading", rows_read=10, bytes_read=100, bytes_total=1000))
    assert stored() == (100, 10)
    report(Progress("reading", rows_read=20, bytes_read=200, bytes_total=1000))
    assert stored() == (100, 10), "within the period: not written"
    report(Progress("writing", rows_read=90, bytes_read=1000, bytes_total=1000))
    assert stored() == (1000, 90), "a new phase is written at once"

    ImportRecord.objects.filter(pk=record.pk).update(status="imported", rows_read=95)
    report(Progress("done", rows_read=90, bytes_read=1000, bytes_total=1000))
    assert stored() == (1000, 95), "a finished record keeps its final counts"


UNKNOWN_SENSORS = CONTENT + (
    b"NORTH,INV-1,AC-9,2024-06-01T00:00:00+00:00,1\nNORTH,INV-7,AC-1,2024-06-01T00:00:00+00:00,1\n"
)


def test_the_record_names_the_unknown_sensors_of_a_refused_file():
    SensorFactory(sensor_id="AC-1", equipment__equipment_id="INV-1", equipment__farm__farm_id="NORTH")
    record = queued_record(UNKNOWN_SENSORS)

    assert jobs.run_readings_import(record.pk) == "refused"

    record.refresh_from_db()
    assert "2 rows name a farm, equipment or sensor that does not exist: NORTH/INV-1/AC-9, NORTH/INV-7/AC-1" in (
        record.message
    )


def test_the_record_names_the_unknown_sensors_a_skip_invalid_import_left_out():
    SensorFactory(sensor_id="AC-1", equipment__equipment_id="INV-1", equipment__farm__farm_id="NORTH")
    record = queued_record(UNKNOWN_SENSORS, skip_invalid=True)

    assert jobs.run_readings_import(record.pk) == "imported"

    record.refresh_from_db()
    assert record.rows_new == 2
    assert "2 rows name a farm, equipment or sensor that does not exist: NORTH/INV-1/AC-9, NORTH/INV-7/AC-1" in (
        record.message
    )


def test_the_summary_says_when_the_write_was_redone_after_losing_a_lock():
    result = ImportResult("long format", rows_read=2, rows_new=2, retries=1)
    assert jobs.summary(result) == (
        "2 rows (long format): 2 new, 0 updated, 0 unchanged. Written again once: another import held the same rows."
    )
    assert jobs.summary(ImportResult("long format", rows_read=2, rows_new=2)).endswith("0 unchanged.")
