"""The WattCarbon admin as operations staff use it: accounts with a write-only API key, syncs,
their attempts, and where each meter and asset stands with each account.

Pages go through the Django test client and the real admin; "Sync now" and "Retry" queue real
tasks in the configured broker; "Test connection" and a whole sync talk HTTP to the sandbox's
WattCarbon (a real server on 127.0.0.1). Meter and asset states are set up with link rows, as a
sync leaves them.
"""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.html import escape
from django_q.models import Schedule

from portfolio.models import Asset, Meter
from sandbox import wattcarbon as sandbox_defaults
from tests.factories import (
    AssetFactory,
    BillReadingFactory,
    DemandResponseEventFactory,
    IntervalReadingFactory,
    MeterFactory,
    PortfolioFactory,
)
from tests.portfolio.admin_forms import errors_of
from tests.uploads import admin_helpers
from tests.uploads.admin_helpers import (
    changelist_queries,
    changelist_selects,
    closed_port,
    form_errors,
    messages_of,
    page_text,
    reloaded,
    save,
    staff_user,
    stored_secrets,
    token_integration,
    url,
)
from tests.uploads.admin_helpers import make_attempt as make_raptormaps_attempt
from uploads.admin.display import exact as display_exact
from uploads.admin.sync_state import AssetWithSyncStateAdmin, MeterWithSyncStateAdmin
from uploads.models import (
    Attempt,
    AttemptOutcome,
    RunTrigger,
    Service,
    SyncRun,
    SyncStatus,
    WattCarbonAccount,
    WattCarbonAssetLink,
    WattCarbonMeterLink,
)
from uploads.runs.schedules import sync_wattcarbon_schedule
from uploads.secrets import Secret
from uploads.wattcarbon import payloads
from uploads.wattcarbon.api import WattCarbonApi

pytestmark = pytest.mark.django_db

# Real secrets, distinctive enough that finding one in a page cannot be a coincidence.
API_KEY = "wc-api-key-Rt93fLm2"
ACCESS_TOKEN = "wc-access-token-Jd58qNx4"
SECRETS = (API_KEY, ACCESS_TOKEN)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN_EXPIRES = datetime(2040, 1, 2, 3, 4, 5, tzinfo=UTC)


# --- helpers --------------------------------------------------------------------------------------


def listed(client, model, query=""):
    response = client.get(url(model, "changelist") + query)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def make_account(name="Main", portfolio=None, api_key=API_KEY, token=True, **fields):
    """An account with a real API key and (by default) a cached access token, saved."""
    portfolio = portfolio or PortfolioFactory(name="Sunbelt", slug="sunbelt")
    fields.setdefault("email", "ops@example.org")
    fields.setdefault("account_id", "acct-42")
    account = WattCarbonAccount(name=name, portfolio=portfolio, api_key=Secret(api_key), **fields)
    if token:
        account.access_token = Secret(ACCESS_TOKEN)
        account.access_token_expires_at = TOKEN_EXPIRES
    account.full_clean()
    account.save()
    return account


def sandbox_account(sandbox, **fields):
    """An account with the sandbox's login (or ``fields`` instead), no token cached."""
    values = {
        "name": "Sandbox",
        "api_key": sandbox_defaults.DEFAULT_API_KEY,
        "token": False,
        "email": sandbox_defaults.DEFAULT_EMAIL,
        "account_id": sandbox_defaults.DEFAULT_ACCOUNT_ID,
        "base_url": sandbox.url,
        **fields,
    }
    values["portfolio"] = values.get("portfolio") or PortfolioFactory(name="Sandbox", slug="sandbox")
    return make_account(**values)


def assert_no_secret(html, *accounts):
    """The shared check, with this file's real secrets (WattCarbon's, not Raptor Maps')."""
    admin_helpers.assert_no_secret(html, *accounts, secrets=SECRETS)


def make_sync(account, status=SyncStatus.SYNCED, attempts=0, **fields):
    """A sync as the service leaves it, with its HTTP attempts."""
    finished = status not in (SyncStatus.QUEUED, SyncStatus.RUNNING)
    run = SyncRun.objects.create(
        account=account,
        status=status,
        trigger=fields.pop("trigger", RunTrigger.SCHEDULE),
        started_at=T0 if status != SyncStatus.QUEUED else None,
        finished_at=T0 + timedelta(seconds=75) if finished else None,
        **fields,
    )
    for number in range(attempts):
        make_attempt(account, sync_run=run, started_at=T0 + timedelta(seconds=number))
    return run


def make_attempt(account, sync_run=None, subject=None, **fields):
    subject = subject or account
    values = {
        "service": Service.WATTCARBON,
        "operation": "create_meter",
        "method": "POST",
        "url": f"{account.base_url}/accounts/{account.account_id}/meters",
        "status_code": 201,
        "outcome": AttemptOutcome.OK,
        "started_at": T0,
        "duration_ms": 321,
        "sync_run": sync_run,
        "subject_type": ContentType.objects.get_for_model(subject),
        "subject_id": str(subject.pk),
        "subject_label": str(subject),
    }
    values.update(fields)
    return Attempt.objects.create(**values)


def failed_sync(account, **fields):
    return make_sync(
        account,
        status=SyncStatus.FAILED,
        error="upload_intervals: HTTP 503 Service Unavailable after 5 attempts.",
        log="Portfolio Sunbelt: 2 meter(s), 1 asset(s).\nCreated meter Meter A: WattCarbon meter 1001.",
        meters_created=1,
        interval_rows=12_345,
        write_calls=3,
        attempts=3,
        **fields,
    )


