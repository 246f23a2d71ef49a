"""The uploads admin as operations staff use it: integrations with write-only secrets, runs, attempts.

Pages go through the Django test client and the real admin; "Upload now" and "Retry" queue
real tasks in the configured broker; "Test connection" talks HTTP to the sandbox (a real server
on 127.0.0.1) or to a port where nothing listens.
"""

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.utils import timezone
from django_q.models import Schedule

from sandbox import raptormaps as sandbox_defaults
from tests.factories import FarmFactory, PortfolioFactory
from tests.portfolio.admin_forms import errors_of, form_data
from tests.uploads.admin_helpers import (
    ACCESS_TOKEN,
    API_TOKEN,
    CLIENT_SECRET,
    assert_no_secret,
    changelist_queries,
    changelist_selects,
    client_integration,
    closed_port,
    failed_run,
    form_errors,
    make_attempt,
    make_run,
    messages_of,
    page_text,
    reloaded,
    save,
    staff_user,
    stored_secrets,
    token_integration,
    url,
    watermark,
)
from tests.uploads.integrations import make_farm_with_readings, make_integration, make_portfolio
from uploads.admin.integrations import connection_message
from uploads.models import (
    Attempt,
    AttemptOutcome,
    RaptorMapsIntegration,
    RunStatus,
    RunTrigger,
    UploadRun,
)
from uploads.raptormaps.connection import ConnectionReport
from uploads.runs.schedules import sync_raptormaps_schedule
from uploads.secrets import Secret

pytestmark = pytest.mark.django_db

UPLOADS_MODELS = [RaptorMapsIntegration, UploadRun, Attempt]


@pytest.fixture
def story():
    """Two integrations (token and client credentials), runs with parts and attempts, watermarks."""
    east = token_integration()
    west = client_integration()
    uploaded = make_run(east, parts=2, attempts=2, rows=3000, bytes=196_608)
    failed = failed_run(west)
    for farm in west.farms.all():
        watermark(west, farm, run=uploaded)
    make_attempt(east, operation="org_integrations", status_code=None, outcome=AttemptOutcome.GAVE_UP, error="refused")
    return {"east": east, "west": west, "uploaded": uploaded, "failed": failed}


# --- every page ---------------------------------------------------------------------------------


def test_every_uploads_model_is_in_the_admin():
    for model in UPLOADS_MODELS:
        assert admin.site.is_registered(model), model


def test_every_page_renders(admin_client, story):
    east, failed = story["east"], story["failed"]
    attempt = Attempt.objects.first()
    pages = [
        url(RaptorMapsIntegration, "changelist"),
        url(RaptorMapsIntegration, "changelist") + "?q=East",
        url(RaptorMapsIntegration, "add"),
        url(RaptorMapsIntegration, "change", east.pk),
        url(RaptorMapsIntegration, "change", story["west"].pk),
        url(RaptorMapsIntegration, "history", east.pk),
        url(RaptorMapsIntegration, "delete", east.pk),
        url(UploadRun, "changelist"),
        url(UploadRun, "changelist") + f"?integration__id__exact={east.pk}&status__exact=failed",
        url(UploadRun, "change", failed.pk),
        url(UploadRun, "change", story["uploaded"].pk),
        url(UploadRun, "history", failed.pk),
        url(Attempt, "changelist"),
        url(Attempt, "changelist") + "?q=signed_url&status=5xx&integration=1",
        url(Attempt, "change", attempt.pk),
    ]
    for page in pages:
        assert admin_client.get(page).status_code == 200, page


def test_logs_cannot_be_added_changed_or_deleted(admin_client, story):
    failed = story["failed"]
    attempt = Attempt.objects.first()
    assert admin_client.get(url(UploadRun, "add")).status_code == 403
    assert admin_client.get(url(UploadRun, "delete", failed.pk)).status_code == 403
    assert admin_client.get(url(Attempt, "add")).status_code == 403
    assert admin_client.get(url(Attempt, "delete", attempt.pk)).status_code == 403
    # Their pages are read-only: nothing to save.
    assert 'name="_save"' not in page_text(admin_client.get(url(UploadRun, "change", failed.pk)))
    assert 'name="_save"' not in page_text(admin_client.get(url(Attempt, "change", attempt.pk)))


# --- the integration list -----------------------------------------------------------------------


def test_integration_list_says_what_each_covers_and_how_its_last_run_went(admin_client, story):
    east, west = story["east"], story["west"]
    RaptorMapsIntegration.objects.filter(pk=west.pk).update(remote_interval_seconds=1800)
    response = admin_client.get(url(RaptorMapsIntegration, "changelist"))
    text = page_text(response)
    rows = {row.pk: row for row in response.context["cl"].result_list}
    assert rows[east.pk].last_run_id == story["uploaded"].pk
    assert rows[west.pk].last_run_status == RunStatus.FAILED

    assert "portfolio East portfolio" in text
    assert "2 chosen farms" in text
    assert '<td class="field-credentials_kind">API token</td>' in text
    assert '<td class="field-credentials_kind">client credentials</td>' in text
    assert "15 min" in text and "(default)" in text
    assert "30 min" in text and "(from Raptor Maps)" in text
    assert 'class="uploads-badge run-status-uploaded"' in text
    assert 'class="uploads-badge run-status-failed"' in text
    assert f"{url(UploadRun, 'changelist')}?integration__id__exact={east.pk}" in text
    assert_no_secret(text, east)
    assert_no_secret(text, west)


