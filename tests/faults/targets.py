"""What a fault case runs against: a Raptor Maps integration or a WattCarbon account with its
portfolio, pointed at the sandbox, run through the django-q2 task functions, and checked against
what the sandbox received."""

import builtins
import http.client
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import requests
import urllib3

from portfolio.models import BillReading, IntervalReading
from sandbox import raptormaps as rm_sandbox
from sandbox import wattcarbon as wc_sandbox
from tests.factories import AssetFactory, BillReadingFactory, DemandResponseEventFactory, MeterFactory
from tests.uploads.accounts import make_account
from tests.uploads.expectations import assert_values_match, expected_rows, received_rows
from tests.uploads.integrations import make_farm_with_readings, make_integration, make_portfolio
from uploads import tasks
from uploads.models import (
    Attempt,
    RaptorMapsIntegration,
    RunStatus,
    SyncRun,
    SyncStatus,
    UploadRun,
    UploadWatermark,
    WattCarbonAccount,
    WattCarbonAssetLink,
    WattCarbonMeterLink,
)
from uploads.secrets import Secret


def _exception_names(*modules):
    return {
        name
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }


# What a person must never be shown: markup, a raw JSON body, a traceback, the name of an
# exception class of Python or of the HTTP libraries (the service's own error codes are words).
EXCEPTION_NAMES = {
    name
    for name in _exception_names(builtins, requests.exceptions, urllib3.exceptions, http.client, json)
    if re.fullmatch(r"[A-Z]+[a-z0-9]+(?:[A-Z][a-z0-9]*)+", name)  # ConnectionError, not the word Timeout
}
UNREADABLE = re.compile(r"<[a-z!/]|[{}]|Traceback|\b(?:" + "|".join(sorted(EXCEPTION_NAMES)) + r")\b")
# The client's operation names where the sandbox's differ (one sandbox route serves both lookups).
SANDBOX_OPERATION = {"find_asset": "find_assets", "list_assets": "find_assets"}
RENEWED_API_TOKEN = "sandbox-api-token-renewed"


class Target:
    """One service's side of a case; subclasses say how to set up, run and check."""

    service = ""
    sandbox_name = ""

    def __init__(self, sandbox):
        self.sandbox = sandbox

    def attempts(self, run):
        return list(Attempt.objects.filter(**{self.attempt_field: run}).order_by("id"))

    def logged_calls(self):
        return [call for call in self.sandbox.state()["requests"] if call["service"] == self.sandbox_name]

    def secrets(self):
        return []