def text_of(html):
    """The page's text without tags, spaces as one."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def story():
    """Two accounts on two portfolios; syncs that went well, failed and had problems; attempts."""
    main = make_account()
    second = make_account(name="Second", portfolio=PortfolioFactory(name="Prairie", slug="prairie"), token=False)
    synced = make_sync(
        main, meters_created=2, interval_rows=8760, bill_rows=12, assets_created=1, documents=1, write_calls=6
    )
    failed = failed_sync(second)
    partial = make_sync(main, status=SyncStatus.PARTIAL, problems=2, assets_updated=1, error="2 meter(s) or asset(s)")
    make_attempt(main, operation="token", method="POST", status_code=401, outcome=AttemptOutcome.GAVE_UP)
    return {"main": main, "second": second, "synced": synced, "failed": failed, "partial": partial}


# --- every page -----------------------------------------------------------------------------------


def test_the_wattcarbon_models_are_in_the_admin_and_meters_and_assets_carry_the_sync_state():
    assert admin.site.is_registered(WattCarbonAccount)
    assert admin.site.is_registered(SyncRun)
    assert type(admin.site._registry[Meter]) is MeterWithSyncStateAdmin
    assert type(admin.site._registry[Asset]) is AssetWithSyncStateAdmin


def test_every_page_renders(admin_client, story):
    main, failed = story["main"], story["failed"]
    meter = MeterFactory(portfolio=main.portfolio)
    asset = AssetFactory(portfolio=main.portfolio)
    pages = [
        url(WattCarbonAccount, "changelist"),
        url(WattCarbonAccount, "changelist") + "?q=ops@example.org&enabled__exact=1",
        url(WattCarbonAccount, "add"),
        url(WattCarbonAccount, "change", main.pk),
        url(WattCarbonAccount, "change", story["second"].pk),
        url(WattCarbonAccount, "history", main.pk),
        url(WattCarbonAccount, "delete", main.pk),
        url(SyncRun, "changelist"),
        url(SyncRun, "changelist") + f"?account__id__exact={main.pk}&status__exact=failed&trigger__exact=admin",
        url(SyncRun, "change", failed.pk),
        url(SyncRun, "change", story["synced"].pk),
        url(SyncRun, "history", failed.pk),
        url(Attempt, "changelist") + f"?integration=wattcarbon-{main.pk}",
        url(Attempt, "changelist") + f"?sync_run__id__exact={failed.pk}",
        url(Attempt, "change", failed.attempts.first().pk),
        url(Meter, "changelist"),
        url(Meter, "changelist") + "?wattcarbon=changed",
        url(Meter, "change", meter.pk),
        url(Asset, "changelist") + "?wattcarbon=no_account",
        url(Asset, "change", asset.pk),
    ]
    for page in pages:
        assert admin_client.get(page).status_code == 200, page


def test_syncs_cannot_be_added_changed_or_deleted(admin_client, story):
    failed = story["failed"]
    assert admin_client.get(url(SyncRun, "add")).status_code == 403
    assert admin_client.get(url(SyncRun, "delete", failed.pk)).status_code == 403
    assert 'name="_save"' not in page_text(admin_client.get(url(SyncRun, "change", failed.pk)))


# --- the account form: a write-only API key -------------------------------------------------------


def add_data(**fields):
    data = {
        "name": "North",
        "base_url": "https://api.wattcarbon.com",
        "account_id": "acct-7",
        "email": "north@example.org",
        "user_agent": "portfolio-manager/0.1 (solar portfolio sync)",
        "sync_interval_seconds": "3600",
        "chunk_rows": "10000",
        "upload_concurrency": "4",
        "enabled": "on",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def test_adding_an_account_stores_the_api_key_encrypted(admin_client, django_capture_on_commit_callbacks):
    portfolio = PortfolioFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url(WattCarbonAccount, "add"), add_data(portfolio=portfolio.pk, api_key=API_KEY))
    assert response.status_code == 302, errors_of(response)
    account = WattCarbonAccount.objects.get(name="North")
    assert account.api_key.reveal() == API_KEY
    assert (account.portfolio, account.account_id, account.email) == (portfolio, "acct-7", "north@example.org")
    assert API_KEY not in stored_secrets(account)[0]  # encrypted at rest
    assert_no_secret(page_text(admin_client.get(url(WattCarbonAccount, "history", account.pk))), account)
    # Saving an enabled account gives it a schedule.
    assert Schedule.objects.filter(name=f"WattCarbon sync: account {account.pk}").count() == 1


def test_the_add_form_asks_for_the_api_key(admin_client):
    html = page_text(admin_client.get(url(WattCarbonAccount, "add")))
    assert "Stored encrypted, and never shown again. From the account's settings page on WattCarbon." in html
    assert 'class="secret-status secret-not-set">not set<' in html
    assert '<label class="required" for="id_api_key">API key:</label>' in html
    assert "Interval and bill files sent at the same time (1 to 16), each for another meter." in html
    response = admin_client.post(url(WattCarbonAccount, "add"), add_data(portfolio=PortfolioFactory().pk))
    assert form_errors(response) == {"api_key": ["Enter the account's API key: WattCarbon gives a token only for it."]}
    assert not WattCarbonAccount.objects.exists()


def test_the_form_names_the_field_that_is_wrong(admin_client):
    data = add_data(
        portfolio="",
        api_key=API_KEY,
        email="not an email",
        sync_interval_seconds="30",
        chunk_rows="0",
        upload_concurrency="17",
    )
    response = admin_client.post(url(WattCarbonAccount, "add"), data)
    assert form_errors(response) == {
        "portfolio": ["This field is required."],
        "email": ["Enter a valid email address."],
        "sync_interval_seconds": ["Ensure this value is greater than or equal to 60."],
        "chunk_rows": ["Ensure this value is greater than or equal to 1."],
        "upload_concurrency": ["Ensure this value is less than or equal to 16."],
    }
    html = page_text(response)
    assert API_KEY not in html  # the typed key does not come back in the refused form


def test_the_api_key_is_never_rendered(admin_client):
    account = make_account()
    html = page_text(admin_client.get(url(WattCarbonAccount, "change", account.pk)))
    assert html.count('type="password"') == 1
    assert '<input type="password" name="api_key" autocomplete="new-password"' in html
    assert 'class="secret-status secret-stored">stored<' in html
    assert "Stored encrypted. Leave blank to keep the current value." in html
    # The account's only credential has no "remove" box.
    assert "clear_api_key" not in html
    assert_no_secret(html, account)


def test_a_blank_api_key_keeps_it_and_the_cached_token(admin_client):
    account = make_account()
    response = save(admin_client, account, name="Main renamed", account_id="acct-43")
    assert response.status_code == 302, errors_of(response)
    account = reloaded(account)
    assert (account.name, account.account_id) == ("Main renamed", "acct-43")
    assert account.api_key.reveal() == API_KEY
    assert account.access_token.reveal() == ACCESS_TOKEN
    assert account.access_token_expires_at == TOKEN_EXPIRES


def test_a_new_api_key_replaces_it_and_forgets_the_cached_token(admin_client):
    account = make_account()
    response = save(admin_client, account, api_key="  wc-new-key-Pp07  ")
    assert response.status_code == 302, errors_of(response)
    account = reloaded(account)
    assert account.api_key.reveal() == "wc-new-key-Pp07"
    assert not account.access_token
    assert account.access_token_expires_at is None
    html = page_text(admin_client.get(url(WattCarbonAccount, "history", account.pk)))
    assert "Changed API key." in html
    assert "wc-new-key-Pp07" not in html


@pytest.mark.parametrize(
    "changes",
    [{"email": "someone.else@example.org"}, {"base_url": "https://staging.wattcarbon.example"}],
    ids=["email", "server"],
)
def test_another_login_or_server_forgets_the_cached_token(admin_client, changes):
    account = make_account()
    response = save(admin_client, account, **changes)
    assert response.status_code == 302, errors_of(response)
    account = reloaded(account)
    assert account.api_key.reveal() == API_KEY
    assert not account.access_token and account.access_token_expires_at is None


def test_a_url_without_a_scheme_is_taken_as_https(admin_client):
    account = make_account()
    response = save(admin_client, account, base_url="api.wattcarbon.example")
    assert response.status_code == 302, errors_of(response)
    assert reloaded(account).base_url == "https://api.wattcarbon.example"


def test_an_unreadable_api_key_is_kept_until_it_is_entered_again(admin_client, settings):
    account = make_account()
    stored = stored_secrets(account)
    settings.SECRETS_ENCRYPTION_KEYS = ["a key that did not encrypt it"]
    html = page_text(admin_client.get(url(WattCarbonAccount, "change", account.pk)))
    assert (
        'class="secret-status secret-unreadable">stored but unreadable with the current key — enter it again<' in html
    )
    assert "One is cached but cannot be decrypted with the current key: the next sync fetches a new one." in html
    assert_no_secret(html, account)

    response = save(admin_client, account, name="Main, new key")
    assert response.status_code == 302, errors_of(response)
    assert stored_secrets(account) == stored  # kept as it was, token included

    response = save(admin_client, account, api_key=API_KEY)
    assert response.status_code == 302, errors_of(response)
    account = reloaded(account)
    assert account.api_key.reveal() == API_KEY
    assert not account.access_token


def test_viewers_see_whether_a_key_is_stored_but_no_box_button_or_action(client, story):
    client.force_login(staff_user("view_wattcarbonaccount"))
    main = story["main"]
    html = page_text(client.get(url(WattCarbonAccount, "change", main.pk)))
    assert 'type="password"' not in html
    assert '<div class="readonly">stored</div>' in html
    assert url(WattCarbonAccount, "sync_now", main.pk) not in html
    assert url(WattCarbonAccount, "test_connection", main.pk) not in html
    assert_no_secret(html, main)
    assert "sync_now_action" not in page_text(client.get(url(WattCarbonAccount, "changelist")))
    client.post(url(WattCarbonAccount, "changelist"), {"action": "sync_now_action", "_selected_action": [main.pk]})
    assert client.post(url(WattCarbonAccount, "sync_now", main.pk)).status_code == 403
    assert client.post(url(WattCarbonAccount, "test_connection", main.pk)).status_code == 403
    assert not SyncRun.objects.filter(trigger=RunTrigger.ADMIN).exists()


# --- the account list and page ------------------------------------------------------------------------


def test_the_account_list_says_where_each_syncs_and_how_its_last_sync_went(admin_client, story):
    main, second = story["main"], story["second"]
    WattCarbonAccount.objects.filter(pk=second.pk).update(sync_interval_seconds=5400, enabled=False)
    response = admin_client.get(url(WattCarbonAccount, "changelist"))
    html = page_text(response)
    rows = {row.pk: row for row in response.context["cl"].result_list}
    assert (rows[main.pk].last_sync_id, rows[main.pk].last_sync_status) == (story["partial"].pk, SyncStatus.PARTIAL)
    assert (rows[second.pk].last_sync_id, rows[second.pk].last_sync_status) == (story["failed"].pk, SyncStatus.FAILED)
    assert '<td class="field-account_id">acct-42</td>' in html
    assert '<td class="field-email">ops@example.org</td>' in html
    assert '<td class="field-interval">1 h</td>' in html
    assert '<td class="field-interval">1 h 30 min</td>' in html
    assert (
        f'<a href="{url(SyncRun, "change", story["partial"].pk)}"><span class="uploads-badge sync-status-partial" '
        'style="background-color: #b45309" title="synced, with problems">with problems</span></a>' in html
    )
    assert 'class="uploads-badge sync-status-failed" style="background-color: #b91c1c"' in html
    assert f'href="{url(SyncRun, "changelist")}?account__id__exact={main.pk}">syncs</a>' in html
    assert_no_secret(html, main, second)


def test_an_account_that_never_synced_says_so(admin_client):
    make_account()
    html = page_text(admin_client.get(url(WattCarbonAccount, "changelist")))
    assert '<td class="field-last_sync"><span class="quiet">never</span></td>' in html


def test_the_account_list_filters(admin_client, story):
    main, second = story["main"], story["second"]
    WattCarbonAccount.objects.filter(pk=second.pk).update(enabled=False)
    assert listed(admin_client, WattCarbonAccount, "?enabled__exact=0") == {second.pk}
    assert listed(admin_client, WattCarbonAccount, f"?portfolio__id__exact={main.portfolio_id}") == {main.pk}
    assert listed(admin_client, WattCarbonAccount, "?q=acct-42") == {main.pk, second.pk}


def test_the_list_never_loads_a_secret(admin_client, story):
    selects = changelist_selects(admin_client, WattCarbonAccount)
    table = WattCarbonAccount._meta.db_table
    assert selects
    for column in ("api_key", "access_token"):
        assert all(f'"{table}"."{column}"' not in sql for sql in selects), column


def test_the_account_page_shows_recent_syncs_schedule_token_and_its_meters_and_assets(admin_client, story):
    main = story["main"]
    sync_wattcarbon_schedule(main)
    Schedule.objects.filter(name=f"WattCarbon sync: account {main.pk}").update(
        next_run=timezone.now() + timedelta(minutes=42, seconds=30)
    )
    synced_meter, _waiting_meter = MeterFactory.create_batch(2, portfolio=main.portfolio)
    WattCarbonMeterLink.objects.create(account=main, meter=synced_meter, remote_id=1001)
    AssetFactory(portfolio=main.portfolio)
    html = page_text(admin_client.get(url(WattCarbonAccount, "change", main.pk)))
    text = text_of(html)

    assert "Next sync in 42 minutes" in text
    assert "Cached, valid until 2040-01-02 03:04:05 UTC." in html
    # Recent syncs, newest first, with what each changed.
    partial, synced = story["partial"], story["synced"]
    assert html.index(f">sync #{partial.pk}<") < html.index(f">sync #{synced.pk}<")
    assert f"sync #{synced.pk} synced schedule" in text
    assert "2 8,772 1 / 0 0" in text  # meters created, readings sent, assets created / updated, problems
    assert f'href="{url(SyncRun, "changelist")}?account__id__exact={main.pk}">All syncs of this account<' in html
    # How its portfolio's meters and assets stand, each group linked.
    meters = f"{url(Meter, 'changelist')}?portfolio__id__exact={main.portfolio_id}&amp;wattcarbon="
    assets = f"{url(Asset, 'changelist')}?portfolio__id__exact={main.portfolio_id}&amp;wattcarbon="
    assert "2 meters: 1 not synced , 1 synced" in text
    assert "1 asset: 1 not synced" in text
    assert f'<a href="{meters}synced">1 <span class="uploads-badge sync-state-synced"' in html
    assert f'<a href="{meters}not_synced">1 <span class="uploads-badge sync-state-not_synced"' in html
    assert f'<a href="{assets}not_synced">1 <span class="uploads-badge sync-state-not_synced"' in html
    assert f'href="{meters}error"' not in html
    assert_no_secret(html, main)


def test_a_disabled_account_has_no_schedule_and_no_token(admin_client):
    account = make_account(enabled=False, token=False)
    html = page_text(admin_client.get(url(WattCarbonAccount, "change", account.pk)))
    assert "No schedule: the account is disabled." in html
    assert "None cached: the next sync logs in with the email and API key for one." in html
    assert "No sync yet." in html
    assert "No meters in portfolio Sunbelt." in html
    assert not Schedule.objects.filter(name=f"WattCarbon sync: account {account.pk}").exists()


# --- Test connection -------------------------------------------------------------------------------


def press_test_connection(client, account):
    response = client.post(url(WattCarbonAccount, "test_connection", account.pk), follow=True)
    assert response.redirect_chain == [(url(WattCarbonAccount, "change", account.pk), 302)]
    return response


def create_remote_assets(account, count):
    """Assets made on the sandbox's WattCarbon directly, as another tool would."""
    api = WattCarbonApi(account)
    try:
        for number in range(count):
            payload = {
                "name": f"Remote {number}",
                "customId": f"R-{number}",
                "kind": "storage_direct",
                "location": "60 Greene St Riverside IA",
                "meterIds": [],
            }
            api.create_asset(payload)
    finally:
        api.close()


