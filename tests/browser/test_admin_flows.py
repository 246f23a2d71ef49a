"""The admin's daily flows, driven in headless Chromium as a person would, one test per flow.

Each step is screenshotted (var/test-artifacts/browser/<test>/) and each screenshot checks that the
page fits 1,366 pixels. Uploads and syncs run in a real worker against the sandbox.

A new step goes in its flow's test: act as a person would (click, fill, Playwright's ``expect``
waits), then ``shoot(page, "what-it-shows")``. A new flow is a test taking ``page`` (or
``signed_in(role)``), ``live_server`` and ``shoot``, and ``worker`` and ``sandbox`` when it
queues work; see tests/browser/conftest.py.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
import tablib
from django.utils import timezone
from playwright.sync_api import expect

from portfolio.models import Farm, Meter, Sensor
from portfolio.resources.files import xlsx_bytes
from portfolio.roles import VIEWER
from tests.browser.helpers import PASSWORD, assert_chart_drawn
from tests.factories import PortfolioFactory
from tests.uploads.integrations import make_farm_with_readings, make_portfolio
from uploads.models import RunStatus, SyncStatus, UploadPart, UploadRun, WattCarbonMeterLink

pytestmark = [pytest.mark.browser, pytest.mark.slow]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FARM_COLUMNS = ["farm_id", "portfolio", "name", "timezone", "commissioned_at"]
# How long a run queued from the admin may take, the worker's start-up included (a busy two-core machine).
RUN_SECONDS = 120


def workbook(headers, rows):
    """An XLSX file for Playwright's file chooser, as the admin's export writes one."""
    content = xlsx_bytes([("farms", tablib.Dataset(*rows, headers=headers))])
    return {"name": "farms.xlsx", "mimeType": XLSX, "buffer": content}


def open_import_page(page, live_server, shoot):
    page.goto(f"{live_server.url}/admin/portfolio/farm/")
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import farms")).to_be_visible()
    shoot(page, "import-page")


def preview(page, file, shoot, step):
    page.get_by_label("Spreadsheet").set_input_files(file)
    page.get_by_role("button", name="Preview").click()
    shoot(page, step)


def test_logging_in_through_the_form(blank_page, live_server, role_user, shoot):
    operator = role_user("operator")
    page = blank_page()
    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_label("Username")).to_be_visible()  # sent to the login form
    shoot(page, "login-form")

    page.get_by_label("Username").fill(operator.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".errornote")).to_contain_text("Please enter the correct username and password")
    shoot(page, "wrong-password")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text("operator")
    expect(page.get_by_role("link", name="Farms", exact=True)).to_be_visible()
    shoot(page, "start-page")


def test_importing_a_workbook_previews_it_then_imports_its_rows(page, live_server, shoot):
    PortfolioFactory(slug="sunbelt", name="Sunbelt")
    open_import_page(page, live_server, shoot)
    rows = [
        ("AZ-01", "sunbelt", "Mesa", "America/Phoenix", datetime(2021, 3, 1, 9, 0, tzinfo=UTC)),
        ("AZ-02", "sunbelt", "Ridge", "America/Phoenix", datetime(2022, 7, 15, 9, 0, tzinfo=UTC)),
    ]
    preview(page, workbook(FARM_COLUMNS, rows), shoot, "preview")
    expect(page.get_by_text("Ready to import farms: 2 new, 0 updated, 0 unchanged.")).to_be_visible()
    expect(page.locator("#rows-new")).to_have_text("2")
    expect(page.locator("#rows-invalid")).to_have_text("0")
    expect(page.locator(".spreadsheet-preview")).to_contain_text("Mesa")
    assert not Farm.objects.exists(), "a preview saves nothing"

    page.get_by_role("button", name="Confirm import").click()
    expect(page.locator(".messagelist")).to_contain_text("Imported farms: 2 new, 0 updated, 0 unchanged.")
    results = page.locator("#result_list")
    expect(results.get_by_role("link", name="Mesa")).to_be_visible()
    expect(results.get_by_role("link", name="Ridge")).to_be_visible()
    shoot(page, "imported")
    assert sorted(Farm.objects.values_list("farm_id", "name")) == [("AZ-01", "Mesa"), ("AZ-02", "Ridge")]


def test_a_bad_workbook_is_refused_naming_its_columns_and_rows(page, live_server, shoot):
    PortfolioFactory(slug="sunbelt", name="Sunbelt")
    open_import_page(page, live_server, shoot)

    # A column the farms file does not have: the whole file is refused, the column named.
    coloured = workbook([*FARM_COLUMNS, "colour"], [("AZ-01", "sunbelt", "Mesa", "America/Phoenix", "", "red")])
    preview(page, coloured, shoot, "unknown-column")
    expect(page.locator(".errornote")).to_contain_text("Unknown columns: colour.")
    assert page.locator("#content-main").inner_text().count("Unknown columns: colour.") == 1, "said once"

    # Cells that cannot be read: each problem names its spreadsheet row and column.
    # The refusal shows the upload form again, under what was wrong.
    rows = [
        ("AZ-01", "sunbelt", "Mesa", "America/Phoenix", "2024-06-31"),
        ("AZ-02", "sunbelt", "Ridge", "Mars/Olympus", ""),
        ("AZ-03", "sunbelt", "Butte", "America/Phoenix", "2023-01-05 08:00"),
    ]
    preview(page, workbook(FARM_COLUMNS, rows), shoot, "bad-rows")
    expect(page.locator(".errornote")).to_contain_text("Nothing was imported: 2 of 3 rows are invalid.")
    expect(page.locator("#rows-invalid")).to_have_text("2")
    problems = page.locator(".spreadsheet-problems li")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_have_text(
        "row 2, commissioned_at: '2024-06-31' is not a date and time; "
        "write ISO 8601, for example 2024-06-01T14:00:00-04:00."
    )
    expect(problems.nth(1)).to_have_text(
        "row 3, timezone: 'Mars/Olympus' is not an IANA time zone name (for example America/New_York or Europe/Berlin)."
    )
    expect(page.get_by_role("button", name="Confirm import")).to_have_count(0)
    assert not Farm.objects.exists()


def test_upload_now_runs_in_the_worker_and_the_sandbox_receives_the_file(
    page, live_server, shoot, raptormaps_integration, worker, sandbox
):
    page.goto(f"{live_server.url}/admin/uploads/raptormapsintegration/{raptormaps_integration.pk}/change/")
    shoot(page, "integration")
    page.get_by_role("button", name="Upload now").click()

    # The run's own page, whose status box follows the run without a reload until it ends.
    expect(page).to_have_url(re.compile(r"/admin/uploads/uploadrun/\d+/change/$"))
    expect(page.locator(".messagelist")).to_contain_text("is queued; its page shows how it goes.")
    status = page.locator("#run-status")
    expect(status).to_be_visible()
    shoot(page, "live-status")
    expect(status.locator("h2")).to_have_text("Outcome", timeout=RUN_SECONDS * 1000)
    expect(status.locator("[data-field=status_label]")).to_have_text("Uploaded")
    shoot(page, "uploaded", readme="upload-run")
    run = UploadRun.objects.get()
    assert run.status == RunStatus.UPLOADED, run.log

    [received] = sandbox.uploads()
    assert received["valid"], received
    assert received["sha256"] == UploadPart.objects.get(run=run).sha256

    # The outcome links the run's calls: the token, the signed URL and the PUT the sandbox received.
    status.get_by_role("link", name=re.compile(r"HTTP calls in the attempt log$")).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(run.attempts.count())
    shoot(page, "attempts")


def test_sync_now_runs_in_the_worker_and_the_sandbox_holds_the_meters(
    page, live_server, shoot, wattcarbon_account, worker, sandbox
):
    page.goto(f"{live_server.url}/admin/uploads/wattcarbonaccount/{wattcarbon_account.pk}/change/")
    shoot(page, "account")
    page.get_by_role("button", name="Sync now").click()
    expect(page).to_have_url(re.compile(r"/admin/uploads/syncrun/\d+/change/$"))
    status = page.locator("#run-status")
    expect(status).to_be_visible()
    shoot(page, "live-status")
    expect(status.locator("h2")).to_have_text("Outcome", timeout=RUN_SECONDS * 1000)
    expect(status.locator("[data-field=status_label]")).to_have_text("Synced")
    shoot(page, "synced")

    links = {link.meter.name: link.remote_id for link in WattCarbonMeterLink.objects.select_related("meter")}
    assert sorted(links) == sorted(Meter.objects.values_list("name", flat=True)) == ["Office", "Warehouse"]
    remote = {meter["id"]: meter["name"] for meter in sandbox.wattcarbon()["meters"]}
    assert {remote[remote_id] for remote_id in links.values()} == {"Office", "Warehouse"}
    for remote_id in links.values():
        assert len(sandbox.wattcarbon_intervals(remote_id)) == 24
    assert wattcarbon_account.syncs.get().status == SyncStatus.SYNCED


def test_a_sensor_page_draws_its_readings(page, live_server, shoot, raptormaps_integration):
    sensor = Sensor.objects.get(sensor_type="ac_power")
    page.goto(f"{live_server.url}/admin/portfolio/sensor/")
    shoot(page, "sensors")
    page.get_by_role("link", name=str(sensor), exact=True).click()
    expect(page.get_by_role("heading", name=str(sensor))).to_be_visible()
    expect(page.locator(".field-last_observation")).to_contain_text("2024-06-01")
    # The readings are two years old: the chart's last 24 hours are empty, and it offers the latest.
    chart = page.locator(".chart").first
    expect(chart).to_contain_text("No data in this range.")
    chart.locator("button.chart-latest").click()
    assert_chart_drawn(page)
    drawn = chart.locator("canvas[data-drawn]").first.get_attribute("data-drawn")
    assert int(drawn.split()[0]) > 0, drawn
    shoot(page, "sensor-chart", readme="sensor-chart")


def test_the_dashboard_flags_the_farm_that_stopped_reporting(page, live_server, shoot):
    portfolio = make_portfolio()
    now = timezone.now().replace(second=0, microsecond=0)
    make_farm_with_readings(portfolio, farm_id="AZ-LIVE", start=now - timedelta(hours=1), hours=1)
    make_farm_with_readings(portfolio, farm_id="NY-QUIET", start=now - timedelta(days=610), hours=2)

    page.goto(f"{live_server.url}/admin/")
    freshness = page.locator("#dash-freshness")
    quiet = freshness.locator("tr", has_text="NY-QUIET")
    expect(quiet).to_contain_text("no reading for 1 year")
    expect(freshness.locator("tr", has_text="AZ-LIVE")).to_contain_text("fresh")
    # What is wrong comes first: the quiet farm above the live one.
    rows = freshness.locator("tbody tr").all_inner_texts()
    assert [i for i, text in enumerate(rows) if "NY-QUIET" in text] < [i for i, t in enumerate(rows) if "AZ-LIVE" in t]
    # The Portfolio section comes first in the model list under the dashboard.
    expect(page.locator("#content-main [class^=app-]").first).to_have_class(re.compile("app-portfolio"))
    shoot(page, "dashboard", readme="dashboard")


@pytest.mark.parametrize("page", [VIEWER], indirect=True)
def test_a_viewer_is_refused_an_operator_action_with_the_page_that_names_the_role(
    page, live_server, shoot, raptormaps_integration
):
    page.goto(f"{live_server.url}/admin/uploads/raptormapsintegration/{raptormaps_integration.pk}/change/")
    expect(page.get_by_role("heading", name="Sandbox uploads")).to_be_visible()
    expect(page.get_by_role("button", name="Upload now")).to_have_count(0)  # not offered to a viewer
    shoot(page, "integration-without-upload-now")

    response = page.goto(f"{live_server.url}/admin/portfolio/farm/import/")  # typed in: importing is an operator's
    assert response.status == 403
    refusal = page.locator("#refusal")
    expect(refusal.locator(".errornote")).to_have_text("Importing farms needs the operator role.")
    expect(refusal).to_contain_text("You are signed in as viewer, with the viewer role.")
    expect(page.locator("#site-name")).to_have_text("Solar portfolio")  # the admin's own page, not a bare 403
    shoot(page, "refused")
