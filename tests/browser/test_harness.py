"""The harness itself: finding Chromium, the width check fails when it should, and say why."""

import os

import pytest

from tests.browser.helpers import Screenshots, browser_path

pytestmark = pytest.mark.browser

WIDE_TABLE = (
    '<body style="margin:0"><div id="changelist"><div class="results" style="width:1000px;overflow-x:auto">'
    '<table style="width:1300px"><tr><td>a list with too many columns</td></tr></table></div></div></body>'
)
WIDE = '<body style="margin:0"><div style="width:1500px">a table too wide for the screen</div></body>'


def test_browser_path_wins_and_a_wrong_one_is_an_error_not_a_skip(tmp_path):
    browser = tmp_path / "my-chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    assert browser_path({"BROWSER_PATH": str(browser)}) == (str(browser), None)
    with pytest.raises(RuntimeError, match=r"BROWSER_PATH=/no/such/chromium is not an executable browser"):
        browser_path({"BROWSER_PATH": "/no/such/chromium"})


def test_without_any_chromium_the_reason_to_skip_says_how_to_get_one(tmp_path):
    not_runnable = tmp_path / "chromium"
    not_runnable.write_text("")
    path, why = browser_path({}, candidates=["/no/such/chromium", str(not_runnable), None])
    assert path is None
    assert why.startswith("no Chromium found (BROWSER_PATH unset, no /usr/bin/chromium, no chromium on PATH)")
    assert "make test" in why and "scripts/ensure-browser" in why


def test_a_page_wider_than_the_screen_fails_its_screenshot_with_its_address_and_width(blank_page, tmp_path):
    page = blank_page()
    page.set_content(WIDE)
    shots = Screenshots(tmp_path, "test_wide[param]")
    too_wide = (
        r"^about:blank does not fit 1366 px: the page scrolls sideways by 134 px, the list's table by 0 px"
        r" \(screenshot .*01-wide\.png\)"
    )
    with pytest.raises(AssertionError, match=too_wide):
        shots.shoot(page, "wide")
    assert os.listdir(tmp_path / "test_wide_param") == ["01-wide.png"], "the evidence is kept"

    # A changelist's table scrolling inside its own box hides its last columns just the same.
    page.set_content(WIDE_TABLE)
    with pytest.raises(AssertionError, match=r"the page scrolls sideways by 0 px, the list's table by 300 px"):
        shots.shoot(page, "wide-table")

    page.set_content("<p>narrow enough</p>")
    assert shots.shoot(page, "narrow").name == "03-narrow.png"
