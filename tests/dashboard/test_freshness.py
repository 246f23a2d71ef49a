"""Per portfolio, the farms' data freshness: stale ones flagged and first, by thresholds one can set."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard import freshness
from dashboard.freshness import farm_freshness
from tests.dashboard.data import RunStatus, ago, farm, run
from tests.factories import PortfolioFactory
from tests.uploads.integrations import make_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def solar():
    return PortfolioFactory(name="Solar East", slug="solar-east")


def words(text):
    return text.replace("\xa0", " ")  # timesince keeps a number and its unit together


def shown(groups):
    return [(item.farm.farm_id, [words(p) for p in item.problems]) for group in groups for item in group.farms]


def test_a_farm_past_the_reading_threshold_is_flagged_and_listed_before_fresh_ones(solar, settings):
    settings.DASHBOARD_STALE_READINGS_SECONDS = 2 * 3600
    farm(solar, "FRESH", last=ago(minutes=10))
    farm(solar, "STALE", last=ago(hours=3, minutes=5))
    farm(solar, "OLDEST", last=ago(days=40))
    farm(solar, "EMPTY")

    (group,) = farm_freshness(timezone.now())

    assert shown([group]) == [
        ("OLDEST", ["no reading for 1 month"]),
        ("STALE", ["no reading for 3 hours"]),
        ("EMPTY", ["no readings yet"]),
        ("FRESH", []),
    ]
    assert (group.flagged, group.fresh, group.not_shown) == (3, 1, 0)


def test_the_last_reading_is_the_latest_of_the_farms_sensors(solar):
    last = ago(minutes=30)
    farm(solar, "TWO", last=last, sensors=3)
    (group,) = farm_freshness(timezone.now())
    assert group.farms[0].last_reading == last


def test_the_reading_threshold_is_a_setting(solar, settings):
    farm(solar, "THREE-HOURS", last=ago(hours=3))
    settings.DASHBOARD_STALE_READINGS_SECONDS = 4 * 3600
    assert shown(farm_freshness(timezone.now())) == [("THREE-HOURS", [])]
    settings.DASHBOARD_STALE_READINGS_SECONDS = 3600
    assert shown(farm_freshness(timezone.now())) == [("THREE-HOURS", ["no reading for 3 hours"])]


def test_uploads_are_late_after_so_many_upload_intervals(solar, settings):
    farm(solar, "UP", last=ago(minutes=5))
    integration = make_integration(name="East uploads", portfolio=solar, upload_interval_seconds=900)
    run(integration, RunStatus.UPLOADED, ago(minutes=50))
    run(integration, RunStatus.FAILED, ago(minutes=10), error="put: HTTP 403")  # a failure is not a success

    settings.DASHBOARD_STALE_UPLOAD_INTERVALS = 2  # 30 minutes
    (item,) = farm_freshness(timezone.now())[0].farms
    assert [words(problem) for problem in item.problems] == ["no successful upload for 49 minutes"]
    assert words(item.upload_lag) == "49 minutes"

    settings.DASHBOARD_STALE_UPLOAD_INTERVALS = 4  # an hour
    assert shown(farm_freshness(timezone.now())) == [("UP", [])]


def test_an_integration_that_never_succeeded_is_named(solar):
    farm(solar, "NEVER", last=ago(minutes=5))
    integration = make_integration(name="West uploads", portfolio=solar, upload_interval_seconds=900)
    type(integration).objects.filter(pk=integration.pk).update(created_at=ago(hours=2))
    assert shown(farm_freshness(timezone.now())) == [("NEVER", ["never uploaded through West uploads"])]


def test_many_farms_show_the_worst_and_count_the_rest(solar, monkeypatch):
    monkeypatch.setattr(freshness, "FARMS_SHOWN", 3)
    for number in range(4):
        farm(solar, f"STALE-{number}", last=ago(days=number + 1), sensors=1)
    for number in range(5):
        farm(solar, f"OK-{number}", last=ago(minutes=number + 1), sensors=1)

    (group,) = farm_freshness(timezone.now())

    assert [item.farm.farm_id for item in group.farms] == ["STALE-3", "STALE-2", "STALE-1"]
    assert (group.flagged, group.fresh, group.not_shown) == (4, 5, 6)


def test_the_page_flags_stale_farms_in_words_and_links_them(admin_client, solar):
    stale = farm(solar, "STALE", last=ago(hours=5))
    farm(solar, "FRESH", last=ago(minutes=1))

    html = words(admin_client.get(reverse("admin:index")).content.decode())

    panel = html[html.index('id="dash-freshness"') :]
    assert '<span class="dash-badge bad">no reading for 5 hours</span>' in panel
    assert panel.index("STALE") < panel.index("FRESH")
    assert f'href="{reverse("admin:portfolio_farm_change", args=[stale.pk])}">STALE</a>' in panel
    assert (
        f'href="{reverse("admin:portfolio_farm_changelist")}?portfolio__id__exact={solar.pk}">all 2 farms</a>' in panel
    )
    assert '<span class="dash-badge bad">1 farm flagged</span>' in html  # the summary at the top


def test_the_portfolio_comes_first_in_the_app_list_then_uploads(admin_client):
    response = admin_client.get(reverse("admin:index"))
    labels = [app["app_label"] for app in response.context["app_list"]]
    assert labels[:2] == ["portfolio", "uploads"]
    assert {"auth", "django_q"} <= set(labels[2:])
    html = response.content.decode()
    assert html.index('id="dashboard"') < html.index('class="app-portfolio module')


def test_the_dashboard_can_be_turned_off(admin_client, settings):
    settings.DASHBOARD_ENABLED = False
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert 'id="dashboard"' not in html and 'class="app-portfolio module' in html


def test_the_page_costs_the_same_queries_for_5_farms_as_for_50(admin_client, solar, django_assert_max_num_queries):
    make_integration(name="East uploads", portfolio=solar)
    for number in range(5):
        farm(solar, f"A-{number}", last=ago(hours=number), sensors=2)
    with CaptureQueriesContext(connection) as five:
        admin_client.get(reverse("admin:index"))
    for number in range(45):
        farm(solar, f"B-{number}", last=ago(hours=number), sensors=2)

    with django_assert_max_num_queries(len(five.captured_queries)):
        response = admin_client.get(reverse("admin:index"))
    assert sum(group.total for group in response.context["dashboard"].freshness) == 50