def test_integration_list_filters(admin_client, story):
    def listed(query):
        response = admin_client.get(url(RaptorMapsIntegration, "changelist") + query)
        return {row.name for row in response.context["cl"].result_list}

    RaptorMapsIntegration.objects.filter(pk=story["west"].pk).update(enabled=False, time_basis="utc")
    assert listed("?enabled__exact=0") == {"West client"}
    assert listed(f"?portfolio__id__exact={story['east'].portfolio_id}") == {"East token"}
    assert listed("?time_basis__exact=utc") == {"West client"}


def test_the_list_never_loads_a_secret(admin_client, story):
    selects = changelist_selects(admin_client, RaptorMapsIntegration)
    table = RaptorMapsIntegration._meta.db_table
    assert selects
    for column in ("api_token", "client_secret", "access_token"):
        assert all(f'"{table}"."{column}"' not in sql for sql in selects), column


# --- the integration form: write-only secrets ---------------------------------------------------


def test_secrets_never_appear_in_any_page(admin_client, story):
    east, west = story["east"], story["west"]
    change = url(RaptorMapsIntegration, "change", west.pk)
    response = admin_client.get(change)
    html = page_text(response)
    assert_no_secret(html, west)
    assert html.count('type="password"') == 2

    # A failed save, with a new secret typed in: the page comes back without any of them.
    data = {**form_data(response), "client_secret": "rm-typed-secret-Yy55", "part_bytes": "10"}
    response = admin_client.post(change, data)
    html = page_text(response)
    assert errors_of(response)
    assert_no_secret(html, west)
    assert "rm-typed-secret-Yy55" not in html

    # A good save, then its history.
    data = {**form_data(admin_client.get(change)), "client_secret": "rm-typed-secret-Yy55"}
    assert admin_client.post(change, data).status_code == 302
    pages = [
        url(RaptorMapsIntegration, "history", west.pk),
        url(RaptorMapsIntegration, "changelist"),
        url(RaptorMapsIntegration, "change", east.pk),
        url(RaptorMapsIntegration, "delete", west.pk),
        url(UploadRun, "change", story["failed"].pk),
        url(Attempt, "changelist"),
    ]
    for page in pages:
        html = page_text(admin_client.get(page))
        assert "rm-typed-secret-Yy55" not in html, page
        assert_no_secret(html, west)
        assert_no_secret(html, east)
    assert "Changed Client secret." in page_text(admin_client.get(url(RaptorMapsIntegration, "history", west.pk)))


def secret_row(html, name):
    match = re.search(rf'<div class="form-row[^"]*field-{name}[^"]*">.*?</div>\s*</div>', html, re.S)
    assert match, name
    return match.group(0)


def test_the_form_says_whether_each_secret_is_stored(admin_client, settings):
    integration = token_integration()
    html = page_text(admin_client.get(url(RaptorMapsIntegration, "change", integration.pk)))
    assert 'class="secret-status secret-stored">stored<' in secret_row(html, "api_token")
    assert 'class="secret-status secret-not-set">not set<' in secret_row(html, "client_secret")
    assert "Stored encrypted. Leave blank to keep the current value." in html
    # Only a stored secret can be removed.
    assert 'name="clear_api_token"' in html
    assert 'name="clear_client_secret"' not in html

    html = page_text(admin_client.get(url(RaptorMapsIntegration, "add")))
    assert "Stored encrypted, and never shown again." in html and "Leave blank" not in html
    assert "clear_api_token" not in html

    settings.SECRETS_ENCRYPTION_KEYS = ["a key that did not encrypt it"]
    html = page_text(admin_client.get(url(RaptorMapsIntegration, "change", integration.pk)))
    assert "stored but unreadable with the current key — enter it again" in secret_row(html, "api_token")
    assert_no_secret(html, integration)


def test_a_blank_secret_keeps_the_stored_one_and_the_cached_token(admin_client):
    integration = client_integration()
    response = save(admin_client, integration, name="West renamed")
    assert response.status_code == 302, errors_of(response)
    integration = reloaded(integration)
    assert integration.name == "West renamed"
    assert integration.client_secret.reveal() == CLIENT_SECRET
    assert integration.access_token.reveal() == ACCESS_TOKEN
    assert integration.access_token_expires_at is not None


def test_a_new_secret_replaces_the_stored_one_and_forgets_the_cached_token(admin_client):
    integration = client_integration()
    response = save(admin_client, integration, client_secret="  rm-new-secret-Qa12  ")
    assert response.status_code == 302, errors_of(response)
    integration = reloaded(integration)
    assert integration.client_secret.reveal() == "rm-new-secret-Qa12"
    assert not integration.access_token
    assert integration.access_token_expires_at is None


@pytest.mark.parametrize(
    "changes",
    [{"client_id": "another-client"}, {"base_url": "https://api.example.org"}],
    ids=["client id", "server"],
)
def test_other_credentials_forget_the_cached_token(admin_client, changes):
    integration = client_integration()
    response = save(admin_client, integration, **changes)
    assert response.status_code == 302, errors_of(response)
    integration = reloaded(integration)
    assert integration.client_secret.reveal() == CLIENT_SECRET
    assert not integration.access_token and integration.access_token_expires_at is None


