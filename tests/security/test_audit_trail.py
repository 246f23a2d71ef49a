"""The audit trail (docs/security.md, "Audit trail"): every change to portfolio data,
integrations, accounts, users and schedules is recorded with who, when, what and from where,
through the admin, a spreadsheet import, a management command or a worker's task; secrets
appear only as "changed".
"""

import contextvars
import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from multiprocessing import Queue, Value

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import Schedule
from django_q.monitor import monitor
from django_q.worker import worker

from audit.context import audit_context
from audit.registry import TRACKED
from audit.secret_fields import CHANGED, NOT_SET, SET
from portfolio.models import Farm, ImportRecord, IntervalReading, Meter, Observation, Portfolio
from tests.factories import MeterFactory, PortfolioFactory, SensorFactory
from tests.uploads.accounts import make_account
from tests.uploads.admin_helpers import (
    ACCESS_TOKEN,
    API_TOKEN,
    CLIENT_SECRET,
    client_integration,
    save,
    stored_secrets,
    token_integration,
)
from uploads.secrets import Secret

pytestmark = pytest.mark.django_db

OFFICE = "192.0.2.44"
NEW_TOKEN = "rm-api-token-NEW-Ty52Gd8"
NEW_SECRET = "rm-client-secret-NEW-Kc19Lo4"
WC_KEY = "wc-api-key-Fv93Hs2"
WC_NEW_KEY = "wc-api-key-NEW-Rj64Ue1"
WC_TOKEN = "wc-access-token-Ah28Mn6"


def entries_of(obj):
    return list(LogEntry.objects.get_for_object(obj).order_by("timestamp", "pk"))


def everything_logged():
    """Every stored part of every log entry, as one text."""
    rows = LogEntry.objects.values_list("changes", "changes_text", "additional_data", "object_repr", "serialized_data")
    return "\n".join(json.dumps(row, default=str) for row in rows)


# -- what is tracked ----------------------------------------------------------------------------


def test_portfolio_data_integrations_accounts_users_and_schedules_are_tracked_observations_are_not():
    tracked = {model._meta.label for model in auditlog.get_models()}
    assert set(TRACKED) <= tracked
    for label in (
        "portfolio.Portfolio",
        "portfolio.Farm",
        "portfolio.Equipment",
        "portfolio.Sensor",
        "portfolio.Meter",
        "portfolio.IntervalReading",
        "portfolio.BillReading",
        "portfolio.Asset",
        "portfolio.DemandResponseEvent",
        "uploads.RaptorMapsIntegration",
        "uploads.WattCarbonAccount",
        "auth.User",
        "auth.Group",
        "django_q.Schedule",
    ):
        assert apps.get_model(label) in auditlog.get_models(), label
    for label in ("portfolio.Observation", "portfolio.ImportRecord", "uploads.Attempt", "uploads.Lease"):
        assert apps.get_model(label) not in auditlog.get_models(), label


def test_an_observation_leaves_no_entry():
    sensor = SensorFactory()
    before = LogEntry.objects.count()
    Observation.objects.create(sensor=sensor, observed_at=datetime(2026, 1, 1, tzinfo=UTC), value=1.0)
    assert LogEntry.objects.count() == before


# -- through the admin --------------------------------------------------------------------------


def test_an_admin_create_change_and_delete_record_who_when_what_and_from_where(admin_client, admin_user):
    add = admin_client.post(
        reverse("admin:portfolio_portfolio_add"), {"name": "Sunbelt", "slug": "sunbelt"}, REMOTE_ADDR=OFFICE
    )
    assert add.status_code == 302
    portfolio = Portfolio.objects.get(slug="sunbelt")
    change = reverse("admin:portfolio_portfolio_change", args=[portfolio.pk])
    admin_client.post(change, {"name": "Sunbelt West", "slug": "sunbelt"}, REMOTE_ADDR=OFFICE)
    delete = reverse("admin:portfolio_portfolio_delete", args=[portfolio.pk])
    admin_client.post(delete, {"post": "yes"}, REMOTE_ADDR=OFFICE)

    created, changed, deleted = entries_of(portfolio)
    assert [entry.action for entry in (created, changed, deleted)] == [
        LogEntry.Action.CREATE,
        LogEntry.Action.UPDATE,
        LogEntry.Action.DELETE,
    ]
    for entry in (created, changed, deleted):
        assert (entry.actor, entry.remote_addr) == (admin_user, OFFICE)
        assert entry.additional_data["source"] == "web"
        assert entry.timestamp is not None
    assert changed.changes_dict == {"name": ["Sunbelt", "Sunbelt West"]}
    assert created.changes_dict["slug"] == ["None", "sunbelt"]
    # Its own fields only: not its farms, meters or assets (reverse relations).
    assert set(created.changes_dict) <= {field.name for field in Portfolio._meta.concrete_fields}