def test_test_connection_counts_the_accounts_assets(admin_client, sandbox):
    account = sandbox_account(sandbox)
    response = press_test_connection(admin_client, account)
    assert messages_of(response) == [
        "Sandbox: the connection works. WattCarbon account sandbox-account has no assets yet."
    ]
    assert '<li class="success">' in page_text(response)
    # What it asked, as the sandbox saw it; the fresh token kept, encrypted, for the next sync.
    assert [call["operation"] for call in sandbox.calls(service="wattcarbon")] == ["token", "find_assets"]
    account = reloaded(account)
    assert account.access_token.is_set and account.access_token_expires_at > timezone.now()
    assert list(Attempt.objects.order_by("id").values_list("operation", "outcome", "subject_id")) == [
        ("token", "ok", str(account.pk)),
        ("list_assets", "ok", str(account.pk)),
    ]

    create_remote_assets(account, 2)
    response = press_test_connection(admin_client, account)
    assert messages_of(response) == ["Sandbox: the connection works. WattCarbon account sandbox-account has 2 assets."]
    html = page_text(response)
    for value in (sandbox_defaults.DEFAULT_API_KEY, reloaded(account).access_token.reveal()):
        assert value not in html
    assert_no_secret(html, account)


def test_test_connection_reports_a_refused_login_without_showing_the_key(admin_client, sandbox):
    account = sandbox_account(sandbox, api_key=API_KEY)  # a key the sandbox does not know
    response = press_test_connection(admin_client, account)
    assert messages_of(response) == [
        "Sandbox: the connection test failed. token: HTTP 401 Incorrect username or password"
    ]
    assert '<li class="error">' in page_text(response)
    assert_no_secret(page_text(response), account)
    assert not reloaded(account).access_token