def test_clear_removes_a_stored_secret(admin_client):
    integration = client_integration()
    integration.api_token = Secret(API_TOKEN)
    integration.save()
    response = save(admin_client, integration, clear_api_token="on")
    assert response.status_code == 302, errors_of(response)
    integration = reloaded(integration)
    assert not integration.api_token
    assert integration.client_secret.reveal() == CLIENT_SECRET
    assert not integration.access_token


def test_switching_from_a_token_to_client_credentials(admin_client):
    integration = token_integration()
    response = save(
        admin_client, integration, clear_api_token="on", client_id="east-client", client_secret=CLIENT_SECRET
    )
    assert response.status_code == 302, errors_of(response)
    integration = reloaded(integration)
    assert (integration.api_token.is_set, integration.client_id) == (False, "east-client")
    assert integration.client_secret.reveal() == CLIENT_SECRET


def test_an_unreadable_secret_is_kept_until_it_is_entered_again(admin_client, settings):
    integration = token_integration()
    stored = stored_secrets(integration)
    settings.SECRETS_ENCRYPTION_KEYS = ["the new key"]
    response = save(admin_client, integration, name="East, new key")
    assert response.status_code == 302, errors_of(response)
    assert stored_secrets(integration) == stored

    response = save(admin_client, integration, api_token=API_TOKEN)
    assert response.status_code == 302, errors_of(response)
    assert reloaded(integration).api_token.reveal() == API_TOKEN


def add_data(**fields):
    data = {
        "name": "North",
        "base_url": "https://api.raptormaps.com",
        "integration_id": "77",
        "time_basis": "local",
        "part_bytes": "5000000000",
        "enabled": "on",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def test_adding_an_integration_with_a_token(admin_client):
    portfolio = PortfolioFactory()
    response = admin_client.post(
        url(RaptorMapsIntegration, "add"), add_data(portfolio=portfolio.pk, api_token=API_TOKEN)
    )
    assert response.status_code == 302, errors_of(response)
    integration = RaptorMapsIntegration.objects.get(name="North")
    assert integration.api_token.reveal() == API_TOKEN
    assert integration.portfolio == portfolio
    assert API_TOKEN not in page_text(admin_client.get(url(RaptorMapsIntegration, "history", integration.pk)))


def test_adding_an_integration_for_chosen_farms(admin_client):
    farms = FarmFactory.create_batch(3)
    data = add_data(farms=[farms[0].pk, farms[2].pk], client_id="north", client_secret=CLIENT_SECRET)
    response = admin_client.post(url(RaptorMapsIntegration, "add"), data)
    assert response.status_code == 302, errors_of(response)
    integration = RaptorMapsIntegration.objects.get(name="North")
    assert set(integration.farms.all()) == {farms[0], farms[2]}
    assert integration.portfolio is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"both": True, "api_token": API_TOKEN},
            {"farms": ["Choose a portfolio or farms, not both: a portfolio already covers every one of its farms."]},
        ),
        (
            {"api_token": API_TOKEN},
            {"portfolio": ["Choose a portfolio, or the farms whose readings this integration sends."]},
        ),
        ({"with_portfolio": True}, {"api_token": ["Give an API token, or a client ID and secret."]}),
        ({"with_portfolio": True, "client_id": "north"}, {"client_secret": ["A client ID needs its client secret."]}),
        (
            {"with_portfolio": True, "client_secret": CLIENT_SECRET},
            {
                "client_id": ["A client secret needs its client ID."],
                "api_token": ["Give an API token, or a client ID and secret."],
            },
        ),
        (
            {"with_portfolio": True, "api_token": API_TOKEN, "upload_interval_seconds": "30", "part_bytes": "100"},
            {
                "upload_interval_seconds": ["Ensure this value is greater than or equal to 60."],
                "part_bytes": ["Ensure this value is greater than or equal to 256."],
            },
        ),
    ],
    ids=["portfolio and farms", "neither", "no credentials", "client id alone", "secret alone", "limits"],
)
def test_the_form_names_the_field_that_is_wrong(admin_client, fields, expected):
    portfolio = PortfolioFactory()
    farm = FarmFactory(portfolio=portfolio)
    if fields.pop("both", False):
        fields.update(portfolio=portfolio.pk, farms=[farm.pk])
    if fields.pop("with_portfolio", False):
        fields["portfolio"] = portfolio.pk
    response = admin_client.post(url(RaptorMapsIntegration, "add"), add_data(**fields))
    assert form_errors(response) == expected
    assert not RaptorMapsIntegration.objects.exists()
    assert_no_secret(page_text(response))


def test_entering_and_removing_a_secret_at_once_is_refused(admin_client):
    integration = token_integration()
    response = save(admin_client, integration, api_token="rm-other-token-Kk09", clear_api_token="on")
    assert form_errors(response) == {"api_token": ["Enter a new API token or remove the stored one, not both."]}
    assert reloaded(integration).api_token.reveal() == API_TOKEN


def test_removing_the_only_credential_is_refused(admin_client):
    integration = token_integration()
    response = save(admin_client, integration, clear_api_token="on")
    assert form_errors(response) == {"api_token": ["Give an API token, or a client ID and secret."]}
    assert reloaded(integration).api_token.reveal() == API_TOKEN