def test_a_forged_forwarded_for_header_is_not_recorded_as_the_address(admin_client):
    admin_client.post(
        reverse("admin:portfolio_portfolio_add"),
        {"name": "Forged", "slug": "forged"},
        REMOTE_ADDR=OFFICE,
        HTTP_X_FORWARDED_FOR="10.66.66.66",
    )
    (entry,) = entries_of(Portfolio.objects.get(slug="forged"))
    assert entry.remote_addr == OFFICE


def test_the_history_page_lists_the_trail(admin_client, admin_user):
    admin_client.post(reverse("admin:portfolio_portfolio_add"), {"name": "Mesa", "slug": "mesa"}, REMOTE_ADDR=OFFICE)
    portfolio = Portfolio.objects.get(slug="mesa")
    admin_client.post(
        reverse("admin:portfolio_portfolio_change", args=[portfolio.pk]),
        {"name": "Mesa <b>North</b>", "slug": "mesa"},
        REMOTE_ADDR=OFFICE,
    )

    page = admin_client.get(reverse("admin:portfolio_portfolio_history", args=[portfolio.pk])).content.decode()

    assert 'id="audit-trail"' in page
    assert page.count('class="audit-entry"') == 2
    assert admin_user.username in page and f"address {OFFICE}" in page
    assert "Mesa &lt;b&gt;North&lt;/b&gt;" in page and "<b>North</b>" not in page  # values are escaped
    assert "web POST /admin/portfolio/portfolio/" in page


def test_the_history_page_of_an_object_made_outside_the_admin_shows_its_trail_alone(admin_client):
    with audit_context(source="command", command="demo"):
        portfolio = PortfolioFactory(name="Mesa")

    page = admin_client.get(reverse("admin:portfolio_portfolio_history", args=[portfolio.pk])).content.decode()

    assert page.count('class="audit-entry"') == 1 and "command demo" in page
    assert "have a change history" not in page  # Django's note about its own, empty, log


def test_administrators_search_the_whole_log(admin_client):
    with audit_context(source="command", command="test"):
        PortfolioFactory(name="Findable Ridge", slug="ridge")
        PortfolioFactory(name="Other", slug="other")

    found = admin_client.get(reverse("admin:auditlog_logentry_changelist"), {"q": "Findable"})

    assert found.status_code == 200
    assert [entry.object_repr for entry in found.context["cl"].result_list] == ["Findable Ridge"]
    assert "command test" in found.content.decode()


# -- imports and commands -----------------------------------------------------------------------


def test_a_spreadsheet_import_on_the_command_line_is_recorded_with_the_command_and_no_person(tmp_path):
    PortfolioFactory(slug="sunbelt")
    path = tmp_path / "farms.csv"
    path.write_text("farm_id,portfolio,name,timezone\nF1,sunbelt,Mesa,America/Denver\n")
    call_command("import_spreadsheet", "farms", str(path), stdout=StringIO())

    (entry,) = entries_of(Farm.objects.get(farm_id="F1"))
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor is None and entry.remote_addr is None
    assert entry.additional_data == {"source": "command", "command": "import_spreadsheet"}
    assert entry.changes_dict["name"] == ["None", "Mesa"]


def run_in_a_worker(task):
    """Run a queued task as a worker process does: through django-q2's worker function, in a
    fresh context (none of the request's), on this test's database connection."""
    tasks, results = Queue(), Queue()
    tasks.put({**task, "sync": True})  # sync: keep this test's connection open
    tasks.put("STOP")

    def work():
        worker(tasks, results, Value("f", -1))
        results.put("STOP")
        monitor(results)

    contextvars.Context().run(work)