class RaptorMaps(Target):
    service = "Raptor Maps"
    sandbox_name = "raptormaps"
    attempt_field = "run"

    def __init__(self, sandbox, credentials="oauth"):
        super().__init__(sandbox)
        portfolio = make_portfolio("faults")
        self.farm = make_farm_with_readings(portfolio)
        login = (
            {"client_id": rm_sandbox.DEFAULT_CLIENT_ID, "client_secret": rm_sandbox.DEFAULT_CLIENT_SECRET}
            if credentials == "oauth"
            else {"api_token": rm_sandbox.DEFAULT_API_TOKEN}
        )
        self.integration = make_integration(
            portfolio=portfolio,
            base_url=sandbox.url,
            integration_id=rm_sandbox.DEFAULT_INTEGRATION_ID,
            org_id=rm_sandbox.DEFAULT_ORG_ID,
            **login,
        )

    def point_at(self, url):
        RaptorMapsIntegration.objects.filter(pk=self.integration.pk).update(base_url=url)

    def renew_api_token(self):
        """What a person does after the API token was revoked: a new one, in the sandbox and the integration."""
        self.sandbox.configure(raptormaps={"api_tokens": [RENEWED_API_TOKEN]})
        integration = RaptorMapsIntegration.objects.get(pk=self.integration.pk)
        integration.api_token = Secret(RENEWED_API_TOKEN)
        integration.save()

    def run(self):
        tasks.upload_raptormaps(self.integration.pk)
        return UploadRun.objects.filter(integration=self.integration).latest("id")

    def outcome(self, run):
        return {RunStatus.UPLOADED: "succeeded", RunStatus.FAILED: "failed", RunStatus.NOTHING: "nothing"}.get(
            run.status, run.status
        )

    def secrets(self):
        integration = RaptorMapsIntegration.objects.get(pk=self.integration.pk)
        values = [rm_sandbox.DEFAULT_CLIENT_SECRET]
        if integration.access_token:
            values.append(integration.access_token.reveal())
        return values

    def check_consistent(self, resent_files=0):
        """After any run: one file per uploaded run (``resent_files`` more when the storage's answer to
        a PUT was lost), and the watermark where the last finished run left it. Returns what it saw."""
        runs = UploadRun.objects.filter(integration=self.integration)
        uploaded = runs.filter(status=RunStatus.UPLOADED).count()
        uploads = self.sandbox.uploads()
        assert len(uploads) == uploaded + resent_files, "a file arrived that no uploaded run accounts for"
        assert len({upload["sha256"] for upload in uploads}) == uploaded, "a resent file differs from the first"
        assert all(upload["valid"] for upload in uploads)
        # Only a run that finished its work moves the watermark: to the end of its window.
        finished = runs.filter(status__in=(RunStatus.UPLOADED, RunStatus.NOTHING)).order_by("-id").first()
        watermarks = list(UploadWatermark.objects.filter(integration=self.integration))
        if finished is None:
            assert watermarks == [], "a watermark moved without a run that finished"
        else:
            [watermark] = watermarks
            assert watermark.ingested_through == finished.window_end
        files = f"{len(uploads)} file{'' if len(uploads) == 1 else 's'}"
        return f"{files}, watermark {'moved' if watermarks else 'not moved'}"

    def check_complete(self, resent_files=0):
        rows = received_rows(self.sandbox)
        first = rows[: len(rows) // (1 + resent_files)]
        assert rows == first * (1 + resent_files)  # a resent file holds the very same rows
        assert_values_match(first, expected_rows(self.farm))
        again = f" (and the same again: {resent_files} resent)" if resent_files else ""
        return f"1 file{again}: {len(first)} rows = readings, each once"


class WattCarbon(Target):
    service = "WattCarbon"
    sandbox_name = "wattcarbon"
    attempt_field = "sync_run"
    HOURS = 48
    BILLS = 3

    def __init__(self, sandbox):
        super().__init__(sandbox)
        # Two files of intervals: a fault on the second leaves the first one's watermark. One file at a
        # time: the table matches the attempts with the sandbox's log call by call, in order (files
        # sent at once are recorded as they end; tests/uploads/test_wattcarbon_uploads_at_once.py).
        self.account = make_account(
            base_url=sandbox.url, chunk_rows=self.HOURS // 2, upload_concurrency=1, portfolio=make_portfolio("wc")
        )
        portfolio = self.account.portfolio
        self.warehouse = MeterFactory(portfolio=portfolio, name="Warehouse")
        self.office = MeterFactory(portfolio=portfolio, name="Office")
        start = datetime(2025, 3, 1, tzinfo=UTC)
        IntervalReading.objects.bulk_create(
            IntervalReading(
                meter=self.warehouse,
                start=start + timedelta(hours=hour),
                end=start + timedelta(hours=hour + 1),
                quantity=hour + 0.5,
            )
            for hour in range(self.HOURS)
        )
        for _ in range(self.BILLS):
            BillReadingFactory(meter=self.office)
        storage = AssetFactory(portfolio=portfolio, custom_id="ST-1", name="Warehouse battery")
        storage.meters.add(self.warehouse)
        response = AssetFactory(portfolio=portfolio, demand_response=True, custom_id="DR-1", name="Office DR")
        response.meters.add(self.office)
        DemandResponseEventFactory.create_batch(2, asset=response)

    def point_at(self, url):
        WattCarbonAccount.objects.filter(pk=self.account.pk).update(base_url=url)

    def run(self):
        tasks.sync_wattcarbon(self.account.pk)
        return SyncRun.objects.filter(account=self.account).latest("id")

    def outcome(self, run):
        return {
            SyncStatus.SYNCED: "succeeded",
            SyncStatus.FAILED: "failed",
            SyncStatus.PARTIAL: "partial",
            SyncStatus.NOTHING: "nothing",
        }.get(run.status, run.status)

    def secrets(self):
        account = WattCarbonAccount.objects.get(pk=self.account.pk)
        values = [wc_sandbox.DEFAULT_API_KEY]
        if account.access_token:
            values.append(account.access_token.reveal())
        return values

    def check_consistent(self, orphan_meters=0):
        """After any sync: every remote id names what was created, nothing was created twice or left
        unlinked (but ``orphan_meters``, meters whose create lost its answer: WattCarbon cannot look
        meters up), and no watermark claims rows WattCarbon does not have. Returns what it saw."""
        state = self.sandbox.wattcarbon()
        meter_links = {link.meter_id: link for link in WattCarbonMeterLink.objects.filter(account=self.account)}
        remote_meters = {meter["id"]: meter["name"] for meter in state["meters"]}
        linked = {link.remote_id: link.meter.name for link in meter_links.values() if link.remote_id is not None}
        assert linked.items() <= remote_meters.items(), "a meter id kept here that names nothing there"
        assert len(remote_meters) - len(linked) == orphan_meters, "a meter on WattCarbon without its id kept here"
        under_watermark = 0
        for meter, model, received, through in (
            (self.warehouse, IntervalReading, self.sandbox.wattcarbon_intervals, "intervals"),
            (self.office, BillReading, self.sandbox.wattcarbon_bills, "bills"),
        ):
            link = meter_links.get(meter.pk)
            if link is None or link.remote_id is None:
                continue
            rows = list(model.objects.filter(meter=meter).order_by("ingested_at", "id"))
            through_id = getattr(link, f"{through}_through_id")
            sent = rows[: [row.pk for row in rows].index(through_id) + 1] if through_id else []
            arrived = {_start(row) for row in received(link.remote_id)}
            assert {_start(row) for row in sent} <= arrived, f"the {through} watermark is past what arrived"
            if model is IntervalReading:
                under_watermark = len(sent)
        counts = Counter(asset["customId"] for asset in state["assets"])
        assert all(count == 1 for count in counts.values()), f"an asset created twice: {counts}"
        asset_links = WattCarbonAssetLink.objects.filter(account=self.account).select_related("asset")
        linked_assets = {link.asset.custom_id: link.remote_id for link in asset_links if link.remote_id}
        remote_assets = {asset["customId"]: str(asset["id"]) for asset in state["assets"]}
        assert remote_assets == linked_assets, "an asset on WattCarbon without its id kept here, or an id of nothing"
        for asset in state["assets"]:
            assert len(asset["documents"]) <= 1, "the events document was sent twice"
        return (
            f"ids kept: {len(linked)}/2 meters, {len(linked_assets)}/2 assets; "
            f"watermark under {under_watermark}/{self.HOURS} intervals"
        )

    def check_complete(self, orphan_meters=0):
        state = self.sandbox.wattcarbon()
        names = sorted(meter["name"] for meter in state["meters"])
        assert sorted(set(names)) == ["Office", "Warehouse"] and len(names) == 2 + orphan_meters
        assert sorted(asset["customId"] for asset in state["assets"]) == ["DR-1", "ST-1"]
        links = {link.meter_id: link for link in WattCarbonMeterLink.objects.filter(account=self.account)}
        intervals = self.sandbox.wattcarbon_intervals(links[self.warehouse.pk].remote_id)
        assert [row["energy_kwh"] for row in intervals] == [hour + 0.5 for hour in range(self.HOURS)]
        assert len(self.sandbox.wattcarbon_bills(links[self.office.pk].remote_id)) == self.BILLS
        [document] = next(asset for asset in state["assets"] if asset["customId"] == "DR-1")["documents"]
        assert len(document["events"]) == 2
        errors = [link.error for link in WattCarbonMeterLink.objects.filter(account=self.account) if link.error]
        errors += [link.error for link in WattCarbonAssetLink.objects.filter(account=self.account) if link.error]
        assert errors == []
        orphans = f" (+{orphan_meters} unlinked twin)" if orphan_meters else ""
        return f"2 meters{orphans}, 2 assets, {len(intervals)} intervals, {self.BILLS} bills, 1 events file: each once"


def _start(row):
    """What a row is keyed by at WattCarbon: an interval's start, a bill's first day."""
    if isinstance(row, dict):
        return row.get("start_datetime") or row["start_date"]
    if isinstance(row, IntervalReading):
        return row.start.astimezone(UTC).isoformat()
    return row.start_date.isoformat()