# --- the integration page's status panel -------------------------------------------------------


def test_the_integration_page_shows_watermarks_interval_schedule_and_recent_runs(admin_client, story):
    west = story["west"]
    RaptorMapsIntegration.objects.filter(pk=west.pk).update(remote_interval_seconds=1800)
    west.refresh_from_db()
    sync_raptormaps_schedule(west)
    Schedule.objects.filter(name__endswith=f" {west.pk}").update(next_run=timezone.now() + timedelta(minutes=12))
    html = page_text(admin_client.get(url(RaptorMapsIntegration, "change", west.pk)))

    farm = west.farms.order_by("farm_id").first()
    assert str(farm) in html
    assert "2026-03-02 09:00:00" in html  # ingested through
    assert f'href="{url(UploadRun, "change", story["uploaded"].pk)}">run #{story["uploaded"].pk}<' in html
    assert "Raptor Maps asks for every 30 min." in html
    text = re.sub(r"<[^>]+>", "", html)
    assert "Next run in 11\xa0minutes" in text or "Next run in 12\xa0minutes" in text
    assert "Cached, valid until 2026-03-02 10:00:00" in html
    assert f"run #{story['failed'].pk}" in html and "run-status-failed" in html


def test_a_disabled_integration_has_no_schedule(admin_client):
    integration = token_integration(enabled=False)
    sync_raptormaps_schedule(integration)
    html = page_text(admin_client.get(url(RaptorMapsIntegration, "change", integration.pk)))
    assert "No schedule: the integration is disabled." in html
    assert "None yet: the first run sends every farm&#x27;s whole history." in html
    assert "Not learned from Raptor Maps yet" in html


# --- Upload now -------------------------------------------------------------------------------


def test_upload_now_from_the_list_queues_a_run(
    admin_client, admin_user, story, queued_tasks, django_capture_on_commit_callbacks
):
    east, west = story["east"], story["west"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url(RaptorMapsIntegration, "changelist"),
            {"action": "upload_now_action", "_selected_action": [east.pk, west.pk]},
            follow=True,
        )
    runs = list(UploadRun.objects.filter(status=RunStatus.QUEUED).order_by("pk"))
    assert [(run.integration, run.trigger, run.requested_by) for run in runs] == [
        (east, RunTrigger.ADMIN, admin_user),
        (west, RunTrigger.ADMIN, admin_user),
    ]
    text = page_text(response)
    for run in runs:
        assert f'<a href="{url(UploadRun, "change", run.pk)}">run #{run.pk}</a> is queued' in text
    tasks = queued_tasks()
    assert sorted(task["args"] for task in tasks.values()) == [(east.pk, runs[0].pk), (west.pk, runs[1].pk)]
    assert {task["func"] for task in tasks.values()} == {"uploads.tasks.upload_raptormaps"}
    assert {run.task_id for run in UploadRun.objects.filter(pk__in=[r.pk for r in runs])} == set(tasks)


def test_upload_now_from_the_integration_page(admin_client, queued_tasks, django_capture_on_commit_callbacks):
    integration = token_integration()
    change = url(RaptorMapsIntegration, "change", integration.pk)
    upload_now = url(RaptorMapsIntegration, "upload_now", integration.pk)
    assert f'action="{upload_now}"' in page_text(admin_client.get(change))

    assert admin_client.get(upload_now).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(upload_now)
    run = UploadRun.objects.get()
    # The user follows the run on its page.
    assert response.status_code == 302 and response["Location"] == url(UploadRun, "change", run.pk)
    assert (run.integration, run.trigger, run.status) == (integration, RunTrigger.ADMIN, RunStatus.QUEUED)
    assert list(queued_tasks()) == [run.task_id]


def test_upload_now_runs_through_the_worker_to_the_sandbox(
    admin_client, sandbox, sync_worker, quick_retries, django_capture_on_commit_callbacks
):
    portfolio = make_portfolio()
    make_farm_with_readings(portfolio)
    integration = make_integration(
        portfolio=portfolio,
        base_url=sandbox.url,
        api_token=sandbox_defaults.DEFAULT_API_TOKEN,
        integration_id=sandbox_defaults.DEFAULT_INTEGRATION_ID,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url(RaptorMapsIntegration, "upload_now", integration.pk), follow=True)
    run = UploadRun.objects.get()
    assert (run.status, run.trigger, run.error) == (RunStatus.UPLOADED, RunTrigger.ADMIN, "")
    [upload] = sandbox.uploads()
    assert run.bytes == upload["bytes"] and run.parts == 1
    assert f"run #{run.pk}</a> is queued" in messages_of(response)[0]

    html = page_text(admin_client.get(url(UploadRun, "change", run.pk)))
    assert "run-status-uploaded" in html
    assert upload["sha256"] in html  # the part's checksum, whole on hover
    # The attempt log of this run: from the outcome box and under the attempts table.
    assert html.count(f'href="{url(Attempt, "changelist")}?run__id__exact={run.pk}"') == 2
    for attempt in run.attempts.all():
        assert url(Attempt, "change", attempt.pk) in html
    assert sandbox_defaults.DEFAULT_API_TOKEN not in html
    page = page_text(admin_client.get(url(RaptorMapsIntegration, "change", integration.pk)))
    assert f'href="{url(UploadRun, "change", run.pk)}">run #{run.pk}<' in page  # recent runs, watermark


