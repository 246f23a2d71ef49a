"""The dashboard's other panels: WattCarbon sync states, schedules, imports in progress; and who sees it."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from portfolio.models import ImportRecord
from portfolio.roles import VIEWER
from tests.dashboard.data import RunStatus, ago, farm, run
from tests.factories import MeterFactory, PortfolioFactory
from tests.uploads.accounts import make_account
from tests.uploads.integrations import make_integration
from uploads.models import WattCarbonMeterLink

pytestmark = pytest.mark.django_db


def panel(html, name):
    start = html.index(f'id="{name}"')
    return html[
        start : html.index('<div class="module', start + 1) if '<div class="module' in html[start + 1 :] else None
    ]


def index_html(client):
    return client.get(reverse("admin:index")).content.decode()


def test_sync_states_are_counted_and_each_count_opens_the_list_filtered_to_it(admin_client):
    covered = PortfolioFactory(slug="covered")
    account = make_account(name="Carbon", portfolio=covered)
    synced, failing, new = MeterFactory.create_batch(3, portfolio=covered)
    MeterFactory(portfolio=PortfolioFactory(slug="nobody"))
    WattCarbonMeterLink.objects.create(account=account, meter=synced, remote_id=11, synced_at=timezone.now())
    WattCarbonMeterLink.objects.create(
        account=account, meter=failing, remote_id=12, error="422: the address is not valid", error_at=timezone.now()
    )

    response = admin_client.get(reverse("admin:index"))
    meters = response.context["dashboard"].sync_states[0]

    assert meters.noun == "meters"
    assert [(count.value, count.count, count.bad) for count in meters.counts] == [
        ("error", 1, True),
        ("not_synced", 1, False),
        ("synced", 1, False),
    ]
    assert meters.uncovered == 1
    for count, meter in zip(meters.counts, (failing, new, synced), strict=True):
        assert count.url == f"{reverse('admin:portfolio_meter_changelist')}?wattcarbon={count.value}"
        assert list(admin_client.get(count.url).context["cl"].result_list) == [meter]
    html = panel(response.content.decode(), "dash-sync-states")
    assert f'<a class="dash-badge bad" href="{meters.counts[0].url}">1 error</a>' in html
    assert '<span class="dash-badge bad">1 meter in error on WattCarbon</span>' in response.content.decode()


def test_without_a_wattcarbon_account_there_is_no_sync_state_panel(admin_client):
    MeterFactory()
    assert 'id="dash-sync-states"' not in index_html(admin_client)


def test_schedules_say_when_they_run_next_and_an_overdue_one_is_flagged(admin_client):
    Schedule.objects.all().delete()
    now = timezone.now()
    Schedule.objects.create(
        name="Raptor Maps upload: integration 7",
        func="uploads.tasks.upload_raptormaps",
        args="(7,)",
        schedule_type=Schedule.MINUTES,
        minutes=15,
        next_run=now + timedelta(minutes=10, seconds=30),
    )
    Schedule.objects.create(
        name="WattCarbon sync: account 3",
        func="uploads.tasks.sync_wattcarbon",
        args="(3,)",
        schedule_type=Schedule.HOURLY,
        next_run=now - timedelta(minutes=40),
    )

    html = panel(index_html(admin_client), "dash-schedules").replace("\xa0", " ")

    assert html.index("WattCarbon sync: account 3") < html.index("Raptor Maps upload: integration 7")  # overdue first
    assert '<span class="dash-badge bad">overdue by 40 minutes</span>' in html
    assert "is the worker (<code>manage.py qcluster</code>) running?" in html
    assert "WattCarbon sync, every hour" in html
    assert "in 10 minutes" in html and "Raptor Maps upload, every 15 minutes" in html
    assert "(7,)" not in html  # names and times only


def test_imports_in_progress_are_listed_with_links_and_finished_ones_are_not(admin_client):
    running = ImportRecord.objects.create(
        kind=ImportRecord.Kind.READINGS,
        target="readings",
        source=ImportRecord.Source.ADMIN,
        file_name="june-readings.csv",
        file_size=1000,
        bytes_read=250,
        rows_read=12345,
        status=ImportRecord.Status.RUNNING,
    )
    ImportRecord.objects.create(
        kind=ImportRecord.Kind.SPREADSHEET,
        target="farms",
        source=ImportRecord.Source.ADMIN,
        file_name="farms-done.xlsx",
        status=ImportRecord.Status.IMPORTED,
    )

    html = panel(index_html(admin_client), "dash-imports")

    url = reverse("admin:portfolio_importrecord_change", args=[running.pk])
    assert f'<a href="{url}">june-readings.csv</a>' in html
    assert "running, 25 %" in html and "12,345 rows read" in html
    assert "farms-done.xlsx" not in html


def test_a_viewer_sees_every_panel_and_no_link_to_the_administrators_pages(client):
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.groups.add(Group.objects.get(name=VIEWER))
    portfolio = PortfolioFactory()
    farm(portfolio, "OLD", last=ago(days=3))
    integration = make_integration(name="Uploads", portfolio=portfolio)
    run(integration, RunStatus.FAILED, ago(hours=1), error="put: refused", attempts=1)
    make_account(name="Carbon", portfolio=portfolio)
    MeterFactory(portfolio=portfolio)
    client.force_login(viewer)

    html = index_html(client)

    for name in ("dash-freshness", "dash-activity", "dash-sync-states", "dash-schedules", "dash-imports"):
        assert f'id="{name}"' in html, name
    assert "/admin/django_q/schedule/" not in panel(html, "dash-schedules")  # the administrator's
    assert "test-api-token-0000" not in html  # the integration's token


def test_someone_not_logged_in_is_sent_to_the_login_page(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
