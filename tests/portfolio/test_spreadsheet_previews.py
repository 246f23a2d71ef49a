"""The confirm step trusts only the server: a preview token bound to its user, with an expiry.

Attacks: a path in place of the token (relative and absolute, in the new field and in the
library's old ``import_file_name``), another user's token, an expired token, a token used
twice, a token of another list. Each is refused with a message, and nothing is read,
imported or deleted.
"""

import os
import stat
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from portfolio import tasks
from portfolio.models import Farm, ImportRecord, SpreadsheetPreview
from portfolio.resources.previews import PREVIEW_DIR, clean_previews, preview_path
from tests.factories import PortfolioFactory

pytestmark = pytest.mark.django_db

FARMS = b"farm_id,portfolio,name,timezone\r\nF1,sunbelt,Mesa,America/Denver\r\nF2,sunbelt,Ridge,America/Denver\r\n"
IMPORT_URL = "/admin/portfolio/farm/import/"
CONFIRM_URL = "/admin/portfolio/farm/process_import/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def sunbelt():
    return PortfolioFactory(slug="sunbelt")


def operator(username):
    """Staff who may import farms (the change permission), and nothing else."""
    user = User.objects.create_user(username, password="x", is_staff=True)
    for codename in ("view_farm", "change_farm"):
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="portfolio"))
    return user


def preview(client, content=FARMS, name="farms.csv"):
    response = client.post(IMPORT_URL, {"import_file": SimpleUploadedFile(name, content)})
    assert response.status_code == 200
    assert response.context["confirm_form"] is not None, response.context["outcome"].problems
    return SpreadsheetPreview.objects.get(token=response.context["confirm_form"]["preview"].value())


def confirm(client, **data):
    return client.post(CONFIRM_URL, data)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_preview_keeps_the_file_privately_under_a_random_name_and_the_form_carries_only_a_token(
    admin_client, admin_user, sunbelt, media
):
    response = admin_client.post(IMPORT_URL, {"import_file": SimpleUploadedFile("farms.csv", FARMS)})
    form = response.context["confirm_form"]
    assert list(form.fields) == ["preview"]
    token = form["preview"].value()
    assert len(token) == 43
    assert f'name="preview" value="{token}"' in response.content.decode()
    assert "import_file_name" not in response.content.decode()
    kept = SpreadsheetPreview.objects.get()
    assert (kept.token, kept.user, kept.target, kept.model, kept.file_name) == (
        token,
        admin_user,
        "farms",
        "portfolio.farm",
        "farms.csv",
    )
    path = preview_path(kept)
    assert path.parent == media / PREVIEW_DIR
    assert path.read_bytes() == FARMS
    assert token not in path.name and "farms" not in path.name
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert timedelta(minutes=59) < kept.expires_at - timezone.now() <= timedelta(hours=1)

    done = confirm(admin_client, preview=token)
    assert done.status_code == 302 and done["Location"] == reverse("admin:portfolio_farm_changelist")
    assert Farm.objects.count() == 2
    assert not path.exists() and not SpreadsheetPreview.objects.exists()


@pytest.fixture
def victim():
    """A farms file the attacker would like imported and deleted: in the temporary directory,
    where the library kept previews (and names other users' previews would have)."""
    path = Path(tempfile.gettempdir()) / f"victim-{uuid.uuid4().hex}.csv"
    path.write_bytes(FARMS)
    yield path
    path.unlink(missing_ok=True)


@pytest.mark.parametrize("path_kind", ["relative", "absolute"])
def test_a_path_in_place_of_the_token_is_refused_and_the_file_it_names_is_untouched(
    admin_client, sunbelt, victim, path_kind
):
    named = str(victim) if path_kind == "absolute" else f"../{victim.parent.name}/{victim.name}"
    response = confirm(
        admin_client,
        preview=named,
        import_file_name=named,  # the field the confirm form used to carry
        original_file_name="farms.csv",
        format="0",
        resource="0",
    )
    assert response.status_code == 302 and response["Location"] == IMPORT_URL
    assert messages_of(response) == [
        "This confirmation is refused: it does not carry a preview token (a file name or path is never accepted). "
        "Upload the file again."
    ]
    assert victim.read_bytes() == FARMS
    assert not Farm.objects.exists()
    assert not ImportRecord.objects.exists()