def test_upload_now_refuses_a_credential_that_cannot_be_read(admin_client, settings, queued_tasks):
    integration = token_integration()
    settings.SECRETS_ENCRYPTION_KEYS = ["the new key"]
    response = admin_client.post(url(RaptorMapsIntegration, "upload_now", integration.pk), follow=True)
    assert messages_of(response) == [
        "East token: the stored API token cannot be decrypted with the current key; enter it again."
    ]
    assert not UploadRun.objects.exists()


# --- Retry ----------------------------------------------------------------------------------


def test_retry_queues_a_new_run_for_a_failed_one(
    admin_client, admin_user, story, queued_tasks, django_capture_on_commit_callbacks
):
    failed = story["failed"]
    page = url(UploadRun, "change", failed.pk)
    retry_url = url(UploadRun, "retry", failed.pk)
    assert f'action="{retry_url}"' in page_text(admin_client.get(page))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(retry_url)
    retry = UploadRun.objects.get(retry_of=failed)
    assert response.status_code == 302 and response["Location"] == url(UploadRun, "change", retry.pk)
    assert (retry.integration, retry.trigger, retry.requested_by, retry.status) == (
        failed.integration,
        RunTrigger.RETRY,
        admin_user,
        RunStatus.QUEUED,
    )
    assert list(queued_tasks()) == [retry.task_id]
    # The failed run now links its retry and offers no second one.
    html = page_text(admin_client.get(page))
    assert f'href="{url(UploadRun, "change", retry.pk)}">run #{retry.pk}<' in html
    assert f'action="{retry_url}"' not in html


def test_retry_from_the_list_takes_only_failed_and_abandoned_runs(admin_client, story, queued_tasks):
    east = story["east"]
    failed, uploaded = story["failed"], story["uploaded"]
    abandoned = make_run(east, status=RunStatus.ABANDONED)
    running = make_run(east, status=RunStatus.RUNNING)
    response = admin_client.post(
        url(UploadRun, "changelist"),
        {"action": "retry_action", "_selected_action": [failed.pk, uploaded.pk, abandoned.pk, running.pk]},
        follow=True,
    )
    assert set(UploadRun.objects.filter(trigger=RunTrigger.RETRY).values_list("retry_of", flat=True)) == {
        failed.pk,
        abandoned.pk,
    }
    said = messages_of(response)
    only = "and only failed or interrupted runs can be retried."
    assert f"Run #{uploaded.pk} was not retried: it is uploaded, {only}" in said
    assert f"Run #{running.pk} was not retried: it is running, {only}" in said
    assert sum("is queued" in message for message in said) == 2


def test_a_run_is_retried_once(admin_client, story):
    failed = story["failed"]
    admin_client.post(url(UploadRun, "retry", failed.pk), follow=True)
    retry = UploadRun.objects.get(retry_of=failed)
    response = admin_client.post(url(UploadRun, "retry", failed.pk), follow=True)
    assert messages_of(response) == [
        f"Run #{failed.pk} was already retried as run #{retry.pk}; retry that one if it failed too."
    ]
    assert UploadRun.objects.filter(retry_of=failed).count() == 1


def test_a_run_that_did_not_fail_has_no_retry_button_and_refuses_one(admin_client, story):
    uploaded = story["uploaded"]
    retry_url = url(UploadRun, "retry", uploaded.pk)
    assert f'action="{retry_url}"' not in page_text(admin_client.get(url(UploadRun, "change", uploaded.pk)))
    response = admin_client.post(retry_url, follow=True)
    assert messages_of(response) == [
        f"Run #{uploaded.pk} was not retried: it is uploaded, and only failed or interrupted runs can be retried."
    ]
    assert UploadRun.objects.count() == 2
    assert admin_client.get(retry_url).status_code == 405


# --- Test connection --------------------------------------------------------------------------


ORG_INTEGRATIONS = [
    {"id": 501, "org_id": 9, "api_type": "generic_sensor", "query_interval_secs": 900, "enabled": True},
    {"id": 733, "org_id": 9, "api_type": "also_energy", "query_interval_secs": None, "enabled": False},
]


def test_a_connection_report_lists_the_org_integrations_and_marks_this_one():
    integration = token_integration()
    level, message = connection_message(integration, ConnectionReport(ok=True, integrations=ORG_INTEGRATIONS))
    assert level == 25  # success
    assert message == (
        "East token: the connection works. The org's integrations:"
        '<ul class="org-integrations">'
        '<li><strong class="org-integration-match">'
        "ID 501 · generic_sensor · enabled · every 15 min ← this integration</strong></li>"
        "<li>ID 733 · also_energy · disabled · no query interval</li>"
        "</ul>Org integration 501 is the one this integration uploads to."
    )


def test_a_connection_report_says_when_none_matches():
    integration = token_integration(name="Wrong id")
    RaptorMapsIntegration.objects.filter(pk=integration.pk).update(integration_id=999)
    integration.refresh_from_db()
    level, message = connection_message(integration, ConnectionReport(ok=True, integrations=ORG_INTEGRATIONS))
    assert level == 30  # warning
    assert "org-integration-match" not in message
    assert message.endswith("None of them has ID 999: change this integration's org integration ID to one of these.")
    level, message = connection_message(integration, ConnectionReport(ok=True, integrations=[]))
    assert (level, message) == (
        30,
        "Wrong id: the connection works, but the org has no integrations, so org integration 999 does not exist.",
    )


