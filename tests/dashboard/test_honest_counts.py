"""Write calls count only the calls WattCarbon accepted; the failed ones are counted apart (sandbox, real HTTP)."""

import pytest
from django.urls import reverse

from portfolio.demo import load_demo_portfolio
from uploads.demo import ACCOUNT_NAME, load_demo_uploads
from uploads.models import SyncStatus, WattCarbonAccount
from uploads.wattcarbon.service import run_sync

pytestmark = pytest.mark.django_db
WC = "wattcarbon"


@pytest.fixture
def demo_account(sandbox, settings):
    settings.SANDBOX_URL = sandbox.url
    settings.UPLOADS_RETRY_BASE_SECONDS = 0.05
    settings.UPLOADS_RETRY_MAX_SECONDS = 0.2
    settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS = 0
    load_demo_portfolio()
    load_demo_uploads()
    return WattCarbonAccount.objects.get(name=ACCOUNT_NAME)


def accepted_and_failed(sandbox):
    writes = sandbox.write_calls()
    return (
        sum(1 for call in writes if call["status"] < 400),
        sum(1 for call in writes if call["status"] >= 400),
    )


def test_a_write_call_retried_after_a_503_counts_once_as_failed_and_once_as_accepted(demo_account, sandbox):
    sandbox.fault("create_meter", service=WC, status=503)

    run = run_sync(demo_account)

    assert run.status == SyncStatus.SYNCED, run.error
    assert accepted_and_failed(sandbox) == (10, 1)
    assert (run.write_calls, run.failed_write_calls) == (10, 1)


def test_a_refused_write_call_is_not_counted_as_a_write(demo_account, sandbox, admin_client):
    sandbox.fault("create_meter", service=WC, status=422)

    run = run_sync(demo_account)

    assert run.status == SyncStatus.PARTIAL
    accepted, failed = accepted_and_failed(sandbox)
    assert failed == 1 and run.failed_write_calls == 1
    assert run.write_calls == accepted  # the refused create is not among them

    listed = admin_client.get(reverse("admin:uploads_syncrun_changelist")).content.decode()
    assert (
        f'<td class="field-write_calls_count">{accepted}</td><td class="field-failed_write_calls_count">1</td>'
        in listed
    )
    page = admin_client.get(reverse("admin:uploads_syncrun_change", args=[run.pk])).content.decode()
    assert "Failed write calls" in page
