"""The README's tour: the demo portfolio after its first upload and sync, as an operator sees it.

The demo (real public weather, inverter and meter data, one farm that stopped reporting 20 months
ago) is loaded, its Raptor Maps upload and WattCarbon sync run against the sandbox, and the pages
a person opens first are checked and screenshotted. ``make screenshots`` keeps three of them as
the README's pictures (docs/screenshots/).
"""

import pytest
from playwright.sync_api import expect

from portfolio.demo import load_demo_portfolio
from portfolio.models import Farm
from uploads.demo import load_demo_uploads
from uploads.models import RaptorMapsIntegration, RunStatus, SyncStatus, WattCarbonAccount
from uploads.tasks import sync_wattcarbon, upload_raptormaps

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def demo(transactional_db, sandbox, settings):
    """The demo portfolio, uploaded to and synced with the sandbox once."""
    settings.SANDBOX_URL = sandbox.url
    settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS = 0  # the worker would wait out the lag; the tour need not
    load_demo_portfolio()
    load_demo_uploads()
    upload_raptormaps(RaptorMapsIntegration.objects.get().pk)
    sync_wattcarbon(WattCarbonAccount.objects.get().pk)
    integration = RaptorMapsIntegration.objects.get()
    assert integration.runs.get().status == RunStatus.UPLOADED, integration.runs.get().log
    assert WattCarbonAccount.objects.get().syncs.get().status == SyncStatus.SYNCED


def test_the_demo_as_an_operator_first_sees_it(demo, page, live_server, shoot):
    page.goto(f"{live_server.url}/admin/")
    freshness = page.locator("#dash-freshness")
    # The farm whose logger stopped is flagged, first; the two reporting farms are fresh and uploaded.
    expect(freshness.locator("tbody tr.dash-flagged")).to_have_count(1)
    expect(freshness.locator("tr.dash-flagged")).to_contain_text("DEMO-AK-03")
    expect(freshness.locator("tr.dash-flagged")).to_contain_text("no reading for 1 year")
    for farm_id in ("DEMO-NC-01", "DEMO-FL-02"):
        expect(freshness.locator("tr", has_text=farm_id)).to_contain_text("fresh")
    expect(page.locator("#dashboard")).to_contain_text("1 uploaded")
    shoot(page, "dashboard", readme="dashboard")

    # A farm's page: its production per day, from its inverters, in a chart drawn from the database.
    farm = Farm.objects.get(farm_id="DEMO-NC-01")
    page.goto(f"{live_server.url}/admin/portfolio/farm/{farm.pk}/change/")
    chart = page.locator(".chart").first
    expect(chart.locator("canvas[data-drawn]")).to_be_visible(timeout=30_000)
    chart.scroll_into_view_if_needed()
    shoot(page, "farm", readme="farm-production")
