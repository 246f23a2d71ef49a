"""Faults on WattCarbon calls (every server mode, reset_after, expire_token), the request log, the state."""

import time

import pytest
import requests

from sandbox.wattcarbon import DEFAULT_ACCOUNT_ID, DEFAULT_API_KEY, DEFAULT_EMAIL
from tests.fixtures.sandbox import BEARER, WATTCARBON_AGENT, wattcarbon_asset, wattcarbon_meter_body

WC = "wattcarbon"
LOGIN = {"grant_type": "password", "username": DEFAULT_EMAIL, "password": DEFAULT_API_KEY}
EVENTS = b"Event Start Time,Event End Time\r\n2021-01-01 17:00:00-05:00,2021-01-01 20:00:00-05:00\r\n"
INTERVALS = b"start_datetime,energy_kwh\r\n2024-01-01T00:00:00+00:00,1.5\r\n2024-01-01T01:00:00+00:00,2.5\r\n"


def test_reset_after_creates_the_asset_then_resets_the_connection(wattcarbon, sandbox):
    meter_id = wattcarbon.create_meter()
    sandbox.fault("create_asset", mode="reset_after", service=WC)
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        wattcarbon.post("/assets", json=wattcarbon_asset("solar", [meter_id], customId="SP123"))
    assert "reset" in str(caught.value).lower()
    # The client does not know; the asset is there, found by its customId.
    [found] = wattcarbon.get("/assets", params={"customId": "SP123"}).json()
    assert (found["id"], found["kind"], found["meterIds"]) == (5001, "solar", [meter_id])
    assert [asset["customId"] for asset in sandbox.wattcarbon()["assets"]] == ["SP123"]
    # Creating it again is the duplicate the contract warns of.
    again = wattcarbon.post("/assets", json=wattcarbon_asset("solar", [meter_id], customId="SP123"))
    assert again.status_code == 409
    [call] = sandbox.calls("create_asset", service=WC)[:1]
    assert (call["status"], call["fault"], call["note"]) == (
        None,
        "reset_after",
        "the work was done (answer 201 not sent), then the connection was reset",
    )


def test_reset_after_an_upload_stores_the_rows(wattcarbon, sandbox):
    meter_id = wattcarbon.create_meter()
    sandbox.fault("upload_intervals", mode="reset_after", service=WC)
    with pytest.raises(requests.exceptions.ConnectionError):
        wattcarbon.upload(f"/meters/{meter_id}/intervals", INTERVALS)
    assert len(sandbox.wattcarbon_intervals(meter_id)) == 2
    assert [upload["inserted"] for upload in sandbox.wattcarbon()["uploads"]] == [2]
    resent = wattcarbon.upload(f"/meters/{meter_id}/intervals", INTERVALS)
    assert resent.json() == {"meterId": meter_id, "received": 2, "inserted": 0, "updated": 2}


def test_reset_after_works_for_raptor_maps_calls_too(sandbox):
    sandbox.fault("org_integrations", mode="reset_after")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(sandbox.url + "/insights/api/v1/integrations/org_integrations", headers=BEARER, timeout=10)
    [call] = sandbox.calls("org_integrations")
    assert (call["status"], call["fault"]) == (None, "reset_after")
    assert call["note"] == "the work was done (answer 200 not sent), then the connection was reset"


def test_status_answers_in_fastapis_shape_with_retry_after(wattcarbon, sandbox):
    sandbox.fault("create_meter", service=WC, status=429, retry_after=3)
    response = wattcarbon.post("/meters", json=wattcarbon_meter_body())
    assert (response.status_code, response.json()) == (429, {"detail": "injected by the sandbox (fault)"})
    assert response.headers["Retry-After"] == "3"
    assert sandbox.wattcarbon()["meters"] == []
    assert wattcarbon.post("/meters", json=wattcarbon_meter_body()).json()["id"] == 1001


def test_status_on_the_token(sandbox):
    sandbox.fault("token", service=WC, status=503)
    response = requests.post(
        sandbox.url + "/auth/token", data=LOGIN, headers={"User-Agent": WATTCARBON_AGENT}, timeout=10
    )
    assert (response.status_code, response.json()) == (503, {"detail": "injected by the sandbox (fault)"})
    assert sandbox.wattcarbon()["tokens_issued"] == 0


def test_reset_on_create_meter_creates_nothing(wattcarbon, sandbox):
    sandbox.fault("create_meter", mode="reset", service=WC)
    with pytest.raises(requests.exceptions.ConnectionError):
        wattcarbon.post("/meters", json=wattcarbon_meter_body())
    assert sandbox.wattcarbon()["meters"] == []
    assert [(call["status"], call["fault"]) for call in sandbox.calls("create_meter", service=WC)] == [(None, "reset")]


def test_timeout_on_an_upload_reads_it_and_answers_nothing(wattcarbon, sandbox):
    meter_id = wattcarbon.create_meter()
    sandbox.fault("upload_bills", mode="timeout", service=WC, seconds=2)
    with pytest.raises(requests.exceptions.ReadTimeout):
        wattcarbon.upload(f"/meters/{meter_id}/bills", b"start_date,end_date,energy_kwh\r\n", timeout=0.3)
    assert sandbox.wattcarbon_bills(meter_id) == []


