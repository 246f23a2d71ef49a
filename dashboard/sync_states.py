"""How many meters and assets stand in each WattCarbon sync state, worst first.

An object covered by several accounts counts once under each state it has with any of them:
exactly what the meter and asset lists' "WattCarbon sync" filter shows for that state, so a count
and the list it links to agree. The states are uploads/wattcarbon/state.py's, computed for all the
objects at once (a fixed number of queries).
"""

from dataclasses import dataclass

from django.urls import reverse

from portfolio.models import Asset, Meter
from uploads.admin.wattcarbon_accounts import SYNC_STATE_PARAMETER
from uploads.models import SyncState, WattCarbonAccount
from uploads.wattcarbon.state import SEVERITY, asset_states, meter_states

__all__ = ["StateCount", "SyncStates", "sync_state_counts"]

NEEDS_A_PERSON = (SyncState.MISSING, SyncState.ERROR)


@dataclass
class StateCount:
    value: str
    label: str
    count: int
    bad: bool
    url: str  # the list filtered to this state


@dataclass
class SyncStates:
    noun: str  # "meters", "assets"
    counts: list  # [StateCount], worst first, states with no object left out
    uncovered: int  # objects of portfolios no account covers


def sync_state_counts(meters=True, assets=True):
    """[SyncStates] for meters and assets (those asked for), or [] when there is no WattCarbon account."""
    covered = list(WattCarbonAccount.objects.values_list("portfolio_id", flat=True).distinct())
    if not covered:
        return []
    found = []
    if meters:
        objects = Meter.objects.filter(portfolio_id__in=covered)
        found.append(_counts("meters", "meter", meter_states(objects), Meter, covered))
    if assets:
        objects = Asset.objects.filter(portfolio_id__in=covered).prefetch_related("meters", "events")
        found.append(_counts("assets", "asset", asset_states(objects), Asset, covered))
    return found


def _counts(noun, model_name, states, model, covered):
    tally = dict.fromkeys(SEVERITY, 0)
    for items in states.values():
        for state in {item.state for item in items}:
            tally[state] += 1
    changelist = reverse(f"admin:portfolio_{model_name}_changelist")
    counts = [
        StateCount(
            state,
            SyncState(state).label,
            tally[state],
            state in NEEDS_A_PERSON,
            f"{changelist}?{SYNC_STATE_PARAMETER}={state}",
        )
        for state in SEVERITY
        if tally[state]
    ]
    uncovered = model.objects.exclude(portfolio_id__in=covered).count()
    return SyncStates(noun=noun, counts=counts, uncovered=uncovered)
