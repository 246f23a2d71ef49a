"""Many meters' intervals go through WattCarbon's stand-in without its memory growing with them:
the rows live in its SQLite file, not in the process."""

import re
import signal
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.sandbox import WattCarbonClient

PROJECT = Path(__file__).resolve().parents[2]
MiB = 1 << 20
METERS = 120
HOURS = 8760  # a year of hourly intervals per meter: 1,051,200 rows in all
WORKERS = 4


@pytest.fixture
def sandbox_process(tmp_path):
    """A sandbox in its own process (``python -m sandbox``), so that its memory is its own."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--data-dir", str(tmp_path)],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = re.search(r"http://127\.0\.0\.1:[0-9]+", process.stdout.readline()).group()
    yield process, url
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=10)


def memory(pid):
    """The process's resident memory now and at its peak, in bytes."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return (int(fields[name].split()[0]) * 1024 for name in ("VmRSS", "VmHWM"))


def year_of_hours():
    start = datetime(2023, 1, 1, tzinfo=UTC)
    lines = (f"{(start + timedelta(hours=hour)).isoformat()},{hour * 0.37!r}\r\n" for hour in range(HOURS))
    return ("start_datetime,energy_kwh\r\n" + "".join(lines)).encode()


def test_a_million_interval_rows_leave_the_sandboxs_memory_flat(sandbox_process, tmp_path):
    process, url = sandbox_process
    body = year_of_hours()
    client = WattCarbonClient(url)
    meter_ids = [client.create_meter(name=f"Meter {n}") for n in range(METERS)]
    assert client.upload(f"/meters/{meter_ids[0]}/intervals", body).status_code == 200  # warm up
    before, _ = memory(process.pid)

    def upload(meter_id):
        worker = WattCarbonClient(url)
        try:
            return worker.upload(f"/meters/{meter_id}/intervals", body).json()
        finally:
            worker.close()

    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(upload, meter_ids[1:]))

    _, peak = memory(process.pid)
    assert {(result["received"], result["inserted"]) for result in results} == {(HOURS, HOURS)}
    # The SQLite page cache (16 MB), a spooled file part (1 MiB) per worker, the meters and the
    # uploads list. Holding the rows would take well over 100 MiB.
    assert peak - before < 40 * MiB, f"grew by {(peak - before) / MiB:.0f} MiB"
    with sqlite3.connect(tmp_path / "wattcarbon.sqlite3") as db:
        assert db.execute("SELECT count(*), count(DISTINCT meter) FROM intervals").fetchone() == (
            METERS * HOURS,
            METERS,
        )
    db.close()
    client.close()
