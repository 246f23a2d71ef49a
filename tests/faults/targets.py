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
from uploads.sandbox import raptormaps as rm_sandbox
from uploads.sandbox import wattcarbon as wc_sandbox
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

    def check_consistent(self):
        """After any run: one file per uploaded run, and the watermark where the last uploaded run left it."""
        runs = UploadRun.objects.filter(integration=self.integration)
        uploaded = runs.filter(status=RunStatus.UPLOADED).count()
        uploads = self.sandbox.uploads()
        assert len(uploads) == uploaded, "a file arrived that no uploaded run accounts for (a duplicate)"
        assert all(upload["valid"] for upload in uploads)
        # Only a run that finished its work moves the watermark: to the end of its window.
        finished = runs.filter(status__in=(RunStatus.UPLOADED, RunStatus.NOTHING)).order_by("-id").first()
        watermarks = list(UploadWatermark.objects.filter(integration=self.integration))
        if finished is None:
            assert watermarks == [], "a watermark moved without a run that finished"
        else:
            [watermark] = watermarks
            assert watermark.ingested_through == finished.window_end

    def check_complete(self):
        rows = received_rows(self.sandbox)
        assert_values_match(rows, expected_rows(self.farm))
        assert len(self.sandbox.uploads()) == 1
        return f"1 file, {len(rows)} rows each once = readings; watermark moved once"


class WattCarbon(Target):
    service = "WattCarbon"
    sandbox_name = "wattcarbon"
    attempt_field = "sync_run"
    HOURS = 48
    BILLS = 3

    def __init__(self, sandbox):
        super().__init__(sandbox)
        # Two files of intervals: a fault on the second leaves the first one's watermark.
        self.account = make_account(base_url=sandbox.url, chunk_rows=self.HOURS // 2, portfolio=make_portfolio("wc"))
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

    def check_consistent(self):
        """After any sync: every remote id names what was created, nothing was created twice or left
        unlinked, and no watermark claims rows WattCarbon does not have."""
        state = self.sandbox.wattcarbon()
        meter_links = {link.meter_id: link for link in WattCarbonMeterLink.objects.filter(account=self.account)}
        remote_meters = {meter["id"]: meter["name"] for meter in state["meters"]}
        linked = {link.remote_id: link.meter.name for link in meter_links.values() if link.remote_id is not None}
        assert remote_meters == linked, "a meter on WattCarbon without its id kept here, or an id of nothing"
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
            assert len(received(link.remote_id)) >= len(sent), f"the {through} watermark is past what arrived"
        counts = Counter(asset["customId"] for asset in state["assets"])
        assert all(count == 1 for count in counts.values()), f"an asset created twice: {counts}"
        asset_links = WattCarbonAssetLink.objects.filter(account=self.account).select_related("asset")
        linked_assets = {link.asset.custom_id: link.remote_id for link in asset_links if link.remote_id}
        remote_assets = {asset["customId"]: str(asset["id"]) for asset in state["assets"]}
        assert remote_assets == linked_assets, "an asset on WattCarbon without its id kept here, or an id of nothing"
        for asset in state["assets"]:
            assert len(asset["documents"]) <= 1, "the events document was sent twice"

    def check_complete(self):
        state = self.sandbox.wattcarbon()
        assert sorted(meter["name"] for meter in state["meters"]) == ["Office", "Warehouse"]
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
        return (
            f"2 meters, {len(intervals)} intervals, {self.BILLS} bills, 2 assets by customId, 1 events file: each once"
        )