def test_delay_answers_normally_after_waiting(wattcarbon, sandbox):
    sandbox.fault("find_assets", mode="delay", service=WC, seconds=0.3)
    started = time.monotonic()
    assert wattcarbon.get("/assets").json() == []
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"service": WC, "operation": "token", "mode": "expire_token"},
            "mode 'expire_token' does not apply to wattcarbon token",
        ),
        (
            {"service": "raptormaps", "operation": "put", "mode": "expire_token"},
            "mode 'expire_token' does not apply to raptormaps put",
        ),
        (
            {"service": WC, "operation": "create_asset", "mode": "expired"},
            "mode 'expired' does not apply to wattcarbon",
        ),
        (
            {"service": WC, "operation": "put"},
            "operation must be one of: token, create_meter, get_meter, upload_intervals",
        ),
    ],
)
def test_faults_that_do_not_apply_are_refused(sandbox, spec, message):
    response = requests.post(sandbox.url + "/_sandbox/faults", json=spec, timeout=10)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


def test_write_calls_are_the_posts_and_patches_tokens_apart(wattcarbon, sandbox):
    meter_id = wattcarbon.create_meter()
    wattcarbon.get(f"/meters/{meter_id}")
    asset = wattcarbon.create_asset("demand_response_eemetered", meter_ids=[meter_id])
    wattcarbon.get("/assets", params={"customId": "x"})
    wattcarbon.patch(f"/assets/{asset['id']}", json={"name": ""})  # refused, but a write attempt all the same
    wattcarbon.upload(f"/assets/{asset['id']}/documents", EVENTS, type="demand_response_events")
    assert [(call["operation"], call["method"], call["status"]) for call in sandbox.write_calls()] == [
        ("create_meter", "POST", 201),
        ("create_asset", "POST", 201),
        ("update_asset", "PATCH", 422),
        ("upload_document", "POST", 201),
    ]
    assert [call["operation"] for call in sandbox.calls(service=WC)] == [
        "token",
        "create_meter",
        "get_meter",
        "create_asset",
        "find_assets",
        "update_asset",
        "upload_document",
    ]
    assert all(call["path"].startswith(f"/accounts/{DEFAULT_ACCOUNT_ID}/") for call in sandbox.write_calls())
    assert sandbox.write_calls(service="raptormaps") == []


def test_the_state_shows_what_wattcarbon_holds(wattcarbon, sandbox):
    meter_id = wattcarbon.create_meter(name="Warehouse", location={"latitude": 41.6, "longitude": -91.5})
    wattcarbon.upload(f"/meters/{meter_id}/intervals", INTERVALS)
    wattcarbon.upload(f"/meters/{meter_id}/bills", b"start_date,end_date,energy_kwh\r\n2024-01-01,2024-02-01,30\r\n")
    asset = wattcarbon.create_asset("demand_response_eemetered", meter_ids=[meter_id], customId="DR-1", utility="MEC")
    wattcarbon.upload(f"/assets/{asset['id']}/documents", EVENTS, type="demand_response_events")
    state = sandbox.wattcarbon()
    for upload in state["uploads"]:
        assert upload.pop("time").endswith("Z")
    [document] = state["assets"][0]["documents"]
    assert document.pop("received_at").endswith("Z")
    assert {key: value for key, value in state.items() if key != "config"} == {
        "accounts": [{"email": DEFAULT_EMAIL, "account_id": DEFAULT_ACCOUNT_ID}],
        "tokens_issued": 1,
        "meters": [
            {
                "id": meter_id,
                "accountId": DEFAULT_ACCOUNT_ID,
                "name": "Warehouse",
                "apiProvider": "manual",
                "meterType": "electricity",
                "location": {"latitude": 41.6, "longitude": -91.5},
                "intervals": 2,
                "intervalKwh": 4.0,
                "firstIntervalStart": "2024-01-01T00:00:00+00:00",
                "lastIntervalStart": "2024-01-01T01:00:00+00:00",
                "bills": 1,
                "billKwh": 30.0,
                "firstBillStart": "2024-01-01",
                "lastBillStart": "2024-01-01",
            }
        ],
        "assets": [
            {
                "id": 5001,
                "accountId": DEFAULT_ACCOUNT_ID,
                "name": "My asset",
                "customId": "DR-1",
                "location": "60 Greene St Riverside IA",
                "utility": "MEC",
                "meterIds": [meter_id],
                "commencedOperationDate": None,
                "kind": "demand_response_eemetered",
                "documents": [
                    {
                        "id": 9001,
                        "type": "demand_response_events",
                        "events": [["2021-01-01 17:00:00-05:00", "2021-01-01 20:00:00-05:00"]],
                    }
                ],
            }
        ],
        "uploads": [
            {"meterId": meter_id, "kind": "intervals", "received": 2, "inserted": 2, "updated": 0},
            {"meterId": meter_id, "kind": "bills", "received": 1, "inserted": 1, "updated": 0},
        ],
    }


def test_a_reset_forgets_wattcarbon_settings_tokens_and_faults(wattcarbon, sandbox):
    sandbox.configure(wattcarbon={"token_ttl": 5}, require_user_agent=False)
    sandbox.fault("create_asset", mode="reset_after", service=WC)
    wattcarbon.create_meter()
    sandbox.reset()
    state = sandbox.state()
    assert state["wattcarbon"]["config"]["token_ttl"] == 86400
    assert state["wattcarbon"]["config"]["require_user_agent"] is True
    assert (state["wattcarbon"]["tokens_issued"], state["wattcarbon"]["meters"], state["faults"]) == (0, [], [])
    assert wattcarbon.get("/assets").status_code == 401