def press_test_connection(client, integration):
    """Press "Test connection" in the list for ``integration``; the page that follows."""
    return client.post(
        url(RaptorMapsIntegration, "changelist"),
        {"action": "test_connection_action", "_selected_action": [integration.pk]},
        follow=True,
    )


def test_test_connection_lists_the_sandbox_org_integrations(admin_client, sandbox):
    integration = client_integration(
        base_url=sandbox.url,
        client_id=sandbox_defaults.DEFAULT_CLIENT_ID,
        client_secret=sandbox_defaults.DEFAULT_CLIENT_SECRET,
        integration_id=sandbox_defaults.DEFAULT_INTEGRATION_ID,
    )
    RaptorMapsIntegration.objects.filter(pk=integration.pk).update(access_token="", access_token_expires_at=None)
    integration.refresh_from_db()
    response = press_test_connection(admin_client, integration)
    text = page_text(response)
    assert messages_of(response) == [
        "West client: the connection works. The org's integrations:"
        '<ul class="org-integrations">'
        '<li><strong class="org-integration-match">'
        "ID 101 · csv_upload · enabled · every 15 min ← this integration</strong></li>"
        "<li>ID 102 · sftp · disabled · every 15 min</li>"
        "</ul>Org integration 101 is the one this integration uploads to."
    ]
    assert '<li class="success">' in text
    # What it asked, as the sandbox saw it; what it learned and kept.
    assert [call["operation"] for call in sandbox.calls()] == ["token", "org_integrations"]
    integration = reloaded(integration)
    assert integration.remote_interval_seconds == sandbox_defaults.DEFAULT_QUERY_INTERVAL_SECS
    assert integration.access_token.is_set
    assert list(Attempt.objects.order_by("id").values_list("operation", "outcome")) == [
        ("token", "ok"),
        ("org_integrations", "ok"),
    ]
    # Neither our secrets nor the org integrations' third-party ones reach the page.
    for value in (sandbox_defaults.DEFAULT_CLIENT_SECRET, integration.access_token.reveal(), "sandbox-feed-password"):
        assert value not in text
    assert_no_secret(text, integration)


def test_test_connection_says_when_no_org_integration_has_the_id(admin_client, sandbox):
    integration = token_integration(base_url=sandbox.url)
    integration.api_token = Secret(sandbox_defaults.DEFAULT_API_TOKEN)
    integration.save()
    response = admin_client.post(url(RaptorMapsIntegration, "test_connection", integration.pk), follow=True)
    assert response.redirect_chain == [(url(RaptorMapsIntegration, "change", integration.pk), 302)]
    [message] = messages_of(response)
    assert "org-integration-match" not in message
    assert message.endswith("None of them has ID 501: change this integration's org integration ID to one of these.")
    assert '<li class="warning">' in page_text(response)
    assert reloaded(integration).remote_interval_seconds is None


def test_test_connection_reports_refused_credentials_without_showing_them(admin_client, sandbox):
    integration = client_integration(base_url=sandbox.url)  # a client the sandbox does not know
    response = press_test_connection(admin_client, integration)
    assert messages_of(response) == [
        # What the service said, in its words, not its JSON.
        "West client: the connection test failed. token: HTTP 401 unknown client_id or wrong client_secret"
    ]
    assert_no_secret(page_text(response), integration)


def test_test_connection_reports_a_service_that_keeps_failing(admin_client, sandbox, settings, quick_retries):
    settings.UPLOADS_RETRY_MAX_ATTEMPTS = 2
    integration = token_integration(base_url=sandbox.url)
    integration.api_token = Secret(sandbox_defaults.DEFAULT_API_TOKEN)
    integration.save()
    sandbox.fault("org_integrations", status=503, times=2)
    response = press_test_connection(admin_client, integration)
    [message] = messages_of(response)
    assert message.startswith("East token: the connection test failed. org integrations: HTTP 503 after 2 attempts.")
    assert [(a.status_code, a.outcome) for a in Attempt.objects.order_by("id")] == [(503, "retry"), (503, "gave_up")]


def test_test_connection_reports_a_server_that_does_not_answer(admin_client, settings):
    settings.UPLOADS_RETRY_MAX_ATTEMPTS = 2
    settings.UPLOADS_RETRY_BASE_SECONDS = 0.01
    port = closed_port()
    integration = token_integration(base_url=f"http://127.0.0.1:{port}")
    response = press_test_connection(admin_client, integration)
    text = page_text(response)
    assert messages_of(response) == [
        "East token: the connection test failed. org integrations: the connection was refused after 2 attempts"
    ]
    assert '<li class="error">' in text
    attempts = Attempt.objects.filter(operation="org_integrations")
    assert [attempt.outcome for attempt in attempts.order_by("started_at")] == ["retry", "gave_up"]
    assert all(attempt.subject == integration for attempt in attempts)
    assert_no_secret(text, integration)


def test_test_connection_refuses_a_credential_that_cannot_be_read(admin_client, settings):
    integration = client_integration()
    settings.SECRETS_ENCRYPTION_KEYS = ["the new key"]
    response = admin_client.post(url(RaptorMapsIntegration, "test_connection", integration.pk), follow=True)
    assert messages_of(response) == [
        "West client: the stored client secret cannot be decrypted with the current key; enter it again."
    ]
    assert not Attempt.objects.exists()


