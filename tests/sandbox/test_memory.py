"""A big PUT streams through the sandbox: its memory does not grow with the body."""

import hashlib
import re
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sandbox.csvcheck import HEADERS
from tests.fixtures.sandbox import contract_csv, contract_row, put_csv, signed_url

PROJECT = Path(__file__).resolve().parents[2]
MiB = 1 << 20
SENSORS = 40


@pytest.fixture
def sandbox_process(tmp_path):
    """A sandbox in its own process (``python -m sandbox``), so that its memory is its own."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--data-dir", str(tmp_path / "data")],
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


def write_readings(path, size):
    """A valid contract CSV of at least ``size`` bytes: SENSORS inverters read every 15 minutes."""
    start = datetime(2020, 1, 1)
    rows = 0
    with open(path, "w", newline="") as out:
        out.write(",".join(HEADERS) + "\r\n")
        while out.tell() < size:
            lines = []
            for step in range(rows // SENSORS, rows // SENSORS + 1000):
                time = f"{start + timedelta(minutes=15 * step):%Y-%m-%d %H:%M:%S}"
                lines += [
                    f"F-1,Sunny Acres,America/New_York,2019-06-01 00:00:00,40.1,-75.2,INV-{sensor},Inverter {sensor},"
                    f"inverter,S-{sensor},AC power,ac_power,{time},{step * 1.5 + sensor}\r\n"
                    for sensor in range(SENSORS)
                ]
            out.write("".join(lines))
            rows += len(lines)
    return rows


def test_a_200_mb_put_is_streamed_not_held_in_memory(sandbox_process, tmp_path):
    process, url = sandbox_process
    path = tmp_path / "readings.csv"
    rows = write_readings(path, 200 * MiB)
    assert put_csv(signed_url(url), contract_csv([contract_row()])).status_code == 200  # warm up
    before, _ = memory(process.pid)

    with open(path, "rb") as body:
        response = put_csv(signed_url(url), body, timeout=300)

    _, peak = memory(process.pid)
    assert response.status_code == 200, response.text
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    assert response.headers["ETag"] == f'"{sha256}"'
    # Everything the check keeps (distinct descriptions, recent times) and the 1 MiB buffers:
    # a few MiB. Holding the body would take 200.
    assert peak - before < 40 * MiB, f"grew by {(peak - before) / MiB:.0f} MiB"
    assert (tmp_path / "data" / "raptormaps-uploads").stat()  # stored on disk instead
    assert rows > 1_000_000