def test_test_connection_reports_another_accounts_id(admin_client, sandbox):
    account = sandbox_account(sandbox, account_id="someone-else")
    response = press_test_connection(admin_client, account)
    assert messages_of(response) == [
        "Sandbox: the connection test failed. list assets: HTTP 403 This token is not for account someone-else"
    ]


def test_test_connection_reports_a_server_that_does_not_answer(admin_client, settings):
    settings.UPLOADS_RETRY_BASE_SECONDS = 0.01
    account = make_account(base_url=f"http://127.0.0.1:{closed_port()}")
    response = press_test_connection(admin_client, account)
    assert messages_of(response) == [
        "Main: the connection test failed. token: the connection was refused after 2 attempts"
    ]
    attempts = Attempt.objects.filter(operation="token")
    assert [attempt.outcome for attempt in attempts.order_by("started_at")] == ["retry", "gave_up"]
    assert all(attempt.subject == account for attempt in attempts)
    assert_no_secret(page_text(response), account)


def test_test_connection_from_the_list(admin_client, sandbox):
    account = sandbox_account(sandbox)
    response = admin_client.post(
        url(WattCarbonAccount, "changelist"),
        {"action": "test_connection_action", "_selected_action": [account.pk]},
        follow=True,
    )
    assert messages_of(response) == [
        "Sandbox: the connection works. WattCarbon account sandbox-account has no assets yet."
    ]


def test_test_connection_refuses_a_key_that_cannot_be_read(admin_client, settings):
    account = make_account()
    settings.SECRETS_ENCRYPTION_KEYS = ["the new key"]
    response = press_test_connection(admin_client, account)
    assert messages_of(response) == [
        "Main: the stored API key cannot be decrypted with the current key; enter it again."
    ]
    assert not Attempt.objects.exists()
    assert admin_client.get(url(WattCarbonAccount, "test_connection", account.pk)).status_code == 405


# --- Sync now ----------------------------------------------------------------------------------------


def test_sync_now_from_the_list_queues_a_sync_per_account(
    admin_client, admin_user, story, queued_tasks, django_capture_on_commit_callbacks
):
    main, second = story["main"], story["second"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url(WattCarbonAccount, "changelist"),
            {"action": "sync_now_action", "_selected_action": [main.pk, second.pk]},
            follow=True,
        )
    runs = list(SyncRun.objects.filter(status=SyncStatus.QUEUED).order_by("pk"))
    assert [(run.account, run.trigger, run.requested_by) for run in runs] == [
        (main, RunTrigger.ADMIN, admin_user),
        (second, RunTrigger.ADMIN, admin_user),
    ]
    assert messages_of(response) == [
        f'Main: <a href="{url(SyncRun, "change", runs[0].pk)}">sync #{runs[0].pk}</a> is queued; '
        "its page shows how it goes.",
        f'Second: <a href="{url(SyncRun, "change", runs[1].pk)}">sync #{runs[1].pk}</a> is queued; '
        "its page shows how it goes.",
    ]
    tasks = queued_tasks()
    assert sorted(task["args"] for task in tasks.values()) == [(main.pk, runs[0].pk), (second.pk, runs[1].pk)]
    assert {task["func"] for task in tasks.values()} == {"uploads.tasks.sync_wattcarbon"}
    assert {run.task_id for run in SyncRun.objects.filter(pk__in=[run.pk for run in runs])} == set(tasks)


def test_sync_now_from_the_account_page(admin_client, queued_tasks, django_capture_on_commit_callbacks):
    account = make_account()
    change = url(WattCarbonAccount, "change", account.pk)
    sync_now = url(WattCarbonAccount, "sync_now", account.pk)
    html = page_text(admin_client.get(change))
    assert f'action="{sync_now}"' in html
    assert f'action="{url(WattCarbonAccount, "test_connection", account.pk)}"' in html

    assert admin_client.get(sync_now).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(sync_now)
    run = SyncRun.objects.get()
    # The user follows the sync on its page.
    assert response.status_code == 302 and response["Location"] == url(SyncRun, "change", run.pk)
    assert (run.account, run.trigger, run.status) == (account, RunTrigger.ADMIN, SyncStatus.QUEUED)
    assert list(queued_tasks()) == [run.task_id]
    # The new sync is on the account's page, "sync now" as its trigger.
    text = text_of(page_text(admin_client.get(change)))
    assert f"sync #{run.pk} queued sync now" in text


def test_sync_now_refuses_a_key_that_cannot_be_read(admin_client, settings, queued_tasks):
    account = make_account()
    settings.SECRETS_ENCRYPTION_KEYS = ["the new key"]
    response = admin_client.post(url(WattCarbonAccount, "sync_now", account.pk), follow=True)
    assert messages_of(response) == [
        "Main: the stored API key cannot be decrypted with the current key; enter it again."
    ]
    assert not SyncRun.objects.exists()
    assert queued_tasks() == {}


def test_sync_now_refuses_an_account_without_a_key(admin_client):
    account = make_account()
    WattCarbonAccount.objects.filter(pk=account.pk).update(api_key=Secret(""))
    response = admin_client.post(url(WattCarbonAccount, "sync_now", account.pk), follow=True)
    assert messages_of(response) == ["Main: no API key is stored; enter it first."]
    assert not SyncRun.objects.exists()


def test_sync_now_runs_through_the_worker_to_the_sandbox(
    admin_client, sandbox, sync_worker, quick_retries, django_capture_on_commit_callbacks
):
    account = sandbox_account(sandbox)
    meter = MeterFactory(portfolio=account.portfolio, name="Main meter")
    IntervalReadingFactory.create_batch(3, meter=meter, ingested_at=timezone.now() - timedelta(minutes=5))
    asset = AssetFactory(portfolio=account.portfolio, custom_id="SITE-1")
    asset.meters.add(meter)
    assert listed(admin_client, Meter, "?wattcarbon=not_synced") == {meter.pk}

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url(WattCarbonAccount, "sync_now", account.pk), follow=True)
    run = SyncRun.objects.get()
    assert f"sync #{run.pk}</a> is queued" in messages_of(response)[0]
    assert (run.status, run.trigger, run.error) == (SyncStatus.SYNCED, RunTrigger.ADMIN, "")
    assert (run.meters_created, run.interval_rows, run.assets_created) == (1, 3, 1)
    [remote_meter] = sandbox.wattcarbon()["meters"]
    assert len(sandbox.wattcarbon_intervals(remote_meter["id"])) == 3

    # The sync's page: its counts, every call it made, and no secret.
    html = page_text(admin_client.get(url(SyncRun, "change", run.pk)))
    assert "sync-status-synced" in html
    # The attempt log of this sync: from the outcome box and under the attempts table.
    assert html.count(f'href="{url(Attempt, "changelist")}?sync_run__id__exact={run.pk}"') == 2
    assert run.attempts.count() == 4  # token, meter, intervals, asset
    for attempt in run.attempts.all():
        assert url(Attempt, "change", attempt.pk) in html
    assert sandbox_defaults.DEFAULT_API_KEY not in html
    assert reloaded(account).access_token.reveal() not in html
    # Meter and asset now read "synced", with their WattCarbon ids on their pages.
    assert listed(admin_client, Meter, "?wattcarbon=synced") == {meter.pk}
    assert listed(admin_client, Asset, "?wattcarbon=synced") == {asset.pk}
    meter_page = text_of(page_text(admin_client.get(url(Meter, "change", meter.pk))))
    assert f"WattCarbon meter ID {remote_meter['id']}" in meter_page


