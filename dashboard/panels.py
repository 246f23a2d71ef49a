"""The dashboard of one request: each panel the user may see, and which of its links they may follow.

A panel is shown to whoever may view what it counts (viewers see them all but the schedules'
links); a link is given only to a page the user may open.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from dashboard.activity import recent_activity
from dashboard.freshness import farm_freshness
from dashboard.imports import imports_in_progress
from dashboard.schedules import schedules_due
from dashboard.sync_states import sync_state_counts
from uploads.admin.display import human_interval

__all__ = ["Dashboard", "panels_for"]


@dataclass
class Dashboard:
    now: object
    stale_readings_seconds: int
    stale_upload_intervals: int
    freshness: list = None
    activity: object = None
    sync_states: list = None
    schedules: object = None
    imports: object = None
    can: dict = None  # "view_<model>" → whether the user may open that model's pages

    @property
    def stale_readings_words(self):
        return human_interval(self.stale_readings_seconds)

    @property
    def problems(self):
        """What is wrong right now, one short phrase per kind of problem (empty: nothing is)."""
        found = []
        flagged = sum(group.flagged for group in self.freshness or [])
        found.append(plural(flagged, "farm flagged", "farms flagged"))
        if self.activity:
            for kind, one, many in (
                (self.activity.runs, "upload run failed", "upload runs failed"),
                (self.activity.syncs, "WattCarbon sync failed", "WattCarbon syncs failed"),
            ):
                found.append(plural(kind.failed if kind else 0, one, many))
        for group in self.sync_states or []:
            bad = sum(count.count for count in group.counts if count.bad)
            found.append(
                plural(bad, f"{group.noun[:-1]} in error on WattCarbon", f"{group.noun} in error on WattCarbon")
            )
        if self.schedules:
            found.append(plural(self.schedules.overdue, "schedule overdue", "schedules overdue"))
        return [phrase for phrase in found if phrase]


LINKED = {
    "view_farm": "portfolio.view_farm",
    "view_importrecord": "portfolio.view_importrecord",
    "view_meter": "portfolio.view_meter",
    "view_asset": "portfolio.view_asset",
    "view_uploadrun": "uploads.view_uploadrun",
    "view_syncrun": "uploads.view_syncrun",
    "view_attempt": "uploads.view_attempt",
    "view_schedule": "django_q.view_schedule",
    "view_raptormapsintegration": "uploads.view_raptormapsintegration",
    "view_wattcarbonaccount": "uploads.view_wattcarbonaccount",
}


def plural(count, one, many):
    """'1 farm flagged', '3 farms flagged'; "" for none."""
    if not count:
        return ""
    return f"{count:,} {one if count == 1 else many}"


def panels_for(request):
    """The :class:`Dashboard` ``request.user`` may see."""
    user = request.user
    can = {name: user.has_perm(permission) for name, permission in LINKED.items()}
    now = timezone.now()
    dashboard = Dashboard(
        now=now,
        stale_readings_seconds=settings.DASHBOARD_STALE_READINGS_SECONDS,
        stale_upload_intervals=settings.DASHBOARD_STALE_UPLOAD_INTERVALS,
        can=can,
    )
    if can["view_farm"]:
        dashboard.freshness = farm_freshness(now)
    if can["view_uploadrun"] or can["view_syncrun"] or can["view_attempt"]:
        dashboard.activity = recent_activity(
            now, runs=can["view_uploadrun"], syncs=can["view_syncrun"], attempts=can["view_attempt"]
        )
    if can["view_wattcarbonaccount"] and (can["view_meter"] or can["view_asset"]):
        dashboard.sync_states = sync_state_counts(meters=can["view_meter"], assets=can["view_asset"])
    # When uploads and syncs run next: for whoever sees the integrations and accounts they belong to.
    if can["view_raptormapsintegration"] or can["view_wattcarbonaccount"] or can["view_schedule"]:
        dashboard.schedules = schedules_due(now)
    if can["view_importrecord"]:
        dashboard.imports = imports_in_progress()
    return dashboard
