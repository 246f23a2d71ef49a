"""After real runs (with faults, a failure, renewals), no secret is anywhere a person or a log can see.

The secrets are collected from the wire itself: every response the client received is kept
by a spy around ``requests.Session.send`` (it changes nothing), so the test knows the real
access tokens, signed URL signatures and third-party passwords the sandbox handed out.
"""

import json
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.urls import reverse
from django_q.models import Task

from sandbox import raptormaps as sandbox_defaults
from tests.uploads.expectations import run_task
from uploads.models import Attempt, UploadPart, UploadRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries")]

SIGNATURE_PARAMETERS = ("X-Amz-Signature", "X-Amz-Credential")


@pytest.fixture
def wire(monkeypatch):
    """Every (request, response) the uploads client exchanged, kept as it was on the wire."""
    seen = []
    original = requests.Session.send

    def send(session, request, **kwargs):
        response = original(session, request, **kwargs)
        seen.append((request, response))
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    return seen


def secrets_on_the_wire(wire):
    found = {sandbox_defaults.DEFAULT_CLIENT_SECRET}
    for request, response in wire:
        path = urlsplit(request.url).path
        if path.endswith("/oauth/token") and response.ok:
            found.add(response.json()["access_token"])
        if path.endswith("/signed_url") and response.ok:
            query = dict(parse_qsl(urlsplit(response.json()).query))
            found.update(query[name] for name in SIGNATURE_PARAMETERS)
        if path.endswith("/org_integrations") and response.ok:
            for item in response.json():
                found.update(str(value) for value in item["auth_info"].values())
        authorization = request.headers.get("Authorization", "")
        if authorization:
            found.add(authorization.split(" ", 1)[1])
    return {secret for secret in found if len(secret) >= 6}


def test_no_secret_in_records_logs_or_admin_pages(
    sandbox, integration, sync_worker, wire, admin_client, caplog, capsys, settings
):
    caplog.set_level("DEBUG")
    # A first run that fails after renewals and retries, then one that succeeds.
    settings.UPLOADS_RETRY_MAX_ATTEMPTS = 2
    sandbox.fault("signed_url", status=401)
    sandbox.fault("put", status=403)  # refused for good: the run fails, the error is recorded
    failed = run_task(integration)
    assert failed.status == "failed"
    sandbox.fault("signed_url", mode="expired")
    sandbox.fault("put", mode="reset")
    uploaded = run_task(integration)
    assert uploaded.status == "uploaded", uploaded.error

    secrets = secrets_on_the_wire(wire)
    assert len(secrets) >= 8  # client secret, tokens, several signatures and credentials, auth_info

    places = {"log lines": caplog.text, "console": "".join(capsys.readouterr())}
    for attempt in Attempt.objects.all():
        places[f"attempt {attempt.pk}"] = json.dumps(
            [attempt.url, attempt.error, attempt.response_excerpt, attempt.subject_label]
        )
    for run in UploadRun.objects.all():
        places[f"run {run.pk}"] = json.dumps([run.log, run.error, run.window])
    places["parts"] = json.dumps(list(UploadPart.objects.values_list("sha256", "status")))
    places["task results"] = json.dumps([str(task.result) for task in Task.objects.all()], default=str)
    pages = [
        reverse("admin:uploads_raptormapsintegration_changelist"),
        reverse("admin:uploads_raptormapsintegration_change", args=[integration.pk]),
        reverse("admin:uploads_raptormapsintegration_history", args=[integration.pk]),
        reverse("admin:uploads_uploadrun_changelist"),
        reverse("admin:uploads_attempt_changelist"),
        *[reverse("admin:uploads_uploadrun_change", args=[run.pk]) for run in UploadRun.objects.all()],
        *[reverse("admin:uploads_attempt_change", args=[a.pk]) for a in Attempt.objects.all()],
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        places[page] = response.content.decode()

    leaks = [
        (secret[:4] + "…", where, text[max(0, text.find(secret) - 200) : text.find(secret) + 40])
        for where, text in places.items()
        for secret in secrets
        if secret in text
    ]
    assert leaks == []
    # And the records are still useful: the failure says what happened, without the secret.
    assert "HTTP 403" in failed.error
    assert Attempt.objects.filter(operation="put", status_code=403).exists()
