"""Fixtures of the browser tests: headless Chromium driving the admin on a live server.

The admin is served by pytest-django's ``live_server`` (a thread of this process, on the test
database: a file on SQLite, tests/settings.py, so a worker process sees it too). ``worker`` is a
real django-q2 cluster on that database and broker, and ``sandbox`` the Raptor Maps and
WattCarbon stand-in; Chromium, the cluster and the sandbox are started once and shared.

- ``page``: a page logged in as an operator (or the role it is parametrized with);
  ``signed_in(role)`` opens one for any role, ``blank_page()`` one logged in as nobody;
- ``shoot(page, "step")``: a full-page screenshot under var/test-artifacts/browser/<test>/,
  and the check that the page fits 1,366 pixels;
- ``raptormaps_integration`` and ``wattcarbon_account``: small ones on the sandbox.

A test that fails leaves a screenshot of each of its pages as it was then (``failed-page-N.png``),
and prints the worker's last lines when it used one.
The live server is on http://localhost, which Chromium counts as secure: the session cookie,
secure as in production, is kept.
"""

import os
import uuid

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django_q.conf import Conf
from django_q.models import Schedule

from portfolio.roles import OPERATOR
from sandbox import raptormaps as raptormaps_defaults
from tests.browser.helpers import (
    PASSWORD,
    VIEWPORT,
    Screenshots,
    artifacts_folder,
    browser_path,
    launch_options,
    log_in,
)
from tests.factories import IntervalReadingFactory, MeterFactory
from tests.fixtures.cluster import Cluster, worker_environment
from tests.uploads.accounts import make_account
from tests.uploads.integrations import make_farm_with_readings, make_integration, make_portfolio

ARTIFACTS = settings.BASE_DIR / "var" / "test-artifacts" / "browser"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so its fixtures know whether it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="package")
def chromium():
    """The launched Chromium; the tests skip, saying why, only when there is none on this machine."""
    path, missing = browser_path()
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    # Playwright's synchronous API runs an event loop in this thread, where Django then refuses
    # the tests' own queries ("async context"); they are not async, and run one at a time.
    unsafe = pytest.MonkeyPatch()
    unsafe.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options(path))
        yield browser
        browser.close()
    unsafe.undo()


@pytest.fixture
def shoot(request):
    """``shoot(page, "step")``: screenshot the whole page as the test's next step, and check its width."""
    return Screenshots(ARTIFACTS, request.node.name).shoot


@pytest.fixture
def role_user(transactional_db):
    """``role_user(role)``: a staff user of that role (its group), named after it, with ``PASSWORD``."""

    def make(role):
        user, created = User.objects.get_or_create(username=role, defaults={"is_staff": True})
        if created:
            user.set_password(PASSWORD)
            user.save()
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def blank_page(request, chromium):
    """``blank_page()``: a new 1,366 by 900 page of its own (cookies and all), logged in as nobody."""
    contexts = []

    def open_page():
        context = chromium.new_context(viewport=VIEWPORT)
        contexts.append(context)
        return context.new_page()

    yield open_page
    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    if failed and "worker" in request.fixturenames:
        print(f"The worker's last lines:\n{request.getfixturevalue('worker').output()[-5000:]}")
    for number, context in enumerate(contexts, start=1):
        for page in context.pages if failed else ():
            folder = artifacts_folder(ARTIFACTS, request.node.name)
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=folder / f"failed-page-{number}.png", full_page=True)
        context.close()


@pytest.fixture
def signed_in(blank_page, live_server, role_user):
    """``signed_in(role)``: a new 1,366 by 900 page, logged in as a user of ``role`` through the login form."""

    def open_page(role=OPERATOR):
        page = blank_page()
        log_in(page, live_server.url, role_user(role).username)
        return page

    return open_page


@pytest.fixture
def page(request, signed_in):
    """A page logged in as an operator (who imports, and presses Upload now and Sync now).

    Another role by indirect parametrization: ``@pytest.mark.parametrize("page", [VIEWER], indirect=True)``.
    """
    return signed_in(getattr(request, "param", OPERATOR))


@pytest.fixture(scope="package")
def worker(django_db_setup, tmp_path_factory):
    """A real django-q2 cluster (``manage.py qcluster``) for these tests, on the test database and broker.

    This process queues to it (the live server's "Upload now" and "Sync now"): its queue is
    named for it alone, so no other suite's cluster takes its tasks.
    """
    name = f"browser-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    queue = pytest.MonkeyPatch()
    queue.setattr(Conf, "PREFIX", name)
    queue.setattr(Conf, "CLUSTER_NAME", name)
    folder = tmp_path_factory.mktemp("worker")
    cluster = Cluster(name, worker_environment(name, folder / "work"), folder / "cluster.log")
    yield cluster
    cluster.stop()
    queue.undo()


def without_schedules():
    """Only what a test presses runs: saving an integration or account schedules its first run in seconds."""
    Schedule.objects.all().delete()


@pytest.fixture
def raptormaps_integration(transactional_db, sandbox):
    """A Raptor Maps integration on the sandbox, for one farm of two hours of readings."""
    portfolio = make_portfolio()
    make_farm_with_readings(portfolio)
    integration = make_integration(
        name="Sandbox uploads",
        portfolio=portfolio,
        base_url=sandbox.url,
        client_id=raptormaps_defaults.DEFAULT_CLIENT_ID,
        client_secret=raptormaps_defaults.DEFAULT_CLIENT_SECRET,
        integration_id=raptormaps_defaults.DEFAULT_INTEGRATION_ID,
        org_id=raptormaps_defaults.DEFAULT_ORG_ID,
    )
    without_schedules()
    return integration


@pytest.fixture
def wattcarbon_account(transactional_db, sandbox):
    """A WattCarbon account on the sandbox, for two meters of a day of hourly readings each."""
    account = make_account(name="Sandbox sync", portfolio=make_portfolio(), base_url=sandbox.url)
    for name in ("Warehouse", "Office"):
        IntervalReadingFactory.create_batch(24, meter=MeterFactory(portfolio=account.portfolio, name=name))
    without_schedules()
    return account