# --- the run page -------------------------------------------------------------------------------


def test_the_run_page_tells_the_runs_story(admin_client, story):
    failed = story["failed"]
    FarmFactory(farm_id="FARM-B", name="Bravo")
    html = page_text(admin_client.get(url(UploadRun, "change", failed.pk)))
    # Why it failed comes first.
    assert html.index("uploads-error-text") < html.index("field-integration_link")
    assert "put: HTTP 503 Service Unavailable after 5 attempts." in html
    # The window, farm by farm.
    assert "<td>FARM-A</td><td>all history</td>" in html
    assert "<td>FARM-B · Bravo</td><td>2026-03-01 09:00:00 UTC</td>" in html
    assert '<pre class="uploads-pre">2 farm(s); readings ingested up to 2026-03-02 08:59:00 UTC\nBuilt 2' in html
    # Its parts and attempts.
    assert html.count("<tr><td>1</td><td>1,000</td>") == 1
    for attempt in failed.attempts.all():
        assert url(Attempt, "change", attempt.pk) in html
    assert f"{url(Attempt, 'changelist')}?run__id__exact={failed.pk}" in html
    assert "1 min 35 s" in html
    assert "run-status-failed" in html


def test_the_run_list_shows_status_size_and_duration(admin_client, story):
    html = page_text(admin_client.get(url(UploadRun, "changelist")))
    assert 'class="uploads-badge run-status-uploaded"' in html
    assert 'class="uploads-badge run-status-failed"' in html
    assert '<td class="field-bytes_display">192.0\xa0KB</td>' in html
    assert '<td class="field-duration"><span class="nowrap">1 min 35 s</span></td>' in html


def test_the_run_list_filters_by_integration_status_trigger_and_day(admin_client, story):
    def listed(query):
        response = admin_client.get(url(UploadRun, "changelist") + query)
        return {run.pk for run in response.context["cl"].result_list}

    east, failed, uploaded = story["east"], story["failed"], story["uploaded"]
    assert listed(f"?integration__id__exact={east.pk}") == {uploaded.pk}
    assert listed("?status__exact=failed") == {failed.pk}
    assert listed("?trigger__exact=schedule") == {failed.pk, uploaded.pk}
    today = timezone.localdate()
    assert listed(f"?queued_at__year={today.year}&queued_at__month={today.month}&queued_at__day={today.day}") == {
        failed.pk,
        uploaded.pk,
    }


# --- the attempt log ------------------------------------------------------------------------------


def test_the_attempt_page_shows_everything_including_the_answer(admin_client, story):
    attempt = make_attempt(
        story["east"],
        run=story["failed"],
        status_code=503,
        outcome=AttemptOutcome.RETRY,
        error="HTTP 503 Service Unavailable",
        response_excerpt="<Error>SlowDown</Error>",
        request_bytes=2048,
        retry_in_seconds=1.5,
        task_id="task-abc",
    )
    html = page_text(admin_client.get(url(Attempt, "change", attempt.pk)))
    assert '<pre class="uploads-pre raw-document">&lt;Error&gt;SlowDown&lt;/Error&gt;</pre>' in html
    assert '<pre class="uploads-pre">HTTP 503 Service Unavailable</pre>' in html
    assert "attempt-outcome-retry" in html
    assert "2.0\xa0KB" in html and "task-abc" in html and "1,234 ms" in html
    assert f'href="{url(UploadRun, "change", story["failed"].pk)}"' in html
    assert f'href="{url(RaptorMapsIntegration, "change", story["east"].pk)}">East token<' in html


def test_the_attempt_list_links_runs_and_filters(admin_client, story):
    east, west = story["east"], story["west"]
    response = admin_client.get(url(Attempt, "changelist"))
    html = page_text(response)
    failed = story["failed"]
    assert f'<a href="{url(UploadRun, "change", failed.pk)}">West client · run #{failed.pk}</a>' in html
    assert "attempt-outcome-gave_up" in html

    def listed(query):
        response = admin_client.get(url(Attempt, "changelist") + query)
        return sorted(attempt.pk for attempt in response.context["cl"].result_list)

    east_attempts = sorted(
        Attempt.objects.filter(subject_id=str(east.pk)).values_list("pk", flat=True)
    )  # its runs' and its own
    assert listed(f"?integration={east.pk}") == east_attempts
    assert listed(f"?integration={west.pk}") == sorted(failed.attempts.values_list("pk", flat=True))
    # An attempt about a run of west but recorded with no subject still counts for west.
    orphan = make_attempt(west, run=failed, subject_type=None, subject_id="", subject_label="")
    assert orphan.pk in listed(f"?integration={west.pk}")
    assert listed("?status=none") == sorted(Attempt.objects.filter(status_code=None).values_list("pk", flat=True))
    assert listed("?outcome__exact=gave_up&service__exact=raptormaps") == sorted(
        Attempt.objects.filter(outcome="gave_up").values_list("pk", flat=True)
    )
    assert listed("?operation=org_integrations") == sorted(
        Attempt.objects.filter(operation="org_integrations").values_list("pk", flat=True)
    )
    assert listed("?q=refused") == sorted(Attempt.objects.filter(error="refused").values_list("pk", flat=True))
    assert listed(f"?run__id__exact={failed.pk}") == sorted(failed.attempts.values_list("pk", flat=True))