# --- syncs ------------------------------------------------------------------------------------------


def test_the_sync_list_shows_status_counts_and_duration(admin_client, story):
    synced = story["synced"]
    html = page_text(admin_client.get(url(SyncRun, "changelist")))
    assert 'class="uploads-badge sync-status-synced" style="background-color: #15803d" title="synced">synced<' in html
    assert 'class="uploads-badge sync-status-failed"' in html
    assert 'title="synced, with problems">with problems<' in html
    assert f'<th class="field-sync"><a href="{url(SyncRun, "change", synced.pk)}">#{synced.pk}</a></th>' in html
    # Interval and bill rows together (each on hover); assets created and updated in one column.
    assert '<td class="field-readings_sent"><span title="8,760 interval rows, 12 bill rows">8,772</span></td>' in html
    assert '<td class="field-readings_sent"><span title="12,345 interval rows, 0 bill rows">12,345</span></td>' in html
    assert '<td class="field-assets_changed">1 / 0</td>' in html
    assert '<td class="field-problems_count">2</td>' in html
    assert '<td class="field-write_calls_count">6</td>' in html
    assert '<td class="field-duration"><span class="nowrap">1 min 15 s</span></td>' in html
    for heading in ("meters created", "problems", "write calls"):
        assert f">{heading.capitalize()}</a>" in html, heading


def test_the_sync_list_filters_by_status_account_and_trigger(admin_client, story):
    main, failed, synced, partial = story["main"], story["failed"], story["synced"], story["partial"]
    retried = make_sync(main, trigger=RunTrigger.ADMIN)
    assert listed(admin_client, SyncRun, f"?account__id__exact={main.pk}") == {synced.pk, partial.pk, retried.pk}
    assert listed(admin_client, SyncRun, "?status__exact=failed") == {failed.pk}
    assert listed(admin_client, SyncRun, "?trigger__exact=admin") == {retried.pk}
    html = page_text(admin_client.get(url(SyncRun, "changelist")))
    assert 'title="admin (sync now)">sync now</span>' in html
    assert ">admin (sync now)</a></li>" in html  # the trigger filter speaks of syncs


def test_the_sync_page_tells_the_syncs_story(admin_client, story):
    failed = story["failed"]
    html = page_text(admin_client.get(url(SyncRun, "change", failed.pk)))
    # Why it failed comes first.
    assert html.index("uploads-error-text") < html.index("field-account_link")
    assert (
        '<pre class="uploads-pre uploads-error-text">upload intervals: HTTP 503 Service Unavailable after 5 attempts.'
        "</pre>" in html
    )
    assert (
        '<pre class="uploads-pre">Portfolio Sunbelt: 2 meter(s), 1 asset(s).\n'
        "Created meter Meter A: WattCarbon meter 1001.</pre>" in html
    )
    assert f'<a href="{url(WattCarbonAccount, "change", failed.account_id)}">Second</a>' in html
    # Its attempts, each linked, and all of them in the attempt log.
    for attempt in failed.attempts.all():
        assert url(Attempt, "change", attempt.pk) in html
    assert html.count("<td>create meter</td><td>POST</td><td>201</td>") == 3
    assert f"{url(Attempt, 'changelist')}?sync_run__id__exact={failed.pk}" in html
    text = text_of(html)
    assert "Meters created: 1 Interval rows sent: 12,345 Bill rows sent: 0" in text
    assert "1 min 15 s" in text
    assert "sync-status-failed" in html


