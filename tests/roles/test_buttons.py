"""Each role sees the buttons it may press, and only those (the refusal behind each is the matrix's)."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from portfolio.roles import ADMINISTRATOR, OPERATOR, VIEWER
from tests.roles.objects import import_record
from tests.uploads.accounts import make_account
from tests.uploads.admin_helpers import failed_run
from tests.uploads.integrations import make_integration

pytestmark = pytest.mark.django_db


def as_role(client, role):
    user = User.objects.create_user(f"staff-{role}", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


def page(client, name, *args):
    response = client.get(reverse(f"admin:{name}", args=args))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("role", "run_now", "test_connection"),
    [(VIEWER, False, False), (OPERATOR, True, False), (ADMINISTRATOR, True, True)],
)
def test_integration_and_account_pages_show_the_buttons_of_the_role(client, role, run_now, test_connection):
    integration, account = make_integration(), make_account()
    as_role(client, role)
    html = page(client, "uploads_raptormapsintegration_change", integration.pk)
    upload_now = reverse("admin:uploads_raptormapsintegration_upload_now", args=[integration.pk])
    test_url = reverse("admin:uploads_raptormapsintegration_test_connection", args=[integration.pk])
    assert (f'action="{upload_now}"' in html, f'action="{test_url}"' in html) == (run_now, test_connection)
    html = page(client, "uploads_wattcarbonaccount_change", account.pk)
    sync_now = reverse("admin:uploads_wattcarbonaccount_sync_now", args=[account.pk])
    assert (f'action="{sync_now}"' in html) == run_now
    html = page(client, "uploads_uploadrun_change", failed_run(integration).pk)
    assert ">Retry</button>" in html if run_now else ">Retry</button>" not in html


@pytest.mark.parametrize(("role", "linked"), [(VIEWER, False), (OPERATOR, False), (ADMINISTRATOR, True)])
def test_someone_else_s_errors_file_is_linked_for_administrators_only(client, settings, tmp_path, role, linked):
    settings.MEDIA_ROOT = tmp_path
    record = import_record(User.objects.create_user("someone"))
    as_role(client, role)
    html = page(client, "portfolio_importrecord_change", record.pk)
    download = reverse("admin:portfolio_importrecord_errors_file", args=[record.pk])
    assert (download in html) == linked
    assert ("1 rejected rows, for whoever ran the import and administrators." in html) != linked


def test_the_person_who_ran_an_import_gets_its_errors_file(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    operator = as_role(client, OPERATOR)
    record = import_record(operator)
    assert reverse("admin:portfolio_importrecord_errors_file", args=[record.pk]) in page(
        client, "portfolio_importrecord_change", record.pk
    )
    response = client.get(reverse("admin:portfolio_importrecord_errors_file", args=[record.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"line,column,message\n3,value,not a number\n"