def test_another_users_token_is_refused_and_the_preview_stays_for_its_owner(client, sunbelt):
    alice, mallory = operator("alice"), operator("mallory")
    client.force_login(alice)
    kept = preview(client)
    client.force_login(mallory)
    response = confirm(client, preview=kept.token)
    assert messages_of(response) == [
        "This preview belongs to another user: only the person who previewed a file may confirm it. "
        "Upload the file yourself."
    ]
    assert not Farm.objects.exists()
    assert preview_path(kept).read_bytes() == FARMS
    assert SpreadsheetPreview.objects.filter(pk=kept.pk).exists()

    client.force_login(alice)
    assert confirm(client, preview=kept.token)["Location"] == reverse("admin:portfolio_farm_changelist")
    assert Farm.objects.count() == 2
    assert ImportRecord.objects.get().user == alice


def test_an_expired_token_is_refused_and_its_file_deleted(admin_client, sunbelt, settings):
    kept = preview(admin_client)
    SpreadsheetPreview.objects.filter(pk=kept.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = confirm(admin_client, preview=kept.token)
    [message] = messages_of(response)
    assert message.startswith("This preview expired at ")
    assert message.endswith(
        "(previews are kept 1 hour, SPREADSHEET_PREVIEW_TTL_SECONDS) and was deleted. Upload the file again."
    )
    assert not Farm.objects.exists()
    assert not preview_path(kept).exists() and not SpreadsheetPreview.objects.exists()


def test_a_token_confirms_once(admin_client, sunbelt):
    kept = preview(admin_client)
    confirm(admin_client, preview=kept.token)
    Farm.objects.all().delete()
    again = confirm(admin_client, preview=kept.token)
    assert messages_of(again)[-1:] == [
        "This preview is no longer on the server: it was confirmed already, or it expired and was deleted "
        "(previews are kept 1 hour, SPREADSHEET_PREVIEW_TTL_SECONDS). Upload the file again."
    ]
    assert not Farm.objects.exists()


def test_a_token_of_another_list_is_refused_there(admin_client, sunbelt):
    kept = preview(admin_client)
    response = admin_client.post("/admin/portfolio/sensor/process_import/", {"preview": kept.token})
    assert messages_of(response) == ["This is a preview of farms; confirm it from that list's import page."]
    assert preview_path(kept).exists()
    assert confirm(admin_client, preview=kept.token)["Location"] == reverse("admin:portfolio_farm_changelist")


def test_the_confirm_needs_the_import_permission(client, sunbelt):
    user = operator("alice")
    client.force_login(user)
    kept = preview(client)
    user.user_permissions.remove(Permission.objects.get(codename="change_farm"))
    client.force_login(User.objects.get(pk=user.pk))
    assert confirm(client, preview=kept.token).status_code == 403
    assert preview_path(kept).exists() and not Farm.objects.exists()


# --- cleaning up --------------------------------------------------------------------------------


def test_expired_previews_and_stray_files_are_cleaned_up(admin_client, sunbelt, media, settings):
    fresh, stale = preview(admin_client), preview(admin_client)
    SpreadsheetPreview.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    stray = media / PREVIEW_DIR / "left-by-a-stopped-request.upload"
    stray.write_bytes(b"x")
    old = timezone.now().timestamp() - settings.SPREADSHEET_PREVIEW_TTL_SECONDS - 60
    os.utime(stray, (old, old))
    recent_stray = media / PREVIEW_DIR / "being-written.upload"
    recent_stray.write_bytes(b"x")

    assert clean_previews() == (1, 1)
    assert list(SpreadsheetPreview.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert preview_path(fresh).exists() and not preview_path(stale).exists()
    assert not stray.exists() and recent_stray.exists()


def test_the_cleanup_runs_hourly_in_the_worker_and_as_a_command(admin_client, sunbelt, capsys):
    schedule = Schedule.objects.get(name="clean spreadsheet previews")
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
        "portfolio.tasks.clean_spreadsheet_previews",
        Schedule.HOURLY,
        -1,
    )
    stale = preview(admin_client)
    SpreadsheetPreview.objects.filter(pk=stale.pk).update(expires_at=timezone.now())
    assert tasks.clean_spreadsheet_previews() == "1 expired preview(s) and 0 unreferenced file(s) deleted"
    assert not preview_path(stale).exists()

    call_command("clean_spreadsheet_previews")
    assert capsys.readouterr().out == "0 expired preview(s) and 0 unreferenced file(s) deleted.\n"
