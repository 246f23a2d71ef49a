"""Each readings import has its own errors file, downloadable by who ran it and by administrators.

Two imports of files with the same name (by two users, or one user twice) used to write the
same ``<name>.errors.csv``: the later overwrote the earlier, and anyone who could read the
import log could download anyone's rejected rows.
"""

import csv
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_q.conf import Conf

from portfolio.ingest.jobs import ERRORS_DIR
from portfolio.models import ImportRecord
from portfolio.roles import ADMINISTRATOR
from tests.factories import SensorFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/portfolio/observation/import/"
HEADER = "farm_id,equipment_id,sensor_id,observed_at,value"
GOOD = "NORTH,INV-1,AC-1,2024-06-01T00:00:00+00:00,1.5"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def sync_worker(settings, monkeypatch):
    """Run queued tasks at once, in this process, through django-q2's worker and monitor."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def sensor():
    return SensorFactory(sensor_id="AC-1", equipment__equipment_id="INV-1", equipment__farm__farm_id="NORTH")


def importer(username):
    """Staff who may import readings and read the import log."""
    user = User.objects.create_user(username, password="x", is_staff=True)
    for codename in ("add_observation", "view_observation", "view_importrecord"):
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="portfolio"))
    return user


def import_june(client, bad_value):
    """Import a file named june.csv, skipping invalid rows; its one bad row carries ``bad_value``."""
    text = "\n".join([HEADER, GOOD, f"NORTH,INV-1,AC-1,{bad_value},1.0"]) + "\n"
    file = SimpleUploadedFile("june.csv", text.encode(), content_type="text/csv")
    client.post(IMPORT_URL, {"file": file, "time_basis": "utc", "skip_invalid": "on"})
    record = ImportRecord.objects.latest("pk")
    assert record.status == "imported" and record.errors_file, record.message
    return record


def download(client, record):
    return client.get(reverse("admin:portfolio_importrecord_errors_file", args=[record.pk]))


def rejected_times(response):
    assert response.status_code == 200
    _header, *rows = csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))
    return [row[-2] for row in rows]


@pytest.mark.parametrize("same_user", [True, False], ids=["one user twice", "two users"])
def test_imports_of_files_with_the_same_name_keep_their_own_errors_files(client, admin_client, media, same_user):
    alice = importer("alice")
    bob = alice if same_user else importer("bob")
    client.force_login(alice)
    first = import_june(client, "first bad time")
    client.force_login(bob)
    second = import_june(client, "second bad time")

    assert first.errors_file.name != second.errors_file.name
    for record in (first, second):
        path = Path(record.errors_file.path)
        assert path.parent == media / ERRORS_DIR
        assert path.name.startswith(f"{record.pk}-") and "june" not in path.name
    client.force_login(alice)
    assert rejected_times(download(client, first)) == ["first bad time"]
    client.force_login(bob)
    assert rejected_times(download(client, second)) == ["second bad time"]
    assert rejected_times(download(admin_client, first)) == ["first bad time"]


def test_only_who_ran_the_import_or_an_administrator_may_download_its_errors_file(client, admin_client):
    alice, mallory = importer("alice"), importer("mallory")
    client.force_login(alice)
    record = import_june(client, "not a time")

    client.force_login(mallory)
    refused = download(client, record)
    assert refused.status_code == 403
    page = client.get(reverse("admin:portfolio_importrecord_change", args=[record.pk]))
    assert page.status_code == 200
    assert reverse("admin:portfolio_importrecord_errors_file", args=[record.pk]) not in page.text
    assert "for whoever ran the import and administrators" in page.text

    administrators, _ = Group.objects.get_or_create(name=ADMINISTRATOR)
    mallory.groups.add(administrators)
    client.force_login(User.objects.get(pk=mallory.pk))
    assert rejected_times(download(client, record)) == ["not a time"]
    assert rejected_times(download(admin_client, record)) == ["not a time"]
