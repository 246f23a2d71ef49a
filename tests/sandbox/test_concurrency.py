"""The sandbox's state stays right when many clients upload at once."""

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import requests

from sandbox.raptormaps import AUDIENCE, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.fixtures.sandbox import contract_csv, contract_row, put_csv, signed_url

WORKERS = 16
CREDENTIALS = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, "audience": AUDIENCE}


def farm_file(number, rows=500):
    start = datetime(2024, 1, 1)
    return contract_csv(
        contract_row(
            farm_id=f"F-{number}",
            observation_time=f"{start + timedelta(minutes=15 * n):%Y-%m-%d %H:%M:%S}",
            measured_value=str(number * 1000 + n),
        )
        for n in range(rows)
    )


def test_concurrent_uploads_are_each_recorded_once_and_whole(sandbox):
    files = [farm_file(number) for number in range(WORKERS)]
    all_ready = threading.Barrier(WORKERS)

    def upload(body):
        token = requests.post(sandbox.url + "/oauth/token", json=CREDENTIALS, timeout=10).json()["access_token"]
        url = signed_url(sandbox.url, headers={"Authorization": f"Bearer {token}"})
        all_ready.wait()  # every PUT starts at once
        return put_csv(url, body).status_code

    with ThreadPoolExecutor(WORKERS) as pool:
        statuses = list(pool.map(upload, files))

    assert statuses == [200] * WORKERS
    state = sandbox.state()
    uploads = state["raptormaps"]["uploads"]
    assert sorted(upload["sha256"] for upload in uploads) == sorted(hashlib.sha256(body).hexdigest() for body in files)
    assert len({upload["key"] for upload in uploads}) == WORKERS
    assert {(upload["rows"], upload["valid"]) for upload in uploads} == {(500, True)}
    assert (state["raptormaps"]["tokens_issued"], state["raptormaps"]["signed_urls_issued"]) == (WORKERS, WORKERS)
    calls = state["requests"]
    assert sorted(call["id"] for call in calls) == list(range(1, 3 * WORKERS + 1))
    assert {
        operation: sum(call["operation"] == operation for call in calls) for operation in ("token", "signed_url", "put")
    } == {
        "token": WORKERS,
        "signed_url": WORKERS,
        "put": WORKERS,
    }
    assert all(call["status"] == 200 for call in calls)
    for upload in uploads:
        assert hashlib.sha256(sandbox.upload_content(upload["key"])).hexdigest() == upload["sha256"]


def test_racing_puts_to_one_signed_url_store_it_once(sandbox):
    url = signed_url(sandbox.url)
    body = farm_file(1, rows=5000)
    all_ready = threading.Barrier(8)

    def put(_):
        all_ready.wait()
        return put_csv(url, body).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(put, range(8)))

    assert statuses == [200] + [403] * 7
    assert len(sandbox.uploads()) == 1
