"""`manage.py demo`: the demo portfolio every new user sees, and its admin login."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from portfolio.demo import load_demo_portfolio
from portfolio.models import (
    Asset,
    BillReading,
    DemandResponseEvent,
    Equipment,
    Farm,
    IntervalReading,
    Meter,
    Observation,
    Portfolio,
    Sensor,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 1, 12, 7, tzinfo=UTC)


def run_demo(**options):
    out = io.StringIO()
    call_command("demo", stdout=out, **options)
    return out.getvalue()


def test_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only: set DEBUG=1"):
        run_demo()
    assert not Portfolio.objects.exists()


def test_demo_says_how_to_let_the_local_sandbox_through_the_outbound_rules(settings, tmp_path):
    settings.DEBUG = True
    settings.DEMO_ADMIN_PASSWORD_FILE = tmp_path / "demo-admin-password"
    settings.OUTBOUND_ALLOW_HOSTS = []  # production's default
    with pytest.raises(CommandError, match=r"set OUTBOUND_ALLOW_HOSTS=127\.0\.0\.1,localhost \(make run does\)"):
        run_demo()
    assert not Portfolio.objects.exists()  # nothing half-loaded


def logs_in(client, username, password):
    """Log in through the admin's login page, as a person does (the lockout needs the request)."""
    client.logout()
    client.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"})
    return client.session.get("_auth_user_id") is not None


def test_demo_prints_a_working_admin_login_and_keeps_it(settings, tmp_path, client):
    settings.DEBUG = True
    settings.DEMO_ADMIN_PASSWORD_FILE = tmp_path / "demo-admin-password"
    first = run_demo()
    password = re.search(r"username 'admin', password '([^']+)'", first).group(1)
    assert settings.DEMO_ADMIN_PASSWORD_FILE.read_text().strip() == password
    assert oct(settings.DEMO_ADMIN_PASSWORD_FILE.stat().st_mode & 0o777) == "0o600"
    assert logs_in(client, "admin", password)

    second = run_demo()
    assert f"password '{password}'" in second
    assert logs_in(client, "admin", password)


def test_demo_portfolio_is_complete_valid_and_loads_twice_without_duplicates():
    first = load_demo_portfolio(now=NOW, reading_span=timedelta(hours=1))
    second = load_demo_portfolio(now=NOW, reading_span=timedelta(hours=1))
    assert (
        first
        == second
        == {
            "farms": 3,
            "equipment": 15,
            "sensors": 42,
            "observations": 42 * 12,
            "meters": 3,
            "assets": 3,
        }
    )
    models = [Portfolio, Farm, Equipment, Sensor, Observation, Meter, IntervalReading, BillReading, Asset]
    for model in [*models, DemandResponseEvent]:
        objects = list(model.objects.all())
        assert objects, model
        for obj in objects[:50]:
            obj.full_clean()
    for asset in Asset.objects.all():
        assert asset.kind_errors() == {}
        asset.clean_meters(asset.meters.all())
    assert {asset.kind for asset in Asset.objects.all()} == {
        "solar",
        "electrification_eemetered",
        "demand_response_eemetered",
    }


def test_a_load_weeks_later_adds_to_the_demo_and_changes_nothing_loaded():
    load_demo_portfolio(now=NOW, reading_span=timedelta(hours=1))
    readings = dict(Observation.objects.values_list("pk", "value"))
    hours = dict(IntervalReading.objects.values_list("pk", "quantity"))
    bills = set(BillReading.objects.values_list("start_date", "end_date", "quantity"))
    # `make run` again five weeks later: new readings, hours and bills next to the old ones.
    load_demo_portfolio(now=NOW + timedelta(days=35), reading_span=timedelta(hours=1))
    assert dict(Observation.objects.filter(pk__in=readings).values_list("pk", "value")) == readings
    assert Observation.objects.count() == 2 * len(readings)
    assert dict(IntervalReading.objects.filter(pk__in=hours).values_list("pk", "quantity")) == hours
    assert IntervalReading.objects.count() == 2 * len(hours)
    later = set(BillReading.objects.values_list("start_date", "end_date", "quantity"))
    assert bills < later and len(later) == len(bills) + 1  # the month that ended since
    for bill in BillReading.objects.all():
        bill.full_clean()  # no two bills overlap


def test_demo_readings_end_at_the_last_quarter_hour_in_every_live_farm():
    load_demo_portfolio(now=NOW, reading_span=timedelta(hours=2))
    for farm_id in ("DEMO-NC-01", "DEMO-FL-02"):
        newest = Observation.objects.filter(sensor__equipment__farm__farm_id=farm_id).latest("observed_at")
        assert newest.observed_at == datetime(2026, 11, 1, 12, 0, tzinfo=UTC) - timedelta(minutes=5)
