"""Running the sandbox by hand: `manage.py sandbox` and `python -m sandbox`, until Ctrl-C or SIGTERM."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sandbox.management.commands.sandbox import Command

PROJECT = Path(__file__).resolve().parents[2]
COMMANDS = {
    "manage.py": [sys.executable, "manage.py", "sandbox"],
    "python -m": [sys.executable, "-m", "sandbox"],
}


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_it_names_its_url_and_the_demo_logins_and_stops_cleanly(tmp_path, command, stop):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    process = subprocess.Popen(
        [*command, "--port", "0", "--data-dir", str(tmp_path)],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first, logins, wattcarbon, control = (process.stdout.readline() for _ in range(4))
        url = re.search(r"http://127\.0\.0\.1:[0-9]+", first).group()
        assert first == f"Sandbox serving on {url} (files in {tmp_path}). Ctrl-C stops it.\n"
        for words in ("client_id sandbox-client", "client_secret sandbox-client-secret", "API token sandbox-api-token"):
            assert words in logins
        assert "101 (csv_upload, org 1)" in logins
        assert wattcarbon == (
            f"  WattCarbon at {url} (token: POST /auth/token, form grant_type=password, username=<email>, "
            "password=<API key>; send a User-Agent naming your app). Log in with email sandbox@wattcarbon.invalid "
            "/ API key sandbox-wattcarbon-api-key (account sandbox-account).\n"
        )
        assert control == f"  Control API: {url}/_sandbox/state, see docs/sandbox.md.\n"
        assert requests.get(url + "/_sandbox/state", timeout=5).status_code == 200
    finally:
        process.send_signal(stop)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out == "Sandbox stopped.\n"
    assert "Traceback" not in err


def test_the_command_keeps_files_under_var_sandbox_by_default():
    options = Command().create_parser("manage.py", "sandbox").parse_args([])
    assert (options.host, options.port, options.data_dir) == ("127.0.0.1", 8765, PROJECT / "var" / "sandbox")


def makefile_demo_fault():
    """The fault `make run` starts the demo's sandbox with (the Makefile's DEMO_FAULT)."""
    text = (PROJECT / "Makefile").read_text()
    return re.search(r"^DEMO_FAULT \?= (.+)$", text, re.MULTILINE).group(1)


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_fault_given_at_start_meets_the_first_matching_call(tmp_path, command):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    process = subprocess.Popen(
        [*command, "--port", "0", "--data-dir", str(tmp_path), "--fault", makefile_demo_fault()],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        url = re.search(r"http://127\.0\.0\.1:[0-9]+", lines[0]).group()
        assert lines[3] == "  Fault queued: the next raptormaps put meets a 503 answer with Retry-After: 2.\n"
        [fault] = requests.get(url + "/_sandbox/faults", timeout=5).json()
        assert (fault["service"], fault["operation"], fault["status"], fault["times"]) == ("raptormaps", "put", 503, 1)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("put", "--fault takes a JSON object like the control API's"),
        ('["put"]', "--fault takes a JSON object, not"),
        ('{"service": "raptormaps", "operation": "upload"}', "operation must be one of: token, org_integrations"),
    ],
)
def test_a_fault_that_cannot_be_read_stops_the_start_in_words(tmp_path, fault, message):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [*COMMANDS["python -m"], "--port", "0", "--data-dir", str(tmp_path), "--fault", fault],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