def test_retry_queues_a_new_sync_for_a_failed_one(
    admin_client, admin_user, story, queued_tasks, django_capture_on_commit_callbacks
):
    failed = story["failed"]
    page = url(SyncRun, "change", failed.pk)
    retry_url = url(SyncRun, "retry", failed.pk)
    assert f'action="{retry_url}"' in page_text(admin_client.get(page))
    assert admin_client.get(retry_url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(retry_url)
    retry = SyncRun.objects.get(retry_of=failed)
    assert response.status_code == 302 and response["Location"] == url(SyncRun, "change", retry.pk)
    assert (retry.account, retry.trigger, retry.requested_by, retry.status) == (
        failed.account,
        RunTrigger.RETRY,
        admin_user,
        SyncStatus.QUEUED,
    )
    assert list(queued_tasks()) == [retry.task_id]
    # The failed sync now links its retry and offers no second one; the retry links back.
    html = page_text(admin_client.get(page))
    assert f'href="{url(SyncRun, "change", retry.pk)}">sync #{retry.pk}<' in html
    assert f'action="{retry_url}"' not in html
    assert f'href="{page}">sync #{failed.pk}<' in page_text(admin_client.get(url(SyncRun, "change", retry.pk)))
    response = admin_client.post(retry_url, follow=True)
    assert messages_of(response) == [
        f"Sync #{failed.pk} was already retried as sync #{retry.pk}; retry that one if it failed too."
    ]
    assert SyncRun.objects.filter(retry_of=failed).count() == 1


def test_retry_from_the_list_takes_failed_abandoned_and_partial_syncs_only(admin_client, story, queued_tasks):
    main = story["main"]
    failed, synced, partial = story["failed"], story["synced"], story["partial"]
    abandoned = make_sync(main, status=SyncStatus.ABANDONED)
    running = make_sync(main, status=SyncStatus.RUNNING)
    nothing = make_sync(main, status=SyncStatus.NOTHING)
    selected = [failed.pk, synced.pk, partial.pk, abandoned.pk, running.pk, nothing.pk]
    response = admin_client.post(
        url(SyncRun, "changelist"), {"action": "retry_action", "_selected_action": selected}, follow=True
    )
    assert set(SyncRun.objects.filter(trigger=RunTrigger.RETRY).values_list("retry_of", flat=True)) == {
        failed.pk,
        partial.pk,
        abandoned.pk,
    }
    said = messages_of(response)
    only = "and only syncs that failed, were interrupted or had problems can be retried."
    assert f"Sync #{synced.pk} was not retried: its status is “synced”, {only}" in said
    assert f"Sync #{running.pk} was not retried: its status is “running”, {only}" in said
    assert f"Sync #{nothing.pk} was not retried: its status is “nothing changed”, {only}" in said
    assert sum("is queued" in message for message in said) == 3
    assert len(said) == 6


def test_a_sync_that_went_well_has_no_retry_button(admin_client, story):
    synced = story["synced"]
    retry_url = url(SyncRun, "retry", synced.pk)
    assert f'action="{retry_url}"' not in page_text(admin_client.get(url(SyncRun, "change", synced.pk)))


def test_retry_refuses_a_key_that_cannot_be_read(admin_client, story, settings):
    failed = story["failed"]
    settings.SECRETS_ENCRYPTION_KEYS = ["the new key"]
    response = admin_client.post(url(SyncRun, "retry", failed.pk), follow=True)
    assert messages_of(response) == [
        "Second: the stored API key cannot be decrypted with the current key; enter it again."
    ]
    assert response.redirect_chain == [(url(SyncRun, "change", failed.pk), 302)]
    assert not SyncRun.objects.filter(retry_of=failed).exists()


def test_retrying_needs_the_sync_now_permission(client, story):
    user = staff_user("view_syncrun")
    client.force_login(user)
    failed = story["failed"]
    retry_url = url(SyncRun, "retry", failed.pk)
    assert f'action="{retry_url}"' not in page_text(client.get(url(SyncRun, "change", failed.pk)))
    assert "retry_action" not in page_text(client.get(url(SyncRun, "changelist")))
    assert client.post(retry_url).status_code == 403
    assert not SyncRun.objects.filter(retry_of=failed).exists()

    user.user_permissions.add(Permission.objects.get(codename="sync_now"))
    client.force_login(user)  # a fresh user object, without the cached permissions
    assert f'action="{retry_url}"' in page_text(client.get(url(SyncRun, "change", failed.pk)))
    assert client.post(retry_url).status_code == 302
    assert SyncRun.objects.filter(retry_of=failed, requested_by=user).exists()


# --- the attempt log ---------------------------------------------------------------------------------


def test_the_attempt_list_links_syncs_and_filters_by_account(admin_client, story):
    main, second, failed = story["main"], story["second"], story["failed"]
    integration = token_integration(pk=main.pk)  # the same id as the account: the filter tells them apart
    raptormaps_attempt = make_raptormaps_attempt(integration)
    meter = MeterFactory(portfolio=main.portfolio, name="Main meter")
    meter_attempt = make_attempt(main, sync_run=story["synced"], subject=meter, status_code=422)
    response = admin_client.get(url(Attempt, "changelist"))
    html = page_text(response)
    assert f'<a href="{url(SyncRun, "change", failed.pk)}">Second · sync #{failed.pk}</a>' in html
    assert f'<a href="{url(SyncRun, "change", story["synced"].pk)}">Main meter · sync #{story["synced"].pk}</a>' in html

    # One filter for Raptor Maps integrations and WattCarbon accounts alike.
    choices = [
        choice["display"]
        for spec in response.context["cl"].filter_specs
        for choice in spec.choices(response.context["cl"])
    ]
    assert [choice for choice in choices if choice.endswith(("(Raptor Maps)", "(WattCarbon)"))] == [
        "East token (Raptor Maps)",
        "Main (WattCarbon)",
        "Second (WattCarbon)",
    ]
    # Its syncs' calls and the calls about it (the token of a test connection), not a Raptor Maps
    # integration's that has the same id.
    token = Attempt.objects.get(operation="token")
    assert raptormaps_attempt.subject_id == str(main.pk)
    assert listed(admin_client, Attempt, f"?integration=wattcarbon-{main.pk}") == {meter_attempt.pk, token.pk}
    assert listed(admin_client, Attempt, f"?integration=wattcarbon-{second.pk}") == set(
        failed.attempts.values_list("pk", flat=True)
    )
    assert listed(admin_client, Attempt, f"?integration={integration.pk}") == {raptormaps_attempt.pk}
    assert listed(admin_client, Attempt, "?integration=wattcarbon-x") == set()
    assert listed(admin_client, Attempt, "?service__exact=wattcarbon&status=4xx") == {meter_attempt.pk, token.pk}
    assert listed(admin_client, Attempt, "?service__exact=wattcarbon&status=401") == {token.pk}
    assert listed(admin_client, Attempt, f"?sync_run__id__exact={failed.pk}") == set(
        failed.attempts.values_list("pk", flat=True)
    )


def test_the_attempt_page_links_its_sync_and_its_subject(admin_client, story):
    meter = MeterFactory(portfolio=story["main"].portfolio, name="Main meter")
    attempt = make_attempt(story["main"], sync_run=story["partial"], subject=meter, error="HTTP 422")
    html = page_text(admin_client.get(url(Attempt, "change", attempt.pk)))
    partial = story["partial"]
    assert f'<a href="{url(SyncRun, "change", partial.pk)}">Sync #{partial.pk} of Main</a>' in html
    assert f'<a href="{url(Meter, "change", meter.pk)}">Main meter</a>' in html
    assert "<label>Run or sync:</label>" in html


# --- the sync state on the Meter and Asset pages -------------------------------------------------------


def ingested(reading, minutes):
    """``reading``'s ingestion time moved by ``minutes`` (a watermark just before or after it)."""
    return reading.ingested_at + timedelta(minutes=minutes)


@pytest.fixture
def meters():
    """One meter in each state with the account Main, and one in a portfolio no account covers."""
    account = make_account()
    portfolio = account.portfolio
    meters = {
        "not_synced": MeterFactory(portfolio=portfolio, name="Not yet"),
        "synced": MeterFactory(portfolio=portfolio, name="Up to date"),
        "changed": MeterFactory(portfolio=portfolio, name="Late readings"),
        "error": MeterFactory(portfolio=portfolio, name="Refused"),
        "elsewhere": MeterFactory(portfolio=PortfolioFactory(name="Elsewhere", slug="elsewhere"), name="Far away"),
    }
    up_to_date = IntervalReadingFactory(meter=meters["synced"])
    WattCarbonMeterLink.objects.create(
        account=account,
        meter=meters["synced"],
        remote_id=1002,
        synced_at=T0,
        intervals_through_at=up_to_date.ingested_at,
        intervals_through_id=up_to_date.pk,
    )
    late = IntervalReadingFactory(meter=meters["changed"])
    late_bill = BillReadingFactory(meter=meters["changed"])
    WattCarbonMeterLink.objects.create(
        account=account,
        meter=meters["changed"],
        remote_id=1003,
        synced_at=T0,
        intervals_through_at=ingested(late, -5),
        intervals_through_id=late.pk - 1,
        bills_through_at=ingested(late_bill, -5),
        bills_through_id=late_bill.pk - 1,
    )
    WattCarbonMeterLink.objects.create(
        account=account,
        meter=meters["error"],
        error='create_meter: HTTP 422 {"detail": "meterType: unknown"}',
        error_at=T0,
    )
    return {"account": account, **meters}


def meter_row(html, meter):
    match = re.search(rf"<tr>(?:(?!</tr>).)*>{re.escape(meter.name)}</a>(?:(?!</tr>).)*</tr>", html, re.S)
    assert match, meter.name
    return match.group(0)


def state_cell(html, meter):
    match = re.search(r'<td class="field-wattcarbon_column">(.*?)</td>', meter_row(html, meter), re.S)
    return match.group(1)


def test_the_meter_list_shows_each_meters_state(admin_client, meters):
    html = page_text(admin_client.get(url(Meter, "changelist")))
    assert state_cell(html, meters["not_synced"]) == (
        '<span class="uploads-badge sync-state-not_synced" style="background-color: #6b7280" '
        'title="not synced">not synced</span>'
    )
    assert state_cell(html, meters["synced"]) == (
        '<span class="uploads-badge sync-state-synced" style="background-color: #15803d" title="synced">synced</span>'
    )
    assert state_cell(html, meters["changed"]) == (
        '<span class="uploads-badge sync-state-changed" style="background-color: #a16207" '
        'title="changed since sync: interval and bill readings waiting to be sent">changed since sync</span>'
    )
    assert state_cell(html, meters["error"]) == (
        '<span class="uploads-badge sync-state-error" style="background-color: #b91c1c" '
        'title="error: create meter: HTTP 422 {&quot;detail&quot;: &quot;meterType: unknown&quot;}">error</span>'
    )
    assert state_cell(html, meters["elsewhere"]) == (
        '<span class="quiet" title="No account covers its portfolio.">-</span>'
    )


@pytest.mark.parametrize("state", ["not_synced", "synced", "changed", "error"])
def test_the_meter_list_filters_by_state(admin_client, meters, state):
    assert listed(admin_client, Meter, f"?wattcarbon={state}") == {meters[state].pk}


def test_the_meter_filter_finds_meters_no_account_covers_and_refuses_nonsense(admin_client, meters):
    assert listed(admin_client, Meter, "?wattcarbon=no_account") == {meters["elsewhere"].pk}
    assert listed(admin_client, Meter, "?wattcarbon=bogus") == set()
    portfolio = meters["account"].portfolio_id
    assert listed(admin_client, Meter, f"?wattcarbon=changed&portfolio__id__exact={portfolio}") == {
        meters["changed"].pk
    }
    response = admin_client.get(url(Meter, "changelist"))
    [spec] = [spec for spec in response.context["cl"].filter_specs if spec.title == "WattCarbon sync"]
    assert [choice["display"] for choice in spec.choices(response.context["cl"])] == [
        "All",
        "not synced",
        "synced",
        "changed since sync",
        "error",
        "missing on WattCarbon",
        "no account covers it",
    ]


def test_a_meter_under_two_accounts_shows_a_line_per_account(admin_client, meters):
    make_account(name="Second", portfolio=meters["account"].portfolio, token=False)
    html = page_text(admin_client.get(url(Meter, "changelist")))
    assert state_cell(html, meters["synced"]) == (
        '<div class="wattcarbon-state"><span class="nowrap">Main:</span> <span class="uploads-badge '
        'sync-state-synced" style="background-color: #15803d" title="synced">synced</span></div>'
        '<div class="wattcarbon-state"><span class="nowrap">Second:</span> <span class="uploads-badge '
        'sync-state-not_synced" style="background-color: #6b7280" title="not synced">not synced</span></div>'
    )
    # A meter matches a state when any of its accounts sees it so.
    assert listed(admin_client, Meter, "?wattcarbon=not_synced") == {
        meters[state].pk for state in ("not_synced", "synced", "changed", "error")
    }
    assert listed(admin_client, Meter, "?wattcarbon=synced") == {meters["synced"].pk}


def test_the_meter_page_shows_what_each_account_knows_of_it(admin_client, meters):
    account, meter = meters["account"], meters["changed"]
    link = WattCarbonMeterLink.objects.get(meter=meter)
    attempt = make_attempt(account, subject=meter, operation="upload_intervals")
    make_attempt(account, subject=meters["synced"], operation="upload_intervals")
    html = page_text(admin_client.get(url(Meter, "change", meter.pk)))
    text = text_of(html)
    assert f'<h3><a href="{url(WattCarbonAccount, "change", account.pk)}">Main</a></h3>' in html
    assert "state changed since sync interval and bill readings waiting to be sent" in text
    assert "WattCarbon meter ID 1003" in text
    assert "last synced 2026-03-02 09:00:00 UTC" in text
    intervals = f"intervals sent up to ingestion time {display_exact(link.intervals_through_at)}"
    assert f"{intervals} (reading #{link.intervals_through_id})" in text
    assert f"bills sent up to ingestion time {display_exact(link.bills_through_at)}" in text
    kind = ContentType.objects.get_for_model(Meter)
    attempts = f"{url(Attempt, 'changelist')}?subject_type={kind.pk}&amp;subject_id={meter.pk}"
    assert f'<a href="{attempts}">This meter\'s calls to WattCarbon in the attempt log</a>' in html
    assert listed(admin_client, Attempt, f"?subject_type={kind.pk}&subject_id={meter.pk}") == {attempt.pk}


def test_the_meter_page_shows_the_last_error_and_what_was_never_sent(admin_client, meters):
    html = page_text(admin_client.get(url(Meter, "change", meters["error"].pk)))
    text = text_of(html)
    assert 'title="error: create meter: HTTP 422' in html
    assert (
        '<pre class="uploads-pre">create meter: HTTP 422 {&quot;detail&quot;: &quot;meterType: unknown&quot;}</pre>'
        in html
    )
    assert "last error at 2026-03-02 09:00:00 UTC" in text
    assert "WattCarbon meter ID - last synced never" in text
    assert "intervals none sent yet: the next sync sends every interval reading" in text

    html = page_text(admin_client.get(url(Meter, "change", meters["not_synced"].pk)))
    assert "state not synced WattCarbon meter ID - last synced never" in text_of(html)
    html = page_text(admin_client.get(url(Meter, "change", meters["elsewhere"].pk)))
    assert "No WattCarbon account covers portfolio Elsewhere." in html
    # The add page has no WattCarbon section.
    assert "field-wattcarbon_sync" not in page_text(admin_client.get(url(Meter, "add")))


@pytest.fixture
def assets():
    """One storage asset in each state with the account Main, and one in a portfolio no account covers."""
    account = make_account()
    portfolio = account.portfolio
    assets = {
        state: AssetFactory(portfolio=portfolio, custom_id=f"SITE-{state}", name=f"Site {state}")
        for state in ("not_synced", "synced", "changed", "error")
    }
    assets["elsewhere"] = AssetFactory(portfolio=PortfolioFactory(name="Elsewhere", slug="elsewhere"))
    for state in ("synced", "changed"):
        payload = payloads.asset_payload(assets[state], {})
        if state == "changed":
            payload = {**payload, "name": "Its old name", "utility": "Old Utility"}
        WattCarbonAssetLink.objects.create(
            account=account,
            asset=assets[state],
            remote_id=f"asset-{state}",
            payload=payload,
            fingerprint=payloads.fingerprint(payload),
            synced_at=T0,
        )
    WattCarbonAssetLink.objects.create(
        account=account, asset=assets["error"], error="create_asset: HTTP 409 customId taken", error_at=T0
    )
    return {"account": account, **assets}


def asset_state_cell(html, asset):
    match = re.search(
        rf"<tr>(?:(?!</tr>).)*>{re.escape(asset.custom_id)}</a>(?:(?!</tr>).)*"
        r'<td class="field-wattcarbon_column">(.*?)</td>',
        html,
        re.S,
    )
    assert match, asset.custom_id
    return match.group(1)


def test_the_asset_list_shows_each_assets_state(admin_client, assets):
    html = page_text(admin_client.get(url(Asset, "changelist")))
    cells = {state: asset_state_cell(html, assets[state]) for state in ("not_synced", "synced", "changed", "error")}
    assert 'sync-state-not_synced" style="background-color: #6b7280" title="not synced">' in cells["not_synced"]
    assert 'sync-state-synced" style="background-color: #15803d" title="synced">' in cells["synced"]
    assert 'title="changed since sync: changed: name, utility">changed since sync<' in cells["changed"]
    assert 'title="error: create asset: HTTP 409 customId taken">error<' in cells["error"]
    assert asset_state_cell(html, assets["elsewhere"]) == (
        '<span class="quiet" title="No account covers its portfolio.">-</span>'
    )


@pytest.mark.parametrize("state", ["not_synced", "synced", "changed", "error"])
def test_the_asset_list_filters_by_state(admin_client, assets, state):
    assert listed(admin_client, Asset, f"?wattcarbon={state}") == {assets[state].pk}


def test_an_asset_whose_events_changed_reads_changed(admin_client, assets):
    asset = assets["synced"]
    Asset.objects.filter(pk=asset.pk).update(kind="demand_response_eemetered")
    asset.refresh_from_db()
    payload = payloads.asset_payload(asset, {})
    WattCarbonAssetLink.objects.filter(asset=asset).update(payload=payload, fingerprint=payloads.fingerprint(payload))
    assert listed(admin_client, Asset, "?wattcarbon=synced") == {asset.pk}
    DemandResponseEventFactory(asset=asset)
    assert listed(admin_client, Asset, "?wattcarbon=changed") == {asset.pk, assets["changed"].pk}
    html = page_text(admin_client.get(url(Asset, "changelist")))
    assert 'title="changed since sync: demand-response events changed"' in asset_state_cell(html, asset)


def test_the_asset_page_shows_the_last_payload_accepted_and_the_events_upload(admin_client, assets):
    asset = assets["changed"]
    link = WattCarbonAssetLink.objects.get(asset=asset)
    WattCarbonAssetLink.objects.filter(pk=link.pk).update(events_synced_at=T0 + timedelta(hours=1))
    html = page_text(admin_client.get(url(Asset, "change", asset.pk)))
    pretty = escape(json.dumps(link.payload, indent=2, sort_keys=True))
    assert f'<pre class="uploads-pre raw-document">{pretty}</pre>' in html
    assert "&quot;name&quot;: &quot;Its old name&quot;" in html
    text = text_of(html)
    # The asset's page is in its own time zone (America/Chicago).
    assert "WattCarbon asset ID asset-changed" in text
    assert "last synced 2026-03-02 03:00:00 CST" in text
    assert "events document 2026-03-02 04:00:00 CST" in text
    assert "state changed since sync changed: name, utility" in text

    html = page_text(admin_client.get(url(Asset, "change", assets["synced"].pk)))
    assert "events document never uploaded" in text_of(html)


# --- Sync now from the Meter and Asset lists -------------------------------------------------------------


def test_sync_now_from_the_meter_list_queues_each_covering_account_once(
    admin_client, meters, queued_tasks, django_capture_on_commit_callbacks
):
    main = meters["account"]
    second = make_account(name="Second", portfolio=main.portfolio, token=False)
    selected = [meters[state].pk for state in ("synced", "changed", "elsewhere")]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url(Meter, "changelist"), {"action": "wattcarbon_sync_now", "_selected_action": selected}, follow=True
        )
    runs = list(SyncRun.objects.order_by("pk"))
    assert [(run.account, run.trigger, run.status) for run in runs] == [
        (main, RunTrigger.ADMIN, SyncStatus.QUEUED),
        (second, RunTrigger.ADMIN, SyncStatus.QUEUED),
    ]
    assert messages_of(response) == [
        f'Main: <a href="{url(SyncRun, "change", runs[0].pk)}">sync #{runs[0].pk}</a> is queued; '
        "its page shows how it goes.",
        f'Second: <a href="{url(SyncRun, "change", runs[1].pk)}">sync #{runs[1].pk}</a> is queued; '
        "its page shows how it goes.",
        "No WattCarbon account covers the portfolio of Far away: nothing was queued for them.",
    ]
    assert '<li class="warning">' in page_text(response)
    assert sorted(task["args"] for task in queued_tasks().values()) == [(main.pk, runs[0].pk), (second.pk, runs[1].pk)]


