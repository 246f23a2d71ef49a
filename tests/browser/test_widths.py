"""Every list page and the farm's and asset's pages fit a 1,366-pixel screen, in a real browser.

A page fits when the document does not scroll sideways, and a list's table does not scroll inside
its box (the admin scrolls a wide table there, which hides the last columns just the same). The
pages hold a little of everything, long names and errors included. Screenshots go to
var/test-artifacts/widths/, to look at.

Uses the browser tests' Chromium (tests/browser/conftest.py), skipped only where there is none.
"""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from portfolio.demo import load_demo_portfolio
from tests.browser.helpers import VIEWPORT, overflow
from tests.factories import DemandResponseEventFactory
from tests.roles.objects import make_objects
from tests.uploads.admin_helpers import failed_run, make_attempt
from tests.uploads.test_wattcarbon_admin import failed_sync, make_account

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "widths"
LONG_ERROR = (
    "signed_url: HTTP 403 <?xml version='1.0'?><Error><Code>SignatureDoesNotMatch</Code><Message>The request "
    "signature we calculated does not match the signature you provided. Check your key and signing method."
)
LISTS = [
    "portfolio_portfolio",
    "portfolio_farm",
    "portfolio_equipment",
    "portfolio_sensor",
    "portfolio_observation",
    "portfolio_meter",
    "portfolio_intervalreading",
    "portfolio_billreading",
    "portfolio_asset",
    "portfolio_demandresponseevent",
    "portfolio_importrecord",
    "uploads_uploadrun",
    "uploads_syncrun",
    "uploads_attempt",
    "uploads_raptormapsintegration",
    "uploads_wattcarbonaccount",
]

# How far the page, and a list's table inside its box, scroll sideways (0: it fits).
OVERFLOW = """() => {
    const results = document.querySelector('#changelist .results');
    return {
        page: document.documentElement.scrollWidth - window.innerWidth,
        table: results ? results.scrollWidth - results.clientWidth : 0,
    };
}"""


@pytest.fixture
def pages(transactional_db):
    """The URLs to check, over a little of everything; and a logged-in session for the browser."""
    objects = make_objects(SimpleNamespace(url="http://127.0.0.1:9"), User.objects.create_user("owner", is_staff=True))
    load_demo_portfolio(now=datetime(2026, 3, 8, 18, 0, tzinfo=UTC), reading_span=timedelta(hours=1))
    integration = objects["uploads.raptormapsintegration"]
    run = failed_run(integration)
    run.error = LONG_ERROR
    run.save()
    make_attempt(integration, run=run, status_code=403, error=LONG_ERROR)
    failed_sync(make_account(name="A WattCarbon account with a rather long name for its column"))
    urls = {name: reverse(f"admin:{name}_changelist") for name in LISTS}
    farm = objects["portfolio.farm"]
    urls["farm page"] = reverse("admin:portfolio_farm_change", args=[farm.pk])
    urls["demo farm page"] = reverse("admin:portfolio_farm_change", args=[farm._meta.model.objects.last().pk])
    urls["asset page"] = reverse("admin:portfolio_asset_change", args=[objects["portfolio.asset"].pk])
    events = DemandResponseEventFactory.create_batch(3, asset__timezone="America/Chicago")
    urls["events page"] = reverse("admin:portfolio_asset_change", args=[events[0].asset.pk])
    urls["run page"] = reverse("admin:uploads_uploadrun_change", args=[run.pk])
    urls["index"] = reverse("admin:index")
    client = Client()
    client.force_login(User.objects.create_superuser("widths", "widths@example.org", "unused"))
    return urls, client.cookies[settings.SESSION_COOKIE_NAME].value


def test_admin_pages_fit_a_1366_pixel_screen(chromium, live_server, pages):
    urls, session = pages
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    too_wide = {}
    context = chromium.new_context(viewport=VIEWPORT)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page = context.new_page()
    for name, url in urls.items():
        response = page.goto(live_server.url + url)
        assert response.status == 200, (name, response.status)
        if name == "events page":
            notes = page_notes(page)
        page.screenshot(path=ARTIFACTS / f"{name.replace(' ', '-')}.png")
        scroll = overflow(page)
        if max(scroll.values()) > 0:
            too_wide[name] = scroll
    context.close()
    assert too_wide == {}, f"pixels of sideways scroll at 1,366 px: {too_wide}"
    # The browser is in UTC, the asset in Chicago: the note that says so, once, not on every event.
    assert len(notes) == 1, notes
    assert re.fullmatch(
        r"Times on this page are in America/Chicago; your computer's clock is [56] hours ahead of them\.", notes[0]
    )


def page_notes(page):
    """The visible time-zone notes of the page, once the admin's scripts have added and merged them."""
    page.wait_for_function("document.querySelector('.timezonewarning')?.textContent.startsWith('Times on this page')")
    return [note.inner_text() for note in page.locator(".timezonewarning").all() if note.is_visible()]
