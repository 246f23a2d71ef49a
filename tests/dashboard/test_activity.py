"""Runs, syncs and attempts of the last 24 hours: failures first, each linked to its attempts."""

import pytest
from django.urls import reverse

from tests.dashboard.data import RunStatus, SyncStatus, ago, run, sync
from tests.uploads.accounts import make_account
from tests.uploads.integrations import make_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration():
    return make_integration(name="East uploads")


@pytest.fixture
def account():
    return make_account(name="Carbon account")


def dashboard_html(client):
    html = client.get(reverse("admin:index")).content.decode()
    return html[html.index('id="dash-activity"') :]


def test_failed_runs_and_syncs_are_listed_first_with_their_error_and_attempts(admin_client, integration, account):
    run(integration, RunStatus.UPLOADED, ago(hours=1))
    failed = run(integration, RunStatus.FAILED, ago(hours=2), error="put: The storage refused the file.", attempts=3)
    old = run(integration, RunStatus.FAILED, ago(hours=30), error="an old failure")
    partial = sync(account, SyncStatus.PARTIAL, ago(minutes=30), error="Could not sync meter M-1.")
    sync(account, SyncStatus.SYNCED, ago(minutes=20))

    panel = dashboard_html(admin_client)

    failures = panel[: panel.index("dash-outcomes")]
    assert failures.index(f"WattCarbon sync #{partial.pk}") < failures.index(f"Upload run #{failed.pk}")  # latest first
    assert "put: The storage refused the file." in failures and "Could not sync meter M-1." in failures
    attempts = reverse("admin:uploads_attempt_changelist")
    assert f'<a href="{attempts}?run__id__exact={failed.pk}">3 attempts</a>' in failures
    assert f'<a href="{attempts}?sync_run__id__exact={partial.pk}">0 attempts</a>' in failures
    assert f'href="{reverse("admin:uploads_uploadrun_change", args=[failed.pk])}"' in failures
    assert "an old failure" not in panel and f"#{old.pk}<" not in failures


def test_counts_per_outcome_put_failures_first_and_link_to_the_filtered_list(admin_client, integration):
    for _ in range(2):
        run(integration, RunStatus.UPLOADED, ago(hours=3))
    run(integration, RunStatus.FAILED, ago(hours=4), attempts=2)

    response = admin_client.get(reverse("admin:index"))
    runs = response.context["dashboard"].activity.runs

    assert [(count.value, count.count, count.failed) for count in runs.counts] == [
        ("failed", 1, True),
        ("uploaded", 2, False),
    ]
    assert runs.counts[0].url.startswith(reverse("admin:uploads_uploadrun_changelist") + "?status__exact=failed&")
    listed = admin_client.get(runs.counts[0].url)
    assert listed.status_code == 200 and len(listed.context["cl"].result_list) == 1
    attempts = response.context["dashboard"].activity.attempts
    assert [(count.value, count.count) for count in attempts.counts] == [("gave_up", 1), ("retry", 1)]
    assert len(admin_client.get(attempts.counts[0].url).context["cl"].result_list) == 1


def test_write_calls_of_the_day_say_how_many_failed(admin_client, account):
    sync(account, SyncStatus.SYNCED, ago(hours=1), write_calls=7, failed_write_calls=2)
    sync(account, SyncStatus.SYNCED, ago(hours=2), write_calls=3)

    panel = dashboard_html(admin_client)

    assert '10 succeeded, <span class="dash-badge bad">2 failed</span>' in panel
