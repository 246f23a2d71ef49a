"""One way to write a moment (2026-03-08 02:15 UTC), in the right zone: the helper, the settings' formats,
a user's preference and the site's own zone on farm, sensor and event lists."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from portfolio.models import UserPreference
from portfolio.timefmt import time_html, time_text
from tests.factories import DemandResponseEventFactory, ObservationFactory, SensorFactory

MOMENT = datetime(2026, 3, 8, 9, 15, 42, 123456, tzinfo=UTC)


# -- the helper ----------------------------------------------------------------------------------


def test_a_moment_is_written_iso_style_with_its_zone():
    assert time_text(MOMENT, "UTC") == "2026-03-08 09:15 UTC"
    assert time_text(MOMENT, "America/Denver") == "2026-03-08 03:15 MDT"
    assert time_text(MOMENT, ZoneInfo("America/Phoenix")) == "2026-03-08 02:15 MST"
    assert time_text(MOMENT, "UTC", precision="seconds") == "2026-03-08 09:15:42 UTC"
    assert time_text(MOMENT, "UTC", precision="milliseconds") == "2026-03-08 09:15:42.123 UTC"


def test_either_side_of_a_dst_change_the_zone_names_the_offset():
    # New York springs forward at 07:00 UTC on 2026-03-08.
    assert time_text(datetime(2026, 3, 8, 6, 59, tzinfo=UTC), "America/New_York") == "2026-03-08 01:59 EST"
    assert time_text(datetime(2026, 3, 8, 7, 0, tzinfo=UTC), "America/New_York") == "2026-03-08 03:00 EDT"
    # The hour that happens twice in the autumn: two moments, two offsets named.
    first = time_text(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "America/New_York")
    second = time_text(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "America/New_York")
    assert (first, second) == ("2026-11-01 01:30 EDT", "2026-11-01 01:30 EST")


def test_a_zone_without_an_abbreviation_is_named_by_its_offset():
    assert time_text(MOMENT, "America/Sao_Paulo") == "2026-03-08 06:15 UTC-03"
    assert time_text(MOMENT, "Asia/Kathmandu") == "2026-03-08 15:00 UTC+05:45"


def test_no_moment_is_a_dash_and_a_naive_one_is_utc():
    assert time_text(None) == "-" and time_html(None) == "-"
    assert time_text(datetime(2026, 3, 8, 9, 15), "America/Phoenix") == "2026-03-08 02:15 MST"


def test_without_a_zone_the_active_one_is_used():
    with timezone.override(ZoneInfo("Europe/Berlin")):
        assert time_text(MOMENT) == "2026-03-08 10:15 CET"


def test_html_shows_the_local_time_and_the_utc_time_on_hover():
    html = time_html(MOMENT, "America/Phoenix")
    assert ">2026-03-08 02:15 MST</time>" in html
    assert 'title="2026-03-08 09:15 UTC"' in html
    assert 'datetime="2026-03-08T09:15:42.123456+00:00"' in html


def test_djangos_date_filter_and_readonly_fields_use_the_same_format():
    rendered = Template(
        '{{ moment|date:"DATETIME_FORMAT" }} · {{ moment|date:"SHORT_DATETIME_FORMAT" }} · {{ moment }}'
    )
    with timezone.override(ZoneInfo("America/Phoenix")):
        text = rendered.render(Context({"moment": MOMENT}))
    assert text == "2026-03-08 02:15 MST · 2026-03-08 02:15 MST · 2026-03-08 02:15 MST"


# -- the user's zone -----------------------------------------------------------------------------


@pytest.fixture
def staff(client):
    user = User.objects.create_user("ops", password="x", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def active_zone(client):
    response = client.get(reverse("admin_preferences"))
    assert response.status_code == 200
    return response.wsgi_request, response.content.decode()


@pytest.mark.django_db
def test_without_a_preference_times_are_in_admin_time_zone(client, staff, settings):
    settings.ADMIN_TIME_ZONE = "America/Chicago"
    sensor = SensorFactory(equipment__farm__timezone="America/Phoenix")
    ObservationFactory(sensor=sensor, observed_at=MOMENT, ingested_at=MOMENT)
    page = client.get(reverse("admin:portfolio_observation_changelist")).text
    # Observed in the farm's zone, ingested in the admin's.
    assert ">2026-03-08 02:15 MST</time>" in page
    assert ">2026-03-08 04:15 CDT</time>" in page


@pytest.mark.django_db
def test_a_user_sets_their_zone_and_every_page_follows(client, staff):
    sensor = SensorFactory(equipment__farm__timezone="America/Phoenix")
    ObservationFactory(sensor=sensor, observed_at=MOMENT, ingested_at=MOMENT)
    response = client.post(reverse("admin_preferences"), {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert UserPreference.objects.get(user=staff).time_zone == "Asia/Tokyo"
    page = client.get(reverse("admin:portfolio_observation_changelist")).content.decode()
    assert ">2026-03-08 18:15 JST</time>" in page  # ingested at, in the user's zone
    assert ">2026-03-08 02:15 MST</time>" in page  # observed at, still in the farm's zone

    # A new login reads the preference again (it is kept in the session between pages).
    client.logout()
    client.force_login(staff)
    page = client.get(reverse("admin:portfolio_observation_changelist")).content.decode()
    assert ">2026-03-08 18:15 JST</time>" in page

    client.post(reverse("admin_preferences"), {"time_zone": ""})
    page = client.get(reverse("admin:portfolio_observation_changelist")).content.decode()
    assert ">2026-03-08 09:15 UTC</time>" in page


@pytest.mark.django_db
def test_a_session_from_before_preferences_reads_the_preference_once(client, staff):
    UserPreference.objects.create(user=staff, time_zone="Europe/Paris")
    session = client.session
    session.pop("portfolio_time_zone", None)
    session.save()
    _, html = active_zone(client)
    assert 'value="Europe/Paris" selected' in html
    assert client.session["portfolio_time_zone"] == "Europe/Paris"


@pytest.mark.django_db
def test_an_unknown_zone_is_refused(client, staff):
    response = client.post(reverse("admin_preferences"), {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 200
    assert not UserPreference.objects.exists()


@pytest.mark.django_db
def test_preferences_need_a_login_and_the_user_tools_link_to_them(client):
    response = client.get(reverse("admin_preferences"))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    user = User.objects.create_user("viewer", password="x", is_staff=True)  # no role at all: still their own
    client.force_login(user)
    assert client.get(reverse("admin_preferences")).status_code == 200
    assert f'href="{reverse("admin_preferences")}">Preferences</a>' in client.get(reverse("admin:index")).text


@pytest.mark.django_db
def test_events_are_listed_in_the_assets_zone(client, staff):
    event = DemandResponseEventFactory(
        asset__timezone="America/Los_Angeles",
        start=datetime(2026, 7, 14, 22, 0, tzinfo=UTC),
        end=datetime(2026, 7, 15, 1, 0, tzinfo=UTC),
    )
    page = client.get(reverse("admin:portfolio_demandresponseevent_changelist")).text
    assert ">2026-07-14 15:00 PDT</time>" in page and ">2026-07-14 18:00 PDT</time>" in page
    assert 'title="2026-07-14 22:00 UTC"' in page
    assert str(event) == "2026-07-14 15:00 to 2026-07-14 18:00 PDT"
