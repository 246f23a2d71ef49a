"""Spreadsheets above the interactive row limit: the page stores the file and queues a worker.

The queued task is taken from the real broker and run through django-q2's own worker and
monitor in this process; the record's page shows progress, then the preview and the
confirmation, which queues the import itself.
"""

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_q.conf import Conf
from django_q.signing import SignedPackage
from django_q.tasks import _sync

from portfolio.models import Farm, ImportRecord, SpreadsheetPreview
from portfolio.resources.previews import PREVIEW_DIR, preview_path
from tests.factories import PortfolioFactory
from tests.portfolio.spreadsheet_files import farms_csv, farms_xlsx

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/portfolio/farm/import/"
ROWS = 12


@pytest.fixture(autouse=True)
def small_limit(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SPREADSHEET_INTERACTIVE_MAX_ROWS = 10


@pytest.fixture
def sunbelt():
    return PortfolioFactory(slug="sunbelt")


def record_url(record, view="change"):
    return reverse(f"admin:portfolio_importrecord_{view}", args=[record.pk])


@pytest.fixture
def run(monkeypatch):
    """Run one queued task as a worker would: django-q2's worker and monitor, in this process.

    In sync mode, so the worker keeps the test's database connection instead of closing it.
    """

    def run_task(task):
        with monkeypatch.context() as patch:
            patch.setattr(Conf, "SYNC", True)
            _sync(SignedPackage.dumps(task))

    return run_task


def task_of(queued_tasks, record):
    """The task queued for ``record`` (the ORM broker keeps tasks run outside a cluster)."""
    record.refresh_from_db()
    return queued_tasks()[record.task_id]


def upload(client, content, name="farms.csv"):
    return client.post(IMPORT_URL, {"import_file": SimpleUploadedFile(name, content)})


def confirm_from_page(client, record):
    """Press "Confirm import" on the record's page: post its form as a browser would."""
    page = client.get(record_url(record))
    confirmation = page.context["confirmation"]
    assert f'action="{confirmation["url"]}"' in page.text
    assert f'name="preview" value="{confirmation["token"]}"' in page.text
    return client.post(confirmation["url"], {"preview": confirmation["token"]})


@pytest.mark.parametrize("make, name", [(farms_csv, "farms.csv"), (farms_xlsx, "farms.xlsx")])
def test_a_large_file_is_previewed_by_a_worker_then_confirmed_and_imported_by_one(
    admin_client, admin_user, sunbelt, queued_tasks, run, settings, make, name
):
    content = make(ROWS)
    response = upload(admin_client, content, name)

    # The request only kept the file and queued the preview.
    dry_run = ImportRecord.objects.get()
    assert response.status_code == 302 and response["Location"] == record_url(dry_run)
    assert (dry_run.status, dry_run.kind, dry_run.target) == ("queued", "spreadsheet", "farms")
    assert dry_run.user == admin_user
    assert dry_run.options == {"dry_run": True, "in_worker": True}
    kept = SpreadsheetPreview.objects.get()
    assert kept.in_worker and kept.record == dry_run
    assert preview_path(kept).read_bytes() == content
    [task] = queued_tasks().values()
    assert (task["func"], task["args"]) == ("portfolio.tasks.import_spreadsheet", (dry_run.pk,))
    assert task["id"] == dry_run.task_id

    page = admin_client.get(response["Location"])
    assert "more than 10 rows (SPREADSHEET_INTERACTIVE_MAX_ROWS)" in page.text
    assert 'id="import-progress"' in page.text and "Waiting for a worker" in page.text
    assert admin_client.get(record_url(dry_run, "progress")).json()["finished"] is False

    run(task)
    dry_run.refresh_from_db()
    assert dry_run.status == "previewed", dry_run.message
    assert (dry_run.rows_new, dry_run.rows_updated, dry_run.rows_invalid) == (ROWS, 0, 0)
    assert dry_run.message == f"Ready to import farms: {ROWS} new, 0 updated, 0 unchanged."
    assert not dry_run.upload, "the file belongs to the preview now"
    assert preview_path(kept).exists()
    assert not Farm.objects.exists()
    assert admin_client.get(record_url(dry_run, "progress")).json()["finished"] is True

    page = admin_client.get(record_url(dry_run))
    assert 'id="import-progress"' not in page.text
    assert f'<td id="rows-new">{ROWS}</td>' in page.text and "Confirm import" in page.text

    confirmed = confirm_from_page(admin_client, dry_run)
    record = ImportRecord.objects.exclude(pk=dry_run.pk).get()
    assert confirmed.status_code == 302 and confirmed["Location"] == record_url(record)
    assert (record.status, record.options) == ("queued", {"dry_run": False, "in_worker": True})
    assert not SpreadsheetPreview.objects.exists(), "a preview confirms once"
    run(task_of(queued_tasks, record))
    record.refresh_from_db()
    assert record.status == "imported", record.message
    assert record.message == f"Imported farms: {ROWS} new, 0 updated, 0 unchanged."
    assert Farm.objects.count() == ROWS
    assert not record.upload and not any((settings.MEDIA_ROOT / PREVIEW_DIR).iterdir()), "the file is gone"


def test_a_large_file_with_problems_lists_them_and_offers_no_confirmation(admin_client, sunbelt, queued_tasks, run):
    content = farms_csv(ROWS).replace(b"F000003,sunbelt", b"F000003,nowhere")
    upload(admin_client, content)
    dry_run = ImportRecord.objects.get()
    run(task_of(queued_tasks, dry_run))
    dry_run.refresh_from_db()
    assert dry_run.status == "refused"
    assert dry_run.problems == [
        {"line": 5, "column": "portfolio", "message": "There is no portfolio with the slug 'nowhere'."}
    ]
    page = admin_client.get(record_url(dry_run))
    assert "There is no portfolio with the slug" in page.text
    assert "Confirm import" not in page.text
    assert not SpreadsheetPreview.objects.exists()


def test_only_the_owner_sees_the_confirmation_and_may_follow_their_own_record(client, sunbelt, queued_tasks, run):
    alice = User.objects.create_user("alice", password="x", is_staff=True)
    bob = User.objects.create_user("bob", password="x", is_staff=True)
    for user in (alice, bob):
        for codename in ("view_farm", "change_farm", "view_importrecord"):
            user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="portfolio"))
    # Alice may import farms but not read the import log: her own records are still hers to follow.
    alice.user_permissions.remove(Permission.objects.get(codename="view_importrecord"))
    client.force_login(alice)
    upload(client, farms_csv(ROWS))
    dry_run = ImportRecord.objects.get()
    run(task_of(queued_tasks, dry_run))
    assert "Confirm import" in client.get(record_url(dry_run)).text

    client.force_login(bob)
    page = client.get(record_url(dry_run))
    assert page.status_code == 200
    assert "Confirm import" not in page.text
    assert "Only the user who previewed this file may confirm it." in page.text
    assert SpreadsheetPreview.objects.get().token not in page.text


