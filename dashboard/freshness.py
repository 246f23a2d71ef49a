"""Per portfolio, how fresh each active farm's data is: its last reading, its last successful Raptor
Maps upload, and which of them is late.

The last reading of a farm is the latest of its sensors' last readings, each found by one probe of
the unique (sensor, observed_at) index (a subquery ordered by observed_at, limit 1): the
observation table is never scanned, so the cost follows the number of sensors, not of readings.
An upload counts as successful when its run uploaded or found nothing new: either way Raptor Maps
has what there was. Farms are flagged worst first; a portfolio shows its flagged farms (up to
``FARMS_SHOWN`` over all portfolios) and a few fresh ones, and counts the rest.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import F, OuterRef, Subquery
from django.utils.timesince import timesince

from portfolio.models import Farm, Observation, Portfolio, Sensor
from uploads.models import RaptorMapsIntegration, RunStatus, UploadRun

__all__ = ["FARMS_SHOWN", "FRESH_SHOWN", "FarmFreshness", "PortfolioFreshness", "farm_freshness"]

# The most flagged farms listed over all portfolios; the others are counted.
FARMS_SHOWN = 50
# Fresh farms listed per portfolio, after its flagged ones.
FRESH_SHOWN = 3
SUCCESSFUL_RUNS = (RunStatus.UPLOADED, RunStatus.NOTHING)

# Worst first.
READINGS_STALE, NO_READINGS, UPLOAD_LATE, FRESH = range(4)


@dataclass
class FarmFreshness:
    farm: Farm
    last_reading: object = None  # datetime, None when the farm has no readings
    last_upload: object = None  # the oldest of its integrations' last successful runs
    uploads: bool = False  # whether an enabled integration sends its readings
    problems: list = field(default_factory=list)  # in words
    reading_lag: str = ""
    upload_lag: str = ""
    rank: int = FRESH

    @property
    def flagged(self):
        return self.rank != FRESH


@dataclass
class PortfolioFreshness:
    portfolio: Portfolio
    farms: list  # the FarmFreshness shown
    flagged: int = 0
    fresh: int = 0
    not_shown: int = 0

    @property
    def total(self):
        return self.flagged + self.fresh


def farm_freshness(now, stale_seconds=None, upload_intervals=None):
    """[PortfolioFreshness], portfolios with flagged farms first; three queries, whatever the size."""
    stale_seconds = stale_seconds or settings.DASHBOARD_STALE_READINGS_SECONDS
    upload_intervals = upload_intervals or settings.DASHBOARD_STALE_UPLOAD_INTERVALS
    coverage = _integrations_by_farm()
    by_portfolio = defaultdict(list)
    for farm in _farms_with_last_reading():
        item = _judge(farm, now, stale_seconds, upload_intervals, coverage)
        by_portfolio[farm.portfolio].append(item)
    groups = []
    room = FARMS_SHOWN
    ordered = sorted(by_portfolio.items(), key=lambda pair: (-sum(i.flagged for i in pair[1]), pair[0].name))
    for portfolio, items in ordered:
        items.sort(key=_worst_first)
        flagged = [item for item in items if item.flagged]
        fresh = [item for item in items if not item.flagged]
        shown = flagged[:room]
        if len(shown) == len(flagged):  # a fresh farm only after every flagged one
            shown += fresh[: min(FRESH_SHOWN, room - len(shown))]
        room -= len(shown)
        groups.append(
            PortfolioFreshness(
                portfolio=portfolio,
                farms=shown,
                flagged=len(flagged),
                fresh=len(fresh),
                not_shown=len(items) - len(shown),
            )
        )
    return groups


def _farms_with_last_reading():
    sensor_last = Observation.objects.filter(sensor=OuterRef("pk")).order_by("-observed_at").values("observed_at")[:1]
    farm_last = (
        Sensor.objects.filter(equipment__farm=OuterRef("pk"))
        .annotate(last=Subquery(sensor_last))
        .order_by(F("last").desc(nulls_last=True))
        .values("last")[:1]
    )
    return (
        Farm.objects.filter(is_active=True)
        .select_related("portfolio")
        .only("farm_id", "name", "timezone", "portfolio__name", "portfolio__slug")
        .annotate(last_reading=Subquery(farm_last))
        .order_by()
    )


def _integrations_by_farm():
    """farm pk or ("portfolio", pk) → [enabled integration, annotated with its last success]."""
    last_success = (
        UploadRun.objects.filter(integration=OuterRef("pk"), status__in=SUCCESSFUL_RUNS)
        .order_by("-queued_at")
        .values("finished_at")[:1]
    )
    # Only what is judged: the credentials stay encrypted in the database.
    integrations = (
        RaptorMapsIntegration.objects.filter(enabled=True)
        .only("name", "portfolio_id", "upload_interval_seconds", "remote_interval_seconds", "created_at")
        .annotate(last_success=Subquery(last_success))
    )
    by_pk = {integration.pk: integration for integration in integrations}
    coverage = defaultdict(list)
    for integration in by_pk.values():
        if integration.portfolio_id:
            coverage[("portfolio", integration.portfolio_id)].append(integration)
    chosen = RaptorMapsIntegration.farms.through.objects.filter(
        raptormapsintegration__enabled=True, raptormapsintegration__portfolio__isnull=True
    ).values_list("raptormapsintegration_id", "farm_id")
    for integration_id, farm_id in chosen:
        coverage[farm_id].append(by_pk[integration_id])
    return coverage


def _judge(farm, now, stale_seconds, upload_intervals, coverage):
    item = FarmFreshness(farm=farm, last_reading=farm.last_reading)
    if farm.last_reading is None:
        item.rank = NO_READINGS
        item.problems.append("no readings yet")
    else:
        item.reading_lag = timesince(farm.last_reading, now, depth=1)
        if (now - farm.last_reading).total_seconds() > stale_seconds:
            item.rank = READINGS_STALE
            item.problems.append(f"no reading for {item.reading_lag}")
    integrations = coverage.get(farm.pk, []) + coverage.get(("portfolio", farm.portfolio_id), [])
    item.uploads = bool(integrations)
    late = []
    for integration in integrations:
        allowed = timedelta(seconds=upload_intervals * integration.interval_seconds)
        since = integration.last_success or integration.created_at
        if now - since > allowed:
            late.append(integration)
    successes = [integration.last_success for integration in integrations if integration.last_success]
    if successes:
        item.last_upload = min(successes)
        item.upload_lag = timesince(item.last_upload, now, depth=1)
    if late:
        never = [integration for integration in late if integration.last_success is None]
        if never:
            item.problems.append(f"never uploaded through {', '.join(i.name for i in never)}")
        else:
            item.problems.append(f"no successful upload for {item.upload_lag}")
        item.rank = min(item.rank, UPLOAD_LATE)
    return item


def _worst_first(item):
    lag = (item.farm.last_reading.timestamp() if item.farm.last_reading else 0, item.farm.farm_id)
    return (item.rank, lag)