def test_sync_now_from_the_asset_list(admin_client, assets, queued_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url(Asset, "changelist"),
            {"action": "wattcarbon_sync_now", "_selected_action": [assets["synced"].pk, assets["error"].pk]},
            follow=True,
        )
    run = SyncRun.objects.get()
    assert run.account == assets["account"]
    assert messages_of(response) == [
        f'Main: <a href="{url(SyncRun, "change", run.pk)}">sync #{run.pk}</a> is queued; its page shows how it goes.'
    ]
    assert list(queued_tasks()) == [run.task_id]


def test_sync_now_from_the_lists_needs_the_sync_now_permission(client, meters):
    user = staff_user("view_meter", "change_meter")
    client.force_login(user)
    assert "wattcarbon_sync_now" not in page_text(client.get(url(Meter, "changelist")))
    client.post(url(Meter, "changelist"), {"action": "wattcarbon_sync_now", "_selected_action": [meters["synced"].pk]})
    assert not SyncRun.objects.exists()
    user.user_permissions.add(Permission.objects.get(codename="sync_now"))
    client.force_login(user)
    assert "wattcarbon_sync_now" in page_text(client.get(url(Meter, "changelist")))


# --- queries ---------------------------------------------------------------------------------------------


def more_meters(account, n):
    for _ in range(n):
        meter = MeterFactory(portfolio=account.portfolio)
        reading = IntervalReadingFactory(meter=meter)
        BillReadingFactory(meter=meter)
        WattCarbonMeterLink.objects.create(
            account=account, meter=meter, remote_id=meter.pk, intervals_through_at=reading.ingested_at
        )
        AssetFactory(portfolio=meter.portfolio).meters.add(meter)


