"""One real object for every model in the admin, so the role matrix can open its change, delete and
history pages and run its actions on it.

``MAKERS`` is keyed by model label. A model added to the admin later without a maker here is
walked on an object that already exists (one another maker created, an audit entry for
example); when there is none, the matrix test fails and says to add a maker.
"""

from datetime import timedelta

from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule, Task
from django_q.signing import SignedPackage

from portfolio.models import ImportRecord
from sandbox import raptormaps as raptormaps_sandbox
from tests.factories import (
    AssetFactory,
    BillReadingFactory,
    DemandResponseEventFactory,
    EquipmentFactory,
    FarmFactory,
    IntervalReadingFactory,
    MeterFactory,
    ObservationFactory,
    PortfolioFactory,
    SensorFactory,
)
from tests.uploads.accounts import make_account
from tests.uploads.admin_helpers import failed_run, make_attempt
from tests.uploads.integrations import make_integration
from tests.uploads.test_wattcarbon_admin import failed_sync

__all__ = ["make_objects"]


def make_task(success):
    """A finished django-q2 task: a success or a failure."""
    now = timezone.now()
    return Task.objects.create(
        id=f"task-{'ok' if success else 'failed'}",
        name=f"quiet-{'ok' if success else 'failed'}",
        func="math.floor",
        args=(1.5,),
        kwargs={},
        started=now - timedelta(seconds=2),
        stopped=now,
        success=success,
        result=1 if success else "Traceback: it failed",
        attempt_count=1,
    )


def _queued_task():
    package = SignedPackage.dumps({"id": "queued-1", "name": "queued-1", "func": "math.floor", "args": (1.5,)})
    return OrmQ.objects.create(key=Conf.PREFIX, payload=package, lock=timezone.now())


def import_record(owner):
    """A finished readings import of ``owner``'s with an errors file (which only they and administrators may fetch)."""
    record = ImportRecord.objects.create(
        kind=ImportRecord.Kind.READINGS,
        target="readings",
        source=ImportRecord.Source.ADMIN,
        user=owner,
        file_name="readings.csv",
        file_size=120,
        status=ImportRecord.Status.IMPORTED,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        rows_read=3,
        rows_new=2,
        rows_invalid=1,
        rows_skipped=1,
    )
    record.errors_file.save("readings.errors.csv", ContentFile(b"line,column,message\n3,value,not a number\n"))
    return record


def make_objects(sandbox, owner):
    """{model label: object}: one of each model the admin shows, pointing at the sandbox where it calls out.

    ``owner`` is a user outside the matrix: the import record is theirs, and the user pages open theirs.
    """
    portfolio = PortfolioFactory(name="Matrix portfolio", slug="matrix")
    farm = FarmFactory(portfolio=portfolio)
    sensor = SensorFactory(equipment=EquipmentFactory(farm=farm))
    meter = MeterFactory(portfolio=portfolio)
    asset = AssetFactory(portfolio=portfolio)
    integration = make_integration(
        name="Matrix integration",
        portfolio=portfolio,
        base_url=sandbox.url,
        client_id=raptormaps_sandbox.DEFAULT_CLIENT_ID,
        client_secret=raptormaps_sandbox.DEFAULT_CLIENT_SECRET,
        integration_id=raptormaps_sandbox.DEFAULT_INTEGRATION_ID,
        org_id=raptormaps_sandbox.DEFAULT_ORG_ID,
    )
    account = make_account(name="Matrix account", portfolio=portfolio, base_url=sandbox.url)
    run = failed_run(integration)
    objects = {
        "portfolio.portfolio": portfolio,
        "portfolio.farm": farm,
        "portfolio.equipment": sensor.equipment,
        "portfolio.sensor": sensor,
        "portfolio.observation": ObservationFactory(sensor=sensor),
        "portfolio.meter": meter,
        "portfolio.intervalreading": IntervalReadingFactory(meter=meter),
        "portfolio.billreading": BillReadingFactory(meter=meter),
        "portfolio.asset": asset,
        "portfolio.demandresponseevent": DemandResponseEventFactory(),
        "portfolio.importrecord": import_record(owner),
        "uploads.raptormapsintegration": integration,
        "uploads.wattcarbonaccount": account,
        "uploads.uploadrun": run,
        "uploads.syncrun": failed_sync(account),
        "uploads.attempt": make_attempt(integration, run=run),
        "auth.user": owner,
        "auth.group": Group.objects.create(name="spare group"),
        "django_q.schedule": Schedule.objects.create(name="matrix schedule", func="math.floor", args="1.5"),
        "django_q.success": make_task(success=True),
        "django_q.failure": make_task(success=False),
        "django_q.ormq": _queued_task(),
    }
    if apps.is_installed("axes"):
        objects.update(_lockout_objects())
    return objects


def _lockout_objects():
    """django-axes' records of a failed login (administrators see and reset them)."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    where = {"user_agent": "matrix", "ip_address": "203.0.113.9", "username": "someone", "http_accept": "*/*"}
    return {
        "axes.accessattempt": AccessAttempt.objects.create(
            **where, path_info="/admin/login/", get_data="", post_data="", failures_since_start=1
        ),
        "axes.accesslog": AccessLog.objects.create(**where, path_info="/admin/login/"),
        "axes.accessfailurelog": AccessFailureLog.objects.create(**where, path_info="/admin/login/"),
    }


def someone():
    """The user outside the matrix whose objects the roles look at."""
    return User.objects.create_user("someone", password="x")
