"""A refusal is a page in the admin's look that says which role is needed, not a bare "403 Forbidden"."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from portfolio.roles import OPERATOR, VIEWER
from tests.factories import FarmFactory
from tests.uploads.integrations import make_integration

pytestmark = pytest.mark.django_db


def login(client, role=None):
    user = User.objects.create_user(f"staff-{role}", password="x", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


def refusal(response):
    assert response.status_code == 403
    html = response.content.decode()
    assert '<div id="site-name"><a href="/admin/">Solar portfolio</a></div>' in html  # the admin's header
    return html


def test_a_viewer_adding_a_farm_is_told_it_needs_the_operator_role(client):
    login(client, VIEWER)
    html = refusal(client.get(reverse("admin:portfolio_farm_add")))
    assert "Adding farms needs the operator role." in html
    assert "You are signed in as <strong>staff-viewer</strong>,\n    with the <strong>viewer</strong> role." in html
    assert "403 Forbidden" not in html


def test_a_viewer_saving_a_farm_is_told_changing_needs_the_operator_role(client):
    farm = FarmFactory()
    login(client, VIEWER)
    html = refusal(client.post(reverse("admin:portfolio_farm_change", args=[farm.pk]), {"name": "Renamed"}))
    assert "Changing farms needs the operator role." in html


def test_a_refusal_with_a_reason_shows_it(client):
    integration = make_integration()
    login(client, VIEWER)
    html = refusal(client.post(reverse("admin:uploads_raptormapsintegration_upload_now", args=[integration.pk])))
    assert "Upload now needs the operator role." in html
    login(client, OPERATOR)
    html = refusal(client.post(reverse("admin:uploads_raptormapsintegration_test_connection", args=[integration.pk])))
    assert "Test connection needs the administrator role." in html
    assert "with the <strong>operator</strong> role." in html


def test_staff_without_a_role_are_told_so(client):
    login(client)
    html = refusal(client.get(reverse("admin:django_q_schedule_changelist")))
    assert "Seeing Scheduled tasks needs the administrator role." in html
    assert "with no role." in html


def test_anonymous_visitors_go_to_the_login_page(client):
    response = client.get(reverse("admin:portfolio_farm_add"))
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/portfolio/farm/add/"