def test_a_preview_still_running_cannot_be_confirmed(admin_client, sunbelt, queued_tasks, run):
    upload(admin_client, farms_csv(ROWS))
    kept = SpreadsheetPreview.objects.get()
    response = admin_client.post("/admin/portfolio/farm/process_import/", {"preview": kept.token})
    assert response["Location"] == IMPORT_URL
    assert [str(message) for message in get_messages(response.wsgi_request)][-1] == (
        "This file's preview has not finished, or it found problems; its import record says which."
    )
    assert len(queued_tasks()) == 1, "nothing more was queued"
    assert ImportRecord.objects.count() == 1 and SpreadsheetPreview.objects.exists()


def test_a_small_file_is_still_previewed_in_the_request(admin_client, sunbelt, queued_tasks, run):
    response = upload(admin_client, farms_csv(10))
    assert response.status_code == 200 and response.context["confirm_form"] is not None
    assert queued_tasks() == {} and not ImportRecord.objects.exists()


def test_a_running_spreadsheet_import_says_where_it_is(admin_client):
    record = ImportRecord.objects.create(
        kind="spreadsheet", target="farms", source="admin", file_name="farms.csv", file_size=100, status="running"
    )
    assert admin_client.get(record_url(record, "progress")).json()["phase"] == "Reading the file."
    ImportRecord.objects.filter(pk=record.pk).update(rows_read=5000, bytes_read=100)
    assert admin_client.get(record_url(record, "progress")).json()["phase"] == (
        "Read 5,000 rows; checking every one (nothing is saved until all are valid)."
    )
