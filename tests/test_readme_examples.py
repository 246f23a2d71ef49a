"""The README's operations examples work as printed, on the demo data and the sandbox."""

import io
import re
import shlex
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from portfolio.models import Observation

pytestmark = pytest.mark.django_db(transaction=True)

README = Path(settings.BASE_DIR) / "README.md"
# The example lines: a command on the demo's own names or files, not a synopsis with placeholders.
EXAMPLE = re.compile(r"^\.venv/bin/python manage\.py ((import_observations examples/|upload_raptormaps --integration "
                     r"\"Demo|sync_wattcarbon --account \"Demo).*)$", re.MULTILINE)  # fmt: skip


def readme_examples():
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), re.DOTALL):
        for match in EXAMPLE.finditer(block):
            commands.append(shlex.split(match.group(1), comments=True))
    return commands


def test_the_readme_shows_an_example_of_each_operation():
    assert [command[0] for command in readme_examples()] == [
        "import_observations",
        "upload_raptormaps",
        "sync_wattcarbon",
    ]


def test_each_readme_example_runs_as_printed_on_the_demo(sandbox, settings, tmp_path, monkeypatch):
    settings.DEBUG = True
    settings.SANDBOX_URL = sandbox.url
    settings.DEMO_ADMIN_PASSWORD_FILE = tmp_path / "demo-admin-password"
    settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS = 0  # a person reads the README for longer than the lag
    call_command("demo", "--no-login", stdout=io.StringIO())
    monkeypatch.chdir(settings.BASE_DIR)  # the examples name files relative to the checkout
    before = Observation.objects.count()

    for command in readme_examples():
        out = io.StringIO()
        command = [str(tmp_path / "parts") if part == "/tmp/parts" else part for part in command]
        call_command(*command, stdout=out, stderr=io.StringIO())
        assert out.getvalue().strip(), f"{command[0]} printed nothing"

    assert Observation.objects.count() == before + 16
    assert list((tmp_path / "parts").glob("*/*.csv")), "the upload dry run wrote no part"
    assert sandbox.calls("put") == []  # both dry runs sent nothing
