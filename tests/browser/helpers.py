"""What the browser tests share besides fixtures: finding Chromium, logging in, screenshots, the width check.

The browser is Debian's ``chromium`` (``make test`` installs it where it can: scripts/ensure-browser),
never Playwright's own download: ``BROWSER_PATH`` names another one.
"""

import os
import re
import shutil
from pathlib import Path

from playwright.sync_api import expect

__all__ = [
    "PASSWORD",
    "VIEWPORT",
    "Screenshots",
    "artifacts_folder",
    "assert_chart_drawn",
    "assert_fits",
    "browser_path",
    "launch_options",
    "log_in",
    "overflow",
]

# The narrowest screen the admin is made for (issue 16): every page must fit it without a horizontal scroll.
VIEWPORT = {"width": 1366, "height": 900}
PASSWORD = "browser-test-password"
# The README's tour (``make screenshots``): pictures taken by the browser tests, never by hand.
README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
INSTALL_HINT = "`make test` installs Debian's chromium where it may (scripts/ensure-browser)"


def browser_path(environ=os.environ, candidates=None):
    """(the Chromium to drive, None), or (None, why there is none).

    ``BROWSER_PATH`` wins; when it names nothing runnable that is an error, not a reason to skip.
    Else Debian's /usr/bin/chromium, else a ``chromium`` on the PATH.
    """
    chosen = environ.get("BROWSER_PATH")
    if chosen:
        if not os.access(chosen, os.X_OK):
            raise RuntimeError(f"BROWSER_PATH={chosen} is not an executable browser; fix it or unset it.")
        return chosen, None
    if candidates is None:
        candidates = ("/usr/bin/chromium", shutil.which("chromium"))
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate, None
    return None, f"no Chromium found (BROWSER_PATH unset, no /usr/bin/chromium, no chromium on PATH); {INSTALL_HINT}"


def launch_options(path):
    """Playwright's ``chromium.launch`` arguments for the Chromium at ``path``."""
    # Chromium's sandbox refuses to start as root (containers, CI); elsewhere it stays on.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    return {"executable_path": path, "args": args}


def log_in(page, base_url, username, password=PASSWORD):
    """Log in through the admin's real login form; returns once the admin's start page is shown."""
    page.goto(f"{base_url}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(username)


# How far the page, and a list's table inside its box, scroll sideways (0: it fits). The admin
# scrolls a wide changelist table inside its own box, which hides the last columns just the same.
OVERFLOW = """() => {
    const results = document.querySelector('#changelist .results');
    return {
        page: document.documentElement.scrollWidth - window.innerWidth,
        table: results ? results.scrollWidth - results.clientWidth : 0,
    };
}"""


def overflow(page):
    """{"page": px, "table": px} of sideways scroll at the window's width; both 0 when it fits."""
    return page.evaluate(OVERFLOW)


def assert_fits(page, path=None):
    """The page fits the 1,366-pixel window: nothing to scroll sideways to, the list's table included."""
    scroll = overflow(page)
    where = f" (screenshot {path})" if path else ""
    assert max(scroll.values()) <= 0, (
        f"{page.url} does not fit {VIEWPORT['width']} px: the page scrolls sideways by {scroll['page']} px,"
        f" the list's table by {scroll['table']} px{where}"
    )


def artifacts_folder(root, test_name):
    """Where a test's screenshots go: a folder named after it (parameters included) under ``root``."""
    return Path(root) / re.sub(r"[^\w.-]+", "_", test_name).strip("_")


class Screenshots:
    """A test's numbered screenshots: ``var/test-artifacts/browser/<test>/<NN-step>.png``.

    The test's folder is emptied first, so it holds only this run's steps.
    """

    def __init__(self, root, test_name):
        self.folder = artifacts_folder(root, test_name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.taken = 0

    def path(self, step):
        self.taken += 1
        name = re.sub(r"[^\w.-]+", "-", step).strip("-")
        return self.folder / f"{self.taken:02d}-{name}.png"

    def shoot(self, page, step, readme=None):
        """Save the whole page as the next step, then check it fits the window's width.

        ``readme``: the name of a README screenshot this step also is (docs/screenshots/<readme>.png,
        the window as seen), written when README_SCREENSHOTS is set (``make screenshots``).
        """
        path = self.path(step)
        page.screenshot(path=path, full_page=True)
        assert_fits(page, path)
        if readme and os.environ.get("README_SCREENSHOTS"):
            README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=README_SCREENSHOTS / f"{readme}.png")
        return path


def assert_chart_drawn(page, timeout=30):
    """A chart finished drawing: its canvas is marked ``data-drawn`` (for the sensor and farm charts)."""
    expect(page.locator("canvas[data-drawn]").first).to_be_visible(timeout=timeout * 1000)
