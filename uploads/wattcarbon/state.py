"""Where each meter and asset stands with each WattCarbon account: missing there, error, not synced,
changed, synced.

For the admin's column, filter and detail. A handful of queries for any number of objects: the
links, which of them have readings waiting (one index seek each, in one statement per series),
and the payloads built as the sync builds them, so "changed since sync" means exactly "the next
sync would send something".
"""

from collections import defaultdict
from dataclasses import dataclass

from portfolio.choices import KINDS_WITH_EVENTS
from uploads.models import SyncState, WattCarbonAccount, WattCarbonAssetLink, WattCarbonMeterLink
from uploads.wattcarbon import payloads
from uploads.wattcarbon.readings import SERIES

__all__ = ["ObjectState", "asset_states", "meter_states", "overall"]

# Worst first: an object shows the worst of its states across accounts.
SEVERITY = (SyncState.MISSING, SyncState.ERROR, SyncState.NOT_SYNCED, SyncState.CHANGED, SyncState.SYNCED)


@dataclass(frozen=True)
class ObjectState:
    account: WattCarbonAccount
    state: SyncState
    link: object = None  # the WattCarbonMeterLink / WattCarbonAssetLink, None before the first sync
    detail: str = ""

    @property
    def remote_id(self):
        return getattr(self.link, "remote_id", None) or None


def overall(states):
    """The worst state of an object's states, None when no account covers it."""
    if not states:
        return None
    return min((item.state for item in states), key=SEVERITY.index)


def _accounts_by_portfolio(objects):
    accounts = defaultdict(list)
    portfolios = {obj.portfolio_id for obj in objects}
    for account in WattCarbonAccount.objects.filter(portfolio_id__in=portfolios).order_by("name"):
        accounts[account.portfolio_id].append(account)
    return accounts


def meter_states(meters):
    """meter pk → [ObjectState per account of its portfolio]."""
    meters = list(meters)
    accounts = _accounts_by_portfolio(meters)
    pks = [meter.pk for meter in meters]
    links = {(link.account_id, link.meter_id): link for link in WattCarbonMeterLink.objects.filter(meter_id__in=pks)}
    # Readings ingested after a link's watermark (no horizon here: anything stored is "changed").
    linked = WattCarbonMeterLink.objects.filter(meter_id__in=pks, remote_id__isnull=False)
    waiting = {series.name: series.links_waiting(linked) for series in SERIES}
    result = {}
    for meter in meters:
        states = []
        for account in accounts.get(meter.portfolio_id, []):
            link = links.get((account.pk, meter.pk))
            if link is not None and link.missing_at is not None:
                states.append(ObjectState(account, SyncState.MISSING, link, link.error))
            elif link is not None and link.error:
                states.append(ObjectState(account, SyncState.ERROR, link, link.error))
            elif link is None or link.remote_id is None:
                states.append(ObjectState(account, SyncState.NOT_SYNCED, link))
            else:
                kinds = [name for name, pks in waiting.items() if link.pk in pks]
                if kinds:
                    detail = " and ".join(kinds) + " readings waiting to be sent"
                    states.append(ObjectState(account, SyncState.CHANGED, link, detail))
                else:
                    states.append(ObjectState(account, SyncState.SYNCED, link))
        result[meter.pk] = states
    return result


def asset_states(assets):
    """asset pk → [ObjectState per account of its portfolio]. Assets need ``meters`` and ``events`` prefetched."""
    assets = list(assets)
    accounts = _accounts_by_portfolio(assets)
    links = {
        (link.account_id, link.asset_id): link
        for link in WattCarbonAssetLink.objects.filter(asset_id__in=[asset.pk for asset in assets])
    }
    meter_pks = {meter.pk for asset in assets for meter in asset.meters.all()}
    meter_ids = {}
    missing = set()
    for account_id, meter_id, remote_id, missing_at in WattCarbonMeterLink.objects.filter(
        meter_id__in=meter_pks
    ).values_list("account_id", "meter_id", "remote_id", "missing_at"):
        meter_ids[account_id, meter_id] = None if missing_at is not None else remote_id
        if missing_at is not None:
            missing.add((account_id, meter_id))
    result = {}
    for asset in assets:
        states = []
        for account in accounts.get(asset.portfolio_id, []):
            link = links.get((account.pk, asset.pk))
            states.append(_asset_state(account, asset, link, meter_ids, missing))
        result[asset.pk] = states
    return result


def _asset_state(account, asset, link, meter_ids, missing):
    if link is not None and link.missing_at is not None:
        return ObjectState(account, SyncState.MISSING, link, link.error)
    if link is not None and link.error:
        return ObjectState(account, SyncState.ERROR, link, link.error)
    if link is None or not link.remote_id:
        return ObjectState(account, SyncState.NOT_SYNCED, link)
    remote_meters = {meter: meter_ids.get((account.pk, meter.pk)) for meter in asset.meters.all()}
    gone = {meter for meter in asset.meters.all() if (account.pk, meter.pk) in missing}
    problems = payloads.asset_problems(asset, remote_meters, gone)
    if problems:
        return ObjectState(account, SyncState.CHANGED, link, "Cannot be sent as it is: " + " ".join(problems))
    payload = payloads.asset_payload(asset, remote_meters)
    if payloads.fingerprint(payload) != link.fingerprint:
        changed = ", ".join(sorted(payloads.changed_fields(link.payload, payload)))
        return ObjectState(account, SyncState.CHANGED, link, f"changed: {changed}")
    if asset.kind in KINDS_WITH_EVENTS and payloads.pending_events(asset, link.events_fingerprint):
        return ObjectState(account, SyncState.CHANGED, link, "demand-response events changed")
    return ObjectState(account, SyncState.SYNCED, link)
