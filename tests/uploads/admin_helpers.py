"""Data and tools for the uploads admin tests: integrations with real secrets, runs with their story,
and what the Raptor Maps and WattCarbon admin tests both use to read and post pages."""

import socket
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import FarmFactory, PortfolioFactory
from tests.portfolio.admin_forms import form_data
from tests.uploads.integrations import make_integration
from uploads.models import (
    Attempt,
    AttemptOutcome,
    RaptorMapsIntegration,
    RunStatus,
    RunTrigger,
    Service,
    UploadPart,
    UploadRun,
    UploadWatermark,
)
from uploads.secrets import Secret
from uploads.secrets.fields import EncryptedSecretField

# Real secrets, distinctive enough that finding one in a page cannot be a coincidence.
API_TOKEN = "rm-api-token-Zq81xKv3"
CLIENT_SECRET = "rm-client-secret-Wp62nJt9"
ACCESS_TOKEN = "rm-access-token-Hb47sLc5"
SECRETS = (API_TOKEN, CLIENT_SECRET, ACCESS_TOKEN)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def token_integration(name="East token", **fields):
    """A whole-portfolio integration with an API token."""
    fields.setdefault("portfolio", PortfolioFactory(name="East portfolio", slug="east"))
    return make_integration(name=name, api_token=API_TOKEN, integration_id=501, **fields)


def client_integration(name="West client", farms=None, **fields):
    """A chosen-farms integration with client credentials and a cached access token."""
    farms = farms if farms is not None else FarmFactory.create_batch(2)
    fields = {"client_id": "west-client", "client_secret": CLIENT_SECRET, "integration_id": 502, **fields}
    integration = make_integration(name=name, farms=farms, **fields)
    integration.access_token = Secret(ACCESS_TOKEN)
    integration.access_token_expires_at = T0 + timedelta(hours=1)
    integration.save()
    return integration


def make_run(integration, status=RunStatus.UPLOADED, attempts=0, parts=0, **fields):
    """A run as the service leaves it, with its parts and HTTP attempts."""
    finished = status not in (RunStatus.QUEUED, RunStatus.RUNNING)
    run = UploadRun.objects.create(
        integration=integration,
        status=status,
        trigger=fields.pop("trigger", RunTrigger.SCHEDULE),
        started_at=T0 if status != RunStatus.QUEUED else None,
        finished_at=T0 + timedelta(seconds=95) if finished else None,
        **fields,
    )
    for number in range(1, parts + 1):
        UploadPart.objects.create(
            run=run,
            number=number,
            rows=1000 * number,
            bytes=65_536 * number,
            sha256=f"{number:x}" * 64,
            status=UploadPart.Status.UPLOADED,
            uploaded_at=T0 + timedelta(seconds=10 * number),
        )
    for number in range(attempts):
        make_attempt(integration, run=run, started_at=T0 + timedelta(seconds=number))
    return run


def make_attempt(integration, run=None, **fields):
    values = {
        "service": Service.RAPTORMAPS,
        "operation": "signed_url",
        "method": "GET",
        "url": f"{integration.base_url}/insights/api/v1/integrations/org_integrations/501/signed_url?org_id=[redacted]",
        "status_code": 200,
        "outcome": AttemptOutcome.OK,
        "started_at": T0,
        "duration_ms": 1234,
        "run": run,
        "subject_id": str(integration.pk),
        "subject_label": str(integration),
        "response_excerpt": '"https://storage.example/part?X-Amz-Signature=[redacted]"',
    }
    values.update(fields)
    values.setdefault("subject_type", ContentType.objects.get_for_model(RaptorMapsIntegration))
    return Attempt.objects.create(**values)


def failed_run(integration, **fields):
    return make_run(
        integration,
        status=RunStatus.FAILED,
        error="put: HTTP 503 Service Unavailable after 5 attempts.",
        log="2 farm(s); readings ingested up to 2026-03-02 08:59:00 UTC\nBuilt 2 part(s): 3,000 rows.",
        window_end=T0 - timedelta(minutes=1),
        window={"FARM-A": None, "FARM-B": "2026-03-01T09:00:00+00:00"},
        rows=3000,
        bytes=196_608,
        parts=2,
        attempts=3,
        **fields,
    )


def watermark(integration, farm, run=None):
    return UploadWatermark.objects.create(integration=integration, farm=farm, ingested_through=T0, run=run)


# --- pages ---------------------------------------------------------------------------------------


def url(model, view, *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def page_text(response):
    assert response.status_code == 200, response
    return response.content.decode()


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def form_errors(response):
    assert response.status_code == 200
    return {name: list(errors) for name, errors in response.context["adminform"].form.errors.items()}


def save(client, obj, **changes):
    """Post ``obj``'s change form as it stands with ``changes`` (None leaves a field out)."""
    change = url(type(obj), "change", obj.pk)
    data = {**form_data(client.get(change)), **changes}
    return client.post(change, {key: value for key, value in data.items() if value is not None})


def reloaded(obj):
    return type(obj).objects.get(pk=obj.pk)


def changelist_queries(client, model, query=""):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(model, "changelist") + query)
    assert response.status_code == 200
    return len(queries)


def changelist_selects(client, model):
    """The SELECTs from ``model``'s table that its list page ran (to see which columns it loaded)."""
    with CaptureQueriesContext(connection) as queries:
        page_text(client.get(url(model, "changelist")))
    table = model._meta.db_table
    return [q["sql"] for q in queries if f'FROM "{table}"' in q["sql"] and "SELECT" in q["sql"]]


def closed_port():
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- secrets and permissions ------------------------------------------------------------------------


def stored_secrets(owner):
    """The encrypted forms as stored in the table: a page must not show those either."""
    opts = owner._meta
    columns = [field.column for field in opts.concrete_fields if isinstance(field, EncryptedSecretField)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {opts.db_table} WHERE id = %s", [owner.pk])
        return [value for value in cursor.fetchone() if value]


def assert_no_secret(html, *owners, secrets=SECRETS):
    """Neither the test's real ``secrets`` nor the stored (encrypted) forms of the owners' are in ``html``."""
    for value in secrets:
        assert value not in html
    for owner in owners:
        for value in stored_secrets(owner):
            assert value not in html


def staff_user(*permissions, username="staff"):
    """A staff user with only these permissions (codenames, any app)."""
    user = User.objects.create_user(username, password="x", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user