def more_assets(account, n):
    for _ in range(n):
        asset = AssetFactory(portfolio=account.portfolio, demand_response=True)
        DemandResponseEventFactory(asset=asset)
        meter = MeterFactory(portfolio=asset.portfolio)
        asset.meters.add(meter)
        WattCarbonMeterLink.objects.create(account=account, meter=meter, remote_id=meter.pk)
        payload = payloads.asset_payload(asset, {meter: meter.pk})
        WattCarbonAssetLink.objects.create(
            account=account, asset=asset, remote_id=str(asset.pk), payload=payload, fingerprint="stale"
        )


# The portfolio app's pinned cost (tests/portfolio/test_admin.py), plus the sync state's few
# queries for the whole page: accounts, links, newest readings (meters); accounts, links, remote
# meter ids, meters and events (assets). Without any account, the page costs nothing more.
SYNC_STATE_QUERIES = {Meter: (6, 6 + 4), Asset: (7, 7 + 5)}
# The filter computes the states of every object the other filters left in covered portfolios:
# those objects, then the same queries as the column, once for all of them.
FILTER_QUERIES = {Meter: 6 + 4 + (1 + 4), Asset: 7 + 5 + (1 + 5)}
BUILDERS = {Meter: more_meters, Asset: more_assets}


@pytest.mark.parametrize("model", [Meter, Asset], ids=lambda model: model.__name__)
def test_changelist_queries_do_not_grow_with_the_page(admin_client, model):
    without_accounts, with_accounts = SYNC_STATE_QUERIES[model]
    portfolio = PortfolioFactory(name="Uncovered", slug="uncovered")
    for _ in range(3):
        (MeterFactory if model is Meter else AssetFactory)(portfolio=portfolio)
    assert changelist_queries(admin_client, model) == without_accounts

    account = make_account(name="Covered", portfolio=PortfolioFactory(name="Covered", slug="covered"))
    make_account(name="Also covered", portfolio=account.portfolio)
    BUILDERS[model](account, 3)
    short_page = changelist_queries(admin_client, model)
    BUILDERS[model](account, 12)
    long_page = changelist_queries(admin_client, model)
    assert model.objects.filter(portfolio=account.portfolio).count() >= 15
    assert (short_page, long_page) == (with_accounts, with_accounts)
    # The filter: the same few queries for every object of the covered portfolios.
    assert changelist_queries(admin_client, model, "?wattcarbon=changed") == FILTER_QUERIES[model]
    assert len(listed(admin_client, model, "?wattcarbon=changed")) == 15  # stale bills, stale payloads


# --- no secret anywhere ------------------------------------------------------------------------------------


def test_no_page_shows_a_secret(admin_client, meters):
    main = meters["account"]
    meter = meters["changed"]
    failed = failed_sync(main)
    attempt = make_attempt(main, sync_run=failed, subject=meter)
    asset = AssetFactory(portfolio=main.portfolio)
    pages = [
        url(WattCarbonAccount, "changelist"),
        url(WattCarbonAccount, "add"),
        url(WattCarbonAccount, "change", main.pk),
        url(WattCarbonAccount, "history", main.pk),
        url(WattCarbonAccount, "delete", main.pk),
        url(SyncRun, "changelist"),
        url(SyncRun, "change", failed.pk),
        url(Attempt, "changelist"),
        url(Attempt, "change", attempt.pk),
        url(Meter, "changelist"),
        url(Meter, "change", meter.pk),
        url(Asset, "changelist"),
        url(Asset, "change", asset.pk),
    ]
    accounts = list(WattCarbonAccount.objects.all())
    assert all(account.api_key.reveal() == API_KEY for account in accounts)
    for page in pages:
        html = page_text(admin_client.get(page))
        assert_no_secret(html, *accounts)
