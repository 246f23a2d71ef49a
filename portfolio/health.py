"""`/healthz`: is this deployment able to work? For load balancers and process supervisors.

Three checks, each answered "ok" or "failing"/"stale", and nothing else: no versions, host
names, paths, exception text or settings (README.md and docs/security.md, "Health check").
Nothing is cached: every probe asks the database, the broker and the schedule table afresh.

The scheduler has no heartbeat of its own that both brokers share (django-q2's ``Stat`` lives
in Redis, or in each process's own cache with the ORM broker), so the signal is what the
scheduler leaves behind in the database: each tick (every 30 s or so, in a running
``qcluster``) moves every due schedule's ``next_run`` into the future. A schedule still due
longer than ``HEALTHZ_SCHEDULER_STALE_SECONDS`` after its ``next_run`` means no scheduler
has ticked since.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.db.models import Q
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import Schedule

logger = logging.getLogger(__name__)

# A probe must answer well within a load balancer's own timeout, even if Redis is unreachable.
BROKER_TIMEOUT_SECONDS = 2


def database_check():
    """Run a query on the default database: "ok" or "failing"."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def broker_check():
    """Reach django-q2's broker: Redis answers a PING; the ORM broker counts its queue."""
    broker = get_broker()
    if isinstance(broker, ORM):
        broker.queue_size()  # ORM.ping() answers True without asking the database
        return "ok"
    # get_broker() gives a new client each time: bounding its sockets changes no worker's.
    broker.connection.connection_pool.connection_kwargs.update(
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS, socket_timeout=BROKER_TIMEOUT_SECONDS
    )
    try:
        broker.ping()
    finally:
        broker.connection.close()
    return "ok"


def scheduler_check():
    """Stale when a schedule this cluster runs has been due too long, else ok."""
    stale_before = timezone.now() - timedelta(seconds=settings.HEALTHZ_SCHEDULER_STALE_SECONDS)
    # The same schedules django_q.scheduler picks up: active, and this cluster's or nobody's.
    ours = Q(cluster=Conf.CLUSTER_NAME)
    if Conf.CLUSTER_NAME == Conf.PREFIX:
        ours |= Q(cluster__isnull=True)
    overdue = Schedule.objects.exclude(repeats=0).filter(ours, next_run__lt=stale_before)
    return "stale" if overdue.exists() else "ok"


CHECKS = {"database": database_check, "broker": broker_check, "scheduler": scheduler_check}


def run_check(name, check):
    """One check's answer; any error is "failing", logged by its kind only (no text, no host)."""
    try:
        return check()
    except Exception as exc:  # whatever breaks, the probe answers, never with a traceback
        logger.warning("Health check %s failing: %s", name, type(exc).__name__)
        return "failing"


@csrf_exempt  # GET and HEAD only; a POST is refused with 405, not with the CSRF page
@require_safe
@never_cache
def healthz(request):
    """200 and every check "ok", or 503 naming the checks that are not."""
    checks = {name: run_check(name, check) for name, check in CHECKS.items()}
    healthy = all(answer == "ok" for answer in checks.values())
    return JsonResponse({"status": "ok" if healthy else "failing", "checks": checks}, status=200 if healthy else 503)