def test_an_import_run_by_the_worker_is_attributed_to_the_person_who_uploaded_it(
    admin_client, admin_user, queued_tasks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    chosen = PortfolioFactory(slug="chosen")
    header = (
        "farm_id,farm_name,timezone,commissioning date,farm_latitude,farm_longitude,equipment_id,equipment_name,"
        "equipment_type,sensor_id,sensor_name,sensor_type,observation_time,measured_value"
    )
    row = "WEST,West farm,America/Denver,2020-01-01 00:00:00,39.7,-105.0,INV-9,Inverter 9,inverter,S-9,AC,ac_power"
    file = SimpleUploadedFile("raptor.csv", f"{header}\n{row},2024-06-01 00:00:00,1.0\n".encode())
    admin_client.post(
        "/admin/portfolio/observation/import/",
        {"file": file, "time_basis": "local", "portfolio": chosen.pk},
        REMOTE_ADDR=OFFICE,
    )
    (task,) = queued_tasks().values()
    assert not Farm.objects.exists()  # the request only queued it

    run_in_a_worker(task)

    assert ImportRecord.objects.get().status == "imported"
    (entry,) = entries_of(Farm.objects.get(farm_id="WEST"))
    assert (entry.actor, entry.remote_addr) == (admin_user, OFFICE)
    assert entry.additional_data["source"] == "task"
    assert entry.additional_data["task"] == "portfolio.tasks.import_readings"
    assert entry.additional_data["queued_from"]["source"] == "web"


def test_a_task_nobody_queued_names_only_itself(queued_tasks):
    from django_q.tasks import async_task

    portfolio = PortfolioFactory(slug="nightly")
    async_task("tests.security.tasks.rename_portfolio", portfolio.pk, "Nightly renamed")
    (task,) = queued_tasks().values()

    run_in_a_worker(task)

    entry = entries_of(portfolio)[-1]
    assert entry.changes_dict == {"name": [portfolio.name, "Nightly renamed"]}
    assert entry.actor is None
    assert entry.additional_data["task"] == "tests.security.tasks.rename_portfolio"
    assert "queued_from" not in entry.additional_data


# -- secrets ------------------------------------------------------------------------------------


def test_secrets_appear_as_changed_never_their_values_nor_their_ciphertext(admin_client, settings):
    integration = client_integration()  # client credentials and a cached access token
    other = token_integration()
    old_ciphertexts = stored_secrets(integration) + stored_secrets(other)
    account = make_account(api_key=Secret(WC_KEY))
    old_ciphertexts += stored_secrets(account)

    assert save(admin_client, other, api_token=NEW_TOKEN).status_code == 302
    assert save(admin_client, integration, client_secret=NEW_SECRET).status_code == 302
    assert save(admin_client, account, api_key=WC_NEW_KEY).status_code == 302
    # The token caches move without anybody's doing: not in the trail.
    account.access_token, account.access_token_expires_at = Secret(WC_TOKEN), datetime(2030, 1, 1, tzinfo=UTC)
    account.save(update_fields=["access_token", "access_token_expires_at"])

    created = entries_of(other)[0]
    assert created.changes_dict["api_token"] == [NOT_SET, SET]
    assert entries_of(other)[-1].changes_dict == {"api_token": [SET, CHANGED]}
    assert entries_of(integration)[-1].changes_dict == {"client_secret": [SET, CHANGED]}
    assert entries_of(account)[-1].changes_dict == {"api_key": [SET, CHANGED]}
    assert len(entries_of(account)) == 2  # created, key changed; the token cache left none

    logged = everything_logged()
    new_ciphertexts = stored_secrets(integration) + stored_secrets(other) + stored_secrets(account)
    for value in (API_TOKEN, CLIENT_SECRET, ACCESS_TOKEN, NEW_TOKEN, NEW_SECRET, WC_KEY, WC_NEW_KEY, WC_TOKEN):
        assert value not in logged
        assert value[: len(value) // 2] not in logged and value[len(value) // 2 :] not in logged  # no masked halves
    for ciphertext in old_ciphertexts + new_ciphertexts:
        assert ciphertext not in logged and ciphertext[:40] not in logged

    history = admin_client.get(reverse("admin:uploads_wattcarbonaccount_history", args=[account.pk]))
    assert history.status_code == 200
    page = history.content.decode()
    assert CHANGED in page
    for value in (WC_KEY, WC_NEW_KEY, WC_TOKEN, *stored_secrets(account)):
        assert value not in page


def test_a_secret_removed_is_recorded_as_not_set(admin_client):
    integration = client_integration()
    response = save(admin_client, integration, clear_client_secret="on", client_id="", api_token=NEW_TOKEN)
    assert response.status_code == 302
    assert entries_of(integration)[-1].changes_dict["client_secret"] == [SET, NOT_SET]


def test_a_password_change_is_recorded_without_the_hash():
    user = User.objects.create_user("ops", password="first-password-Ab12")
    user.set_password("second-password-Cd34")
    user.save()

    entry = entries_of(user)[-1]
    assert entry.changes_dict == {"password": [SET, CHANGED]}
    assert user.password not in everything_logged()
    assert "second-password-Cd34" not in everything_logged()


def test_group_membership_is_recorded():
    user = User.objects.create_user("ops")
    group = Group.objects.get(name="operator")  # made by the roles migration
    with audit_context(source="command", command="test"):
        user.groups.add(group)

    entry = entries_of(user)[-1]
    assert entry.changes_dict["groups"]["objects"] == ["operator"]


# -- bookkeeping stays out ----------------------------------------------------------------------


def test_bookkeeping_the_application_moves_leaves_no_entries(client):
    meter = MeterFactory()
    schedule = Schedule.objects.create(name="nightly", func="portfolio.tasks.import_readings", repeats=-1)
    user = User.objects.create_user("ops", password="ops-password-Ef56", is_staff=True)
    before = LogEntry.objects.count()

    meter.derived_through = datetime(2026, 1, 1, tzinfo=UTC)
    meter.save()
    schedule.next_run += timedelta(hours=1)
    schedule.task = "a-task-id"
    schedule.save()
    client.post("/admin/login/", {"username": "ops", "password": "ops-password-Ef56"})  # moves last_login
    assert User.objects.get(pk=user.pk).last_login is not None
    assert LogEntry.objects.count() == before

    account = make_account()
    before = LogEntry.objects.count()
    account.connection_tested_at, account.connection_ok, account.connection_summary = account.created_at, True, "ok"
    account.save()  # what Test connection stores

    assert LogEntry.objects.count() == before
    assert isinstance(Meter.objects.get(pk=meter.pk).derived_through, datetime)


def test_a_schedule_changed_by_a_person_is_recorded():
    schedule = Schedule.objects.create(name="nightly", func="portfolio.tasks.import_readings", minutes=15)
    schedule.minutes = 5
    schedule.save()
    assert entries_of(schedule)[-1].changes_dict == {"minutes": ["15", "5"]}


def test_deleting_a_meter_counts_its_readings_on_the_confirmation_page_and_records_each_one(admin_client):
    meter = MeterFactory()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for hour in range(5):
        IntervalReading.objects.create(
            meter=meter, start=start + timedelta(hours=hour), end=start + timedelta(hours=hour + 1), quantity=hour
        )
    delete = reverse("admin:portfolio_meter_delete", args=[meter.pk])

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(delete)
    assert page.status_code == 200
    assert "Interval readings: 5" in page.text
    assert not [q["sql"] for q in queries if '"portfolio_intervalreading"."quantity"' in q["sql"]]

    admin_client.post(delete, {"post": "yes"}, REMOTE_ADDR=OFFICE)
    deleted = LogEntry.objects.filter(
        content_type__model="intervalreading", action=LogEntry.Action.DELETE, remote_addr=OFFICE
    )
    assert deleted.count() == 5
    assert {entry.changes_dict["quantity"][0] for entry in deleted} == {"0.0", "1.0", "2.0", "3.0", "4.0"}
