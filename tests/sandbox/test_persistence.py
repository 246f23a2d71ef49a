"""The sandbox keeps what clients created across restarts, under the same ids; a reset clears it.

Restarting `make run` must not leave the project holding remote ids (meters, assets, uploads)
that no longer exist. Tokens and signed URLs are not kept: clients ask for new ones.
"""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sandbox.control import SandboxControl
from sandbox.server import start_sandbox
from tests.fixtures.sandbox import (
    BEARER,
    WattCarbonClient,
    contract_csv,
    contract_row,
    put_csv,
    signed_url,
    wattcarbon_asset,
)

PROJECT = Path(__file__).resolve().parents[2]
GOOD = contract_csv([contract_row(observation_time=f"2024-06-01 00:{minute:02d}:00") for minute in (0, 15)])
INTERVALS = b"start_datetime,energy_kwh\n2024-01-01T00:00:00Z,1.5\n2024-01-01T01:00:00Z,2.5\n"
EVENTS = b"Event Start Time,Event End Time\r\n2021-01-01 17:00:00-05:00,2021-01-01 20:00:00-05:00\r\n"


def fill(url):
    """Create what a client would: a WattCarbon meter with intervals, a DR asset with a document,
    and a Raptor Maps upload. Returns (meter id, asset id, upload key, the WattCarbon token)."""
    client = WattCarbonClient(url)
    try:
        meter_id = client.create_meter()
        assert client.upload(f"/meters/{meter_id}/intervals", INTERVALS).status_code == 200
        asset = client.create_asset("demand_response_eemetered", meter_ids=[meter_id], customId="dr-1")
        response = client.upload(f"/assets/{asset['id']}/documents", EVENTS, type="demand_response_events")
        assert response.status_code == 201, response.text
    finally:
        client.close()
    assert put_csv(signed_url(url), GOOD).status_code == 200
    [upload] = SandboxControl(url).uploads()
    return meter_id, asset["id"], upload["key"], client.token


def kept_state(control):
    state = control.state()
    return {
        "uploads": state["raptormaps"]["uploads"],
        "meters": state["wattcarbon"]["meters"],
        "assets": state["wattcarbon"]["assets"],
        "wattcarbon_uploads": state["wattcarbon"]["uploads"],
    }


def test_a_restart_on_the_same_data_directory_finds_every_object_under_its_id(tmp_path):
    with start_sandbox(data_dir=tmp_path) as first:
        meter_id, asset_id, key, old_token = fill(first.url)
        old_url = signed_url(first.url)
        before = kept_state(SandboxControl(first.url))
        intervals = SandboxControl(first.url).wattcarbon_intervals(meter_id)

    with start_sandbox(data_dir=tmp_path) as second:
        control = SandboxControl(second.url)
        assert kept_state(control) == before
        assert control.upload_content(key) == GOOD
        assert control.wattcarbon_intervals(meter_id) == intervals
        assert second.sandbox.kept() == "Raptor Maps 1 upload(s); WattCarbon 1 meter(s), 1 asset(s)"

        # Tokens are not kept: the old one is refused, a new one reads the same meter and asset.
        stale = requests.get(
            f"{second.url}/accounts/sandbox-account/meters/{meter_id}",
            headers={"User-Agent": "tests/1", "Authorization": f"Bearer {old_token}"},
            timeout=10,
        )
        assert stale.status_code == 401
        client = WattCarbonClient(second.url)
        try:
            assert client.get(f"/meters/{meter_id}").json()["id"] == meter_id
            assert client.get("/assets", params={"customId": "dr-1"}).json()[0]["id"] == asset_id
            # The id counters go on where they were: no id is handed out twice.
            assert client.create_meter() == meter_id + 1
            assert client.create_asset("storage_direct", meter_ids=[meter_id])["id"] == asset_id + 1
            # A customId is still taken.
            response = client.post("/assets", json=wattcarbon_asset(meter_ids=[meter_id], customId="dr-1"))
            assert response.status_code == 409
        finally:
            client.close()

        # Signed URLs are not kept: one signed before the restart no longer matches; a new one works.
        refused = put_csv(old_url.replace(first.url, second.url), GOOD)
        assert (refused.status_code, b"SignatureDoesNotMatch" in refused.content) == (403, True)
        assert put_csv(signed_url(second.url), GOOD).status_code == 200
        assert len(control.uploads()) == 2


def test_a_reset_clears_what_was_kept_for_good(tmp_path):
    with start_sandbox(data_dir=tmp_path) as first:
        meter_id, _, key, _ = fill(first.url)
        SandboxControl(first.url).reset()
        empty = kept_state(SandboxControl(first.url))
        assert empty == {"uploads": [], "meters": [], "assets": [], "wattcarbon_uploads": []}
    assert not (tmp_path / "raptormaps-uploads" / key).exists()

    with start_sandbox(data_dir=tmp_path) as second:
        control = SandboxControl(second.url)
        assert kept_state(control) == empty
        assert second.sandbox.kept() == ""
        client = WattCarbonClient(second.url)
        try:
            assert client.create_meter() == meter_id  # the counters start again too
        finally:
            client.close()


def test_starting_with_reset_forgets_the_data_directory(tmp_path):
    with start_sandbox(data_dir=tmp_path) as first:
        fill(first.url)
    with start_sandbox(data_dir=tmp_path, reset=True) as second:
        assert kept_state(SandboxControl(second.url)) == {
            "uploads": [],
            "meters": [],
            "assets": [],
            "wattcarbon_uploads": [],
        }


def test_settings_changed_through_the_control_api_are_not_kept(tmp_path):
    with start_sandbox(data_dir=tmp_path) as first:
        SandboxControl(first.url).configure(raptormaps={"token_ttl": 5})
    with start_sandbox(data_dir=tmp_path) as second:
        assert SandboxControl(second.url).state()["raptormaps"]["config"]["token_ttl"] == 3600


def serve(data_dir, *options):
    """``manage.py sandbox`` on a free port; returns (process, its URL, the lines before the logins)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sandbox", "--port", "0", "--data-dir", str(data_dir), *options],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline()
    url = re.search(r"http://127\.0\.0\.1:[0-9]+", first).group()
    second = process.stdout.readline()
    return process, url, second


def stop(process):
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err


@pytest.mark.slow
def test_the_command_keeps_its_state_across_a_restart_and_reset_clears_it(tmp_path):
    process, url, _ = serve(tmp_path)
    try:
        meter_id, asset_id, _, _ = fill(url)
    finally:
        stop(process)

    process, url, kept = serve(tmp_path)
    try:
        assert kept == (
            "  Kept from before: Raptor Maps 1 upload(s); WattCarbon 1 meter(s), 1 asset(s). "
            "POST /_sandbox/reset (or --reset) clears it.\n"
        )
        state = SandboxControl(url).state()
        assert [meter["id"] for meter in state["wattcarbon"]["meters"]] == [meter_id]
        assert [asset["id"] for asset in state["wattcarbon"]["assets"]] == [asset_id]
        assert len(state["raptormaps"]["uploads"]) == 1
        assert requests.get(url + "/insights/api/v1/integrations/org_integrations", headers=BEARER, timeout=5).ok
    finally:
        stop(process)

    process, url, line = serve(tmp_path, "--reset")
    try:
        assert "Kept from before" not in line
        state = SandboxControl(url).state()
        assert (state["wattcarbon"]["meters"], state["raptormaps"]["uploads"]) == ([], [])
    finally:
        stop(process)
