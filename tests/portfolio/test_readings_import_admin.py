"""The admin's "Import readings" page and the import log, as staff use them.

Files go through the real page, the real broker and, with ``sync`` on, django-q2's own
worker function in this process; the readings are then read back from the database.
"""

import csv
import hashlib
import io
import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf

from portfolio.models import ImportRecord, Observation
from tests.factories import PortfolioFactory, SensorFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/portfolio/observation/import/"
LONG_HEADER = "farm_id,equipment_id,sensor_id,observed_at,value"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def sync_worker(settings, monkeypatch):
    """Run queued tasks at once, in this process, through django-q2's worker and monitor."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    # django-q2 reads Q_CLUSTER once, when it is first imported.
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def sensors():
    """Two sensors of one inverter, for files in the long format."""
    first = SensorFactory(sensor_id="AC-1", equipment__equipment_id="INV-1", equipment__farm__farm_id="NORTH")
    second = SensorFactory(sensor_id="AC-2", equipment=first.equipment)
    return first, second


def long_file(rows, name="readings.csv"):
    text = "\n".join([LONG_HEADER, *rows]) + "\n"
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def good_rows(count=4):
    return [f"NORTH,INV-1,AC-{1 + n % 2},2024-06-01T{n // 2:02d}:00:00+00:00,{100 + n}.5" for n in range(count)]


def upload(client, file, **fields):
    data = {"file": file, "time_basis": "local", **fields}
    return client.post(IMPORT_URL, data)


def staff_user(*permissions):
    user = User.objects.create_user("staff", password="x", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="portfolio"))
    return user


def record_url(record, view="change"):
    return reverse(f"admin:portfolio_importrecord_{view}", args=[record.pk])


# --- the page -------------------------------------------------------------------------------


def test_the_page_renders_with_its_choices(admin_client):
    only = PortfolioFactory(slug="solar-east")
    response = admin_client.get(IMPORT_URL)
    assert response.status_code == 200
    text = response.text
    assert "Import readings" in text
    assert 'type="file"' in text and 'enctype="multipart/form-data"' in text
    # The only portfolio is the default for new farms.
    assert response.context["form"]["portfolio"].initial == only.pk
    assert "Farm local time" in text and "UTC" in text
    assert "errors file" in text
    assert filesizeformat(2 * 1024**3) in text


def test_the_page_needs_permission_to_add_observations(client):
    user = staff_user("view_observation")
    client.force_login(user)
    assert client.get(IMPORT_URL).status_code == 403
    assert upload(client, long_file(good_rows())).status_code == 403
    assert not ImportRecord.objects.exists()

    user.user_permissions.add(Permission.objects.get(codename="add_observation"))
    assert client.get(IMPORT_URL).status_code == 200


def test_the_page_is_linked_from_the_observation_list_and_the_import_log(admin_client, client):
    import_link = f'href="{IMPORT_URL}"'
    assert import_link in admin_client.get(reverse("admin:portfolio_observation_changelist")).text
    assert import_link in admin_client.get(reverse("admin:portfolio_importrecord_changelist")).text

    client.force_login(staff_user("view_observation", "view_importrecord"))
    assert import_link not in client.get(reverse("admin:portfolio_observation_changelist")).text
    assert import_link not in client.get(reverse("admin:portfolio_importrecord_changelist")).text


# --- queueing -------------------------------------------------------------------------------


def test_an_upload_is_kept_recorded_and_queued(admin_client, admin_user, queued_tasks, media):
    portfolio = PortfolioFactory(slug="solar-east")
    file = long_file(good_rows(), name="june.csv")
    content = file.read()
    file.seek(0)

    response = upload(admin_client, file, portfolio=portfolio.pk, time_basis="utc", skip_invalid="on")

    record = ImportRecord.objects.get()
    assert response.status_code == 302
    assert response["Location"] == record_url(record)
    assert (record.kind, record.target, record.source, record.status) == ("readings", "readings", "admin", "queued")
    assert (record.user, record.file_name, record.file_size) == (admin_user, "june.csv", len(content))
    assert record.sha256 == hashlib.sha256(content).hexdigest()
    assert record.options == {"portfolio": "solar-east", "time_basis": "utc", "skip_invalid": True}
    assert (media / record.upload.name).read_bytes() == content

    queued = queued_tasks()
    assert list(queued) == [record.task_id]
    task = queued[record.task_id]
    assert (task["func"], task["args"]) == ("portfolio.tasks.import_readings", (record.pk,))
    assert task["name"] == f"import readings #{record.pk} june.csv"


def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(admin_client, settings, queued_tasks, media):
    settings.READINGS_UPLOAD_MAX_BYTES = 100
    file = long_file(good_rows(10))
    response = upload(admin_client, file)
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        f"The file is {filesizeformat(file.size)}; the largest file this page accepts is {filesizeformat(100)}. "
        "Split it, or import it on the server with manage.py import_observations."
    ]
    assert not ImportRecord.objects.exists()
    assert not media.exists() or not any(media.rglob("*.csv"))
    assert queued_tasks() == {}


def test_an_empty_file_is_refused(admin_client):
    response = upload(admin_client, SimpleUploadedFile("empty.csv", b""))
    assert response.context["form"].errors["file"] == ["The submitted file is empty."]
    assert not ImportRecord.objects.exists()


# --- the whole flow, with the worker in this process ----------------------------------------


def test_an_uploaded_file_is_imported_by_the_worker(admin_client, sensors, sync_worker, media):
    first, second = sensors
    response = upload(admin_client, long_file(good_rows(4)), time_basis="utc")

    record = ImportRecord.objects.get()
    assert response["Location"] == record_url(record)
    assert record.status == "imported", record.message
    assert (record.rows_read, record.rows_new, record.rows_updated, record.rows_unchanged) == (4, 4, 0, 0)
    assert record.bytes_read == record.file_size
    assert record.message.startswith("4 rows")
    assert record.started_at <= record.finished_at
    assert not record.upload and not any(media.rglob("*.csv")), "the upload is deleted once imported"
    assert record.sha256
    values = dict(Observation.objects.filter(sensor=first).values_list("observed_at__hour", "value"))
    assert values == {0: 100.5, 1: 102.5}
    assert Observation.objects.filter(sensor=second).count() == 2

    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert "imported" in page.text and record.message in page.text
    assert 'id="import-progress"' not in page.text, "a finished import shows its result, not a progress bar"

    # The same file again replaces instead of duplicating.
    upload(admin_client, long_file(good_rows(4)), time_basis="utc")
    again = ImportRecord.objects.order_by("-pk").first()
    assert (again.status, again.rows_new, again.rows_unchanged) == ("imported", 0, 4)
    assert Observation.objects.count() == 4


def test_a_raptor_maps_file_creates_its_farm_in_the_chosen_portfolio(admin_client, sync_worker):
    PortfolioFactory(slug="other")
    chosen = PortfolioFactory(slug="chosen")
    header = (
        "farm_id,farm_name,timezone,commissioning date,farm_latitude,farm_longitude,equipment_id,equipment_name,"
        "equipment_type,sensor_id,sensor_name,sensor_type,observation_time,measured_value"
    )
    rows = [
        f"WEST,West farm,America/Denver,2020-01-01 00:00:00,39.7,-105.0,INV-9,Inverter 9,inverter,"
        f"S-9,AC power,ac_power,2024-06-01 0{hour}:00:00,{hour}.0"
        for hour in range(3)
    ]
    file = SimpleUploadedFile("raptor.csv", ("\n".join([header, *rows]) + "\n").encode())
    upload(admin_client, file, portfolio=chosen.pk)

    record = ImportRecord.objects.get()
    assert record.status == "imported", record.message
    assert record.rows_new == 3
    assert "created" in record.message
    assert chosen.farms.get().farm_id == "WEST"
    assert Observation.objects.count() == 3


def test_a_refused_file_lists_its_problems_and_imports_nothing(admin_client, sensors, sync_worker):
    bad_header = SimpleUploadedFile("bad.csv", b"farm,equipment,sensor,time,value\nNORTH,INV-1,AC-1,2024-06-01,1\n")
    upload(admin_client, bad_header)
    record = ImportRecord.objects.get()
    assert record.status == "refused"
    assert record.problems and record.problems[0]["message"]
    assert record.rows_invalid >= 1
    assert record.message.startswith("Refused, nothing imported")
    assert record.finished_at is not None
    assert not Observation.objects.exists()

    page = admin_client.get(record_url(record))
    assert page.status_code == 200
    assert 'class="import-problems"' in page.text
    assert record.problems[0]["message"][:30] in page.text


def test_invalid_rows_refuse_the_whole_file_by_default(admin_client, sensors, sync_worker):
    rows = [*good_rows(3), "NORTH,INV-1,AC-1,not a time,1.0", "NORTH,INV-1,AC-9,2024-06-01T05:00:00+00:00,1.0"]
    upload(admin_client, long_file(rows))
    record = ImportRecord.objects.get()
    assert record.status == "refused"
    assert [problem["line"] for problem in record.problems] == [5, 6]
    assert record.rows_invalid == 2
    assert not Observation.objects.exists()
    assert not record.errors_file


def test_skipping_invalid_rows_offers_the_errors_file(admin_client, sensors, sync_worker, client):
    rows = [*good_rows(3), "NORTH,INV-1,AC-1,not a time,1.0"]
    upload(admin_client, long_file(rows, name="june.csv"), skip_invalid="on")
    record = ImportRecord.objects.get()
    assert record.status == "imported", record.message
    assert (record.rows_new, record.rows_skipped) == (3, 1), record.message
    assert [problem["line"] for problem in record.problems] == [5]
    assert record.errors_file
    assert Observation.objects.count() == 3

    page = admin_client.get(record_url(record))
    download_url = record_url(record, "errors_file")
    assert download_url in page.text
    response = admin_client.get(download_url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="june.errors.csv"'
    header, *rejected = csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert header[:3] == ["line", "column", "error"]
    assert [(row[0], row[1], row[-2]) for row in rejected] == [("5", "observed_at", "not a time")]

    client.force_login(staff_user())
    assert client.get(download_url).status_code == 403


def test_a_record_without_an_errors_file_has_nothing_to_download(admin_client):
    record = ImportRecord.objects.create(kind="readings", target="readings", source="admin", file_name="x.csv")
    assert admin_client.get(record_url(record, "errors_file")).status_code == 404


# --- following an import --------------------------------------------------------------------


def test_progress_of_a_running_import_as_json_and_on_its_page(admin_client):
    record = ImportRecord.objects.create(
        kind="readings",
        target="readings",
        source="admin",
        file_name="big.csv",
        file_size=1000,
        status="running",
        started_at=timezone.now() - timezone.timedelta(seconds=10),
        bytes_read=250,
        rows_read=5000,
    )
    response = admin_client.get(record_url(record, "progress"))
    assert response.status_code == 200
    progress = json.loads(response.content)
    assert progress["status"] == "running" and progress["finished"] is False
    assert (progress["percent"], progress["rows_read"]) == (25.0, 5000)
    assert 400 <= progress["rows_per_second"] <= 500
    assert progress["phase"] == "Reading the file."
    assert progress["time_left"].endswith(" s")

    page = admin_client.get(record_url(record))
    assert 'id="import-progress"' in page.text
    assert f'data-progress-url="{record_url(record, "progress")}"' in page.text
    assert "portfolio/live_progress.js" in page.text
    assert '<meta http-equiv="refresh"' in page.text, "the no-JavaScript fallback"

    record.status, record.finished_at, record.message = "imported", timezone.now(), "5,000 rows: 5,000 new."
    record.save()
    progress = admin_client.get(record_url(record, "progress")).json()
    assert progress["finished"] is True and progress["message"] == "5,000 rows: 5,000 new."


def test_progress_says_when_no_worker_seems_to_be_there(admin_client):
    long_ago = timezone.now() - timezone.timedelta(hours=2)
    queued = ImportRecord.objects.create(
        kind="readings", target="readings", source="admin", file_name="q.csv", created_at=long_ago
    )
    stalled = ImportRecord.objects.create(  # still beating, but past the worker's timeout
        kind="readings",
        target="readings",
        source="admin",
        file_name="s.csv",
        status="running",
        started_at=long_ago,
        heartbeat_at=timezone.now(),
    )
    silent = ImportRecord.objects.create(  # no sign of life for longer than IMPORT_STALE_AFTER_SECONDS
        kind="readings", target="readings", source="admin", file_name="d.csv", status="running", started_at=long_ago
    )
    assert "Is the background worker running" in admin_client.get(record_url(queued, "progress")).json()["phase"]
    assert "the worker has probably stopped" in admin_client.get(record_url(stalled, "progress")).json()["phase"]
    assert "No sign of life from the worker" in admin_client.get(record_url(silent, "progress")).json()["phase"]


def test_progress_needs_permission_to_see_the_record(client):
    record = ImportRecord.objects.create(kind="readings", target="readings", source="admin", file_name="x.csv")
    client.force_login(staff_user())
    assert client.get(record_url(record, "progress")).status_code == 403


def test_whoever_may_import_readings_follows_readings_imports_only(client):
    readings = ImportRecord.objects.create(kind="readings", target="readings", source="admin", file_name="r.csv")
    workbook = ImportRecord.objects.create(kind="spreadsheet", target="farms", source="admin", file_name="f.xlsx")
    client.force_login(staff_user("add_observation"))
    assert client.get(record_url(readings)).status_code == 200
    assert client.get(record_url(readings, "progress")).status_code == 200
    listed = client.get(reverse("admin:portfolio_importrecord_changelist")).context["cl"].result_list
    assert list(listed) == [readings]
    assert client.get(record_url(workbook)).status_code in (302, 403)


# --- the import log -------------------------------------------------------------------------


def _records(n, user):
    for number in range(n):
        ImportRecord.objects.create(
            kind="readings",
            target="readings",
            source="admin",
            user=user,
            file_name=f"file-{number}.csv",
            status="refused",
            started_at=timezone.now(),
            finished_at=timezone.now(),
            rows_invalid=1,
            problems=[{"line": 2, "column": "value", "message": "'abc' is not a number"}],
        )


def test_the_import_log_lists_records_with_a_fixed_number_of_queries(admin_client, admin_user):
    def changelist_queries():
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse("admin:portfolio_importrecord_changelist"))
        assert response.status_code == 200
        return len(queries)

    _records(3, User.objects.create_user("other-3"))
    short_list = changelist_queries()
    for number in range(9):
        _records(1, User.objects.create_user(f"other-{number + 4}"))
    long_list = changelist_queries()
    assert ImportRecord.objects.count() == 12
    # Session, user, two counts (the page's and the full one), the rows (users joined) and the
    # date drill-down's range and days. Pinned: a change here is a change in cost.
    assert (short_list, long_list) == (7, 7)


def test_the_import_log_and_a_record_page_render(admin_client, admin_user):
    _records(1, admin_user)
    record = ImportRecord.objects.get()
    response = admin_client.get(reverse("admin:portfolio_importrecord_changelist"))
    assert "file-0.csv" in response.text
    assert "refused (nothing imported)" in response.text
    assert (
        admin_client.get(reverse("admin:portfolio_importrecord_changelist") + "?status__exact=refused").status_code
        == 200
    )

    page = admin_client.get(record_url(record))
    assert page.status_code == 200
    assert "<td>2</td><td>value</td><td>&#x27;abc&#x27; is not a number</td>" in page.text
    assert 'name="_save"' not in page.text, "the log is read-only"
    assert admin_client.get(reverse("admin:portfolio_importrecord_add")).status_code == 403
    assert admin_client.get(record_url(record, "delete")).status_code == 403


def test_a_workbook_record_names_rows_and_sheets(admin_client):
    record = ImportRecord.objects.create(
        kind="spreadsheet",
        target="farms, sensors",
        source="admin",
        file_name="portfolio.xlsx",
        status="refused",
        finished_at=timezone.now(),
        options={"dry_run": True},
        problems=[{"line": 14, "column": "sensor_type", "message": "not allowed", "sheet": "sensors"}],
    )
    page = admin_client.get(record_url(record)).text
    assert "<th>sheet</th><th>row</th><th>column</th><th>message</th>" in page
    assert "<td>sensors</td><td>14</td><td>sensor_type</td><td>not allowed</td>" in page
    assert "dry run: yes" in page
