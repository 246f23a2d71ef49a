"""WattCarbon's state stays right when many clients call at once."""

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.fixtures.sandbox import WattCarbonClient, wattcarbon_asset

WORKERS = 12


def all_at_once(sandbox, call):
    """Run ``call(client, n)`` in WORKERS threads, each with its own logged-in client, started together."""
    ready = threading.Barrier(WORKERS)

    def worker(number):
        client = WattCarbonClient(sandbox.url)
        try:
            ready.wait()
            return call(client, number)
        finally:
            client.close()

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(worker, range(WORKERS)))


def test_racing_creates_of_one_custom_id_make_one_asset(sandbox, wattcarbon):
    meter_id = wattcarbon.create_meter()
    statuses = all_at_once(
        sandbox,
        lambda client, number: (
            client.post(
                "/assets", json=wattcarbon_asset(meter_ids=[meter_id], customId="SITE-1", name=f"Try {number}")
            ).status_code
        ),
    )
    assert sorted(statuses) == [201] + [409] * (WORKERS - 1)
    [asset] = sandbox.wattcarbon()["assets"]
    assert (asset["id"], asset["customId"]) == (5001, "SITE-1")


def test_concurrent_meters_and_uploads_each_land_once(sandbox):
    def create_and_upload(client, number):
        meter_id = client.create_meter(name=f"Meter {number}")
        rows = "".join(f"2024-01-01T{hour:02}:00:00+00:00,{number}.{hour}\r\n" for hour in range(24))
        response = client.upload(f"/meters/{meter_id}/intervals", ("start_datetime,energy_kwh\r\n" + rows).encode())
        return meter_id, response.json()

    results = all_at_once(sandbox, create_and_upload)
    assert sorted(meter_id for meter_id, _ in results) == list(range(1001, 1001 + WORKERS))
    assert {(body["received"], body["inserted"], body["updated"]) for _, body in results} == {(24, 24, 0)}
    state = sandbox.wattcarbon()
    assert {meter["name"]: meter["intervals"] for meter in state["meters"]} == {
        f"Meter {number}": 24 for number in range(WORKERS)
    }
    assert len(state["uploads"]) == WORKERS
    for meter in state["meters"]:
        number = int(meter["name"].split()[1])
        assert [row["energy_kwh"] for row in sandbox.wattcarbon_intervals(meter["id"])] == [
            float(f"{number}.{hour}") for hour in range(24)
        ]
    assert state["tokens_issued"] == WORKERS
