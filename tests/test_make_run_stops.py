"""`make run` stops whole: a signal to its process group, as a terminal's Ctrl-C or a process
manager sends, leaves no web server, sandbox or worker behind (the worker used to hang)."""

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.test_demo_restart import free_port

ROOT = Path(__file__).resolve().parents[1]


def session(leader):
    """Command lines of the processes in ``leader``'s session: all that make run started, whatever their group."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == leader:
                    found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (ProcessLookupError, FileNotFoundError):
                pass
    return found


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def test_a_signal_to_make_runs_group_stops_the_server_the_sandbox_and_the_worker(tmp_path):
    port, sandbox_port = free_port(), free_port()
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'run.sqlite3'}"  # the defaults, on a database of its own
    log = open(tmp_path / "make-run.log", "w")  # noqa: SIM115 - make writes to it until it ends
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}", f"SANDBOX_PORT={sandbox_port}", "DEMO_FAULT="],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group, as a terminal gives it
    )
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/admin/login/"), 300, "make run did not start")
        wait_until(lambda: "qcluster" in " ".join(session(make.pid).values()), 60, "no worker started")
        os.killpg(make.pid, signal.SIGTERM)  # make's group, not the worker's own: it is stopped by make run
        make.wait(timeout=60)
        wait_until(lambda: not session(make.pid), 60, f"left running: {session(make.pid)}")
    finally:
        for pid in session(make.pid):
            os.kill(pid, signal.SIGKILL)
        log.close()
    text = (tmp_path / "make-run.log").read_text()
    assert "has stopped" in text, text[-2000:]  # django-q2's last word when it stops cleanly