# --- queries --------------------------------------------------------------------------------------


def more_integrations(n):
    for _ in range(n):
        number = RaptorMapsIntegration.objects.count()
        integration = token_integration(
            name=f"Integration {number}", portfolio=PortfolioFactory(name=f"P {number}", slug=f"p-{number}")
        )
        make_run(integration)
        farmed = client_integration(name=f"Farms {number}", farms=FarmFactory.create_batch(2))
        failed_run(farmed)


def more_runs(n):
    integration = RaptorMapsIntegration.objects.first() or token_integration()
    for _ in range(n):
        failed_run(integration, requested_by=None)


def more_attempts(n):
    integration = RaptorMapsIntegration.objects.first() or token_integration()
    run = make_run(integration)
    for number in range(n):
        make_attempt(integration, run=run if number % 2 else None, operation=f"op{number % 3}")


# Session, user, counts, the rows, and each filter's choices; pinned: a change here is a change in cost.
CHANGELIST_QUERIES = {RaptorMapsIntegration: 6, UploadRun: 8, Attempt: 8}
ROWS = {RaptorMapsIntegration: more_integrations, UploadRun: more_runs, Attempt: more_attempts}


@pytest.mark.parametrize("model", UPLOADS_MODELS, ids=lambda model: model.__name__)
def test_changelist_queries_do_not_grow_with_the_page(admin_client, model):
    ROWS[model](3 if model is not Attempt else 5)
    short_page = changelist_queries(admin_client, model)
    ROWS[model](12 if model is not Attempt else 25)
    long_page = changelist_queries(admin_client, model)
    assert model.objects.count() >= (30 if model is Attempt else 12)
    assert (short_page, long_page) == (CHANGELIST_QUERIES[model], CHANGELIST_QUERIES[model])


# --- permissions ----------------------------------------------------------------------------------


def test_staff_without_permissions_get_403(client, story):
    client.force_login(staff_user())
    east, failed = story["east"], story["failed"]
    attempt = Attempt.objects.first()
    for page in [
        url(RaptorMapsIntegration, "changelist"),
        url(RaptorMapsIntegration, "add"),
        url(RaptorMapsIntegration, "change", east.pk),
        url(UploadRun, "changelist"),
        url(UploadRun, "change", failed.pk),
        url(Attempt, "changelist"),
        url(Attempt, "change", attempt.pk),
    ]:
        assert client.get(page).status_code == 403, page
    for action in [
        url(RaptorMapsIntegration, "upload_now", east.pk),
        url(RaptorMapsIntegration, "test_connection", east.pk),
        url(UploadRun, "retry", failed.pk),
    ]:
        assert client.post(action).status_code == 403, action
    assert not UploadRun.objects.filter(trigger__in=[RunTrigger.ADMIN, RunTrigger.RETRY]).exists()


def test_viewers_see_integrations_without_secrets_buttons_or_actions(client, story):
    client.force_login(staff_user("view_raptormapsintegration"))
    west = story["west"]
    response = client.get(url(RaptorMapsIntegration, "change", west.pk))
    html = page_text(response)
    assert 'type="password"' not in html
    assert "client credentials" in html and "stored" in html
    assert url(RaptorMapsIntegration, "upload_now", west.pk) not in html
    assert_no_secret(html, west)
    listing = client.get(url(RaptorMapsIntegration, "changelist"))
    assert "upload_now_action" not in page_text(listing)
    response = client.post(
        url(RaptorMapsIntegration, "changelist"),
        {"action": "upload_now_action", "_selected_action": [west.pk]},
    )
    assert not UploadRun.objects.filter(trigger=RunTrigger.ADMIN).exists()
    assert client.post(url(RaptorMapsIntegration, "upload_now", west.pk)).status_code == 403
    assert client.post(url(RaptorMapsIntegration, "test_connection", west.pk)).status_code == 403


def test_retrying_needs_the_upload_now_permission(client, story):
    user = staff_user("view_uploadrun")
    client.force_login(user)
    failed = story["failed"]
    retry_url = url(UploadRun, "retry", failed.pk)
    html = page_text(client.get(url(UploadRun, "change", failed.pk)))
    assert f'action="{retry_url}"' not in html
    assert "retry_action" not in page_text(client.get(url(UploadRun, "changelist")))
    assert client.post(retry_url).status_code == 403
    assert not UploadRun.objects.filter(retry_of=failed).exists()

    user.user_permissions.add(Permission.objects.get(codename="upload_now", content_type__app_label="uploads"))
    client.force_login(user)  # a fresh user object, without the cached permissions
    assert f'action="{retry_url}"' in page_text(client.get(url(UploadRun, "change", failed.pk)))
    assert client.post(retry_url).status_code == 302
    assert UploadRun.objects.filter(retry_of=failed, requested_by=user).exists()


def test_attempt_viewers_need_only_the_view_permission(client, story):
    client.force_login(staff_user("view_attempt"))
    attempt = Attempt.objects.first()
    assert client.get(url(Attempt, "changelist")).status_code == 200
    assert client.get(url(Attempt, "change", attempt.pk)).status_code == 200
    assert client.get(url(UploadRun, "changelist")).status_code == 403
