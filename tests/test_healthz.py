"""`/healthz`: database, broker and scheduler, on whichever broker the suite runs with.

Run on the defaults (SQLite, ORM broker) and with DATABASE_URL on PostgreSQL and REDIS_URL set.
Outages are real: the database's settings point at a closed loopback port (or a file that
cannot be), the broker at a closed loopback port, the schedules at a time long past.
"""

import json
import socket
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.scheduler import scheduler

pytestmark = pytest.mark.django_db

HEALTHY = {"status": "ok", "checks": {"database": "ok", "broker": "ok", "scheduler": "ok"}}


@pytest.fixture
def closed_port():
    """A loopback port bound by this test and never listened on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def tick(monkeypatch):
    """Run one real scheduler tick, as a running qcluster does every 30 s or so.

    Its tasks run at once, in this process (``sync``): a tick otherwise closes the database
    connection, which is the test's open transaction.
    """

    def run():
        with monkeypatch.context() as patch:
            patch.setattr(Conf, "SYNC", True)
            scheduler(broker=get_broker())

    return run


def probe(client, **extra):
    response = client.get("/healthz", **extra)
    return response.status_code, json.loads(response.content)


def overdue_schedule(seconds, **fields):
    """A schedule whose next run was ``seconds`` ago and that no scheduler has taken since."""
    return Schedule.objects.create(
        name=fields.pop("name", "overdue"),
        func="portfolio.tasks.clean_spreadsheet_previews",
        schedule_type=Schedule.MINUTES,
        minutes=5,
        repeats=fields.pop("repeats", -1),
        next_run=timezone.now() - timedelta(seconds=seconds),
        **fields,
    )


def test_healthy_after_a_scheduler_tick_anonymous_and_uncached(client, tick):
    tick()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == HEALTHY
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]  # a cached "ok" would hide an outage


def test_head_answers_like_get(client, tick):
    tick()
    response = client.head("/healthz")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_only_get_and_head(client, method):
    response = getattr(client, method)("/healthz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_a_schedule_due_longer_than_the_threshold_is_stale_until_the_scheduler_ticks(client, settings, tick):
    settings.HEALTHZ_SCHEDULER_STALE_SECONDS = 300
    tick()
    overdue_schedule(301)
    assert probe(client) == (503, {"status": "failing", "checks": {**HEALTHY["checks"], "scheduler": "stale"}})
    tick()
    assert probe(client) == (200, HEALTHY)


def test_a_schedule_due_within_the_threshold_or_not_ours_is_no_sign(client, settings, tick):
    settings.HEALTHZ_SCHEDULER_STALE_SECONDS = 300
    tick()
    overdue_schedule(240, name="between two ticks")
    overdue_schedule(3600, name="done", repeats=0)  # finished: the scheduler leaves it alone
    overdue_schedule(3600, name="another queue's", cluster="some-other-cluster")
    assert probe(client) == (200, HEALTHY)


def test_the_threshold_is_the_setting(client, settings, tick):
    tick()
    overdue_schedule(120)
    settings.HEALTHZ_SCHEDULER_STALE_SECONDS = 60
    assert probe(client)[1]["checks"]["scheduler"] == "stale"
    settings.HEALTHZ_SCHEDULER_STALE_SECONDS = 180
    assert probe(client)[1]["checks"]["scheduler"] == "ok"


def test_a_fresh_install_is_ok_until_its_first_schedule_waits_too_long(client, settings):
    """`migrate` schedules the hourly cleanup, due at once: without a cluster, stale after the threshold."""
    settings.HEALTHZ_SCHEDULER_STALE_SECONDS = 300
    cleanup = Schedule.objects.get(name="clean spreadsheet previews")
    Schedule.objects.filter(pk=cleanup.pk).update(next_run=timezone.now())  # just migrated
    assert probe(client) == (200, HEALTHY)
    Schedule.objects.filter(pk=cleanup.pk).update(next_run=timezone.now() - timedelta(seconds=301))
    assert probe(client)[1]["checks"]["scheduler"] == "stale"


def test_broker_down_is_named_and_nothing_else_said(client, monkeypatch, closed_port, tick):
    tick()
    # The Redis broker, pointed at a loopback port nothing listens on (on either suite run).
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{closed_port}/8")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content) == {
        "status": "failing",
        "checks": {"database": "ok", "broker": "failing", "scheduler": "ok"},
    }
    assert_reveals_nothing(response, str(closed_port), "redis", "Connection", "Error")


@pytest.mark.django_db(transaction=True)
def test_database_down_is_named_and_nothing_else_said(client, closed_port, tmp_path):
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    if connection.vendor == "sqlite":
        broken = {"NAME": str(tmp_path / "no-such-directory" / "portfolio.sqlite3")}
    else:
        broken = {"HOST": "127.0.0.1", "PORT": str(closed_port)}
    connection.close()
    connection.settings_dict.update(broken)
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    checks = json.loads(response.content)["checks"]
    assert checks["database"] == "failing"
    assert checks["scheduler"] == "failing"  # the schedules live in the database
    # The ORM broker's queue is in the database too; Redis does not need it.
    assert checks["broker"] == ("failing" if Conf.ORM else "ok")
    assert_reveals_nothing(response, *broken.values(), saved["NAME"], "no-such-directory", "OperationalError")


def assert_reveals_nothing(response, *also):
    """No setting, secret, path, host, version or exception text in the body or headers."""
    said = response.content.decode() + json.dumps(dict(response.headers))
    database = django_settings.DATABASES["default"]
    for secret in [
        django_settings.SECRET_KEY,
        *django_settings.SECRETS_ENCRYPTION_KEYS,
        str(django_settings.BASE_DIR),
        str(database["NAME"]),
        socket.gethostname(),
        "Traceback",
        "Django",
        "python",
        *also,
    ]:
        assert secret and secret.lower() not in said.lower(), secret


def test_healthy_answer_reveals_nothing(client, tick):
    tick()
    assert_reveals_nothing(client.get("/healthz"), str(django_settings.Q_CLUSTER.get("redis", "")) or "orm")


def test_plain_http_probe_behind_tls_redirect_is_answered_not_redirected(client, settings, tick):
    """Production: DEBUG off and every other URL redirected to HTTPS; the probe speaks plain HTTP."""
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    tick()
    assert probe(client) == (200, HEALTHY)
    assert client.get("/admin/").status_code == 301  # the redirect is on
    assert client.get("/healthz/").status_code == 301  # exempt is the one path, nothing under it


def test_allowed_hosts_still_apply(client, tick):
    tick()
    assert client.get("/healthz", HTTP_HOST="attacker.example").status_code == 400
    assert client.get("/healthz", HTTP_HOST="localhost").status_code == 200


def test_a_locked_out_address_is_still_answered(client, settings, tick):
    """The login lockout (axes) and the audit trail's middleware leave the probe alone."""
    tick()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post("/admin/login/", {"username": "nobody", "password": "wrong"})
    assert client.post("/admin/login/", {"username": "nobody", "password": "wrong"}).status_code in (403, 429)
    assert probe(client) == (200, HEALTHY)
