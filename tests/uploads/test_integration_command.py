"""`manage.py raptormaps_integration`: create or update from scripts; secrets only from the environment."""

import io

import pytest
from django.core.management import CommandError, call_command

from portfolio.models import Farm
from tests.factories import FarmFactory
from tests.uploads.integrations import make_portfolio
from uploads.models import RaptorMapsIntegration

pytestmark = pytest.mark.django_db

BASE = ["--name", "Ops", "--base-url", "https://api.raptormaps.com", "--integration-id", "12"]


def run(*args):
    out = io.StringIO()
    call_command("raptormaps_integration", *args, stdout=out)
    return out.getvalue()


def test_creates_with_client_credentials_from_the_environment(monkeypatch):
    make_portfolio("north")
    monkeypatch.setenv("RM_SECRET", "from-the-env-123")
    output = run(
        *BASE, "--client-id", "cid", "--client-secret-env", "RM_SECRET", "--portfolio", "north", "--org-id", "34"
    )
    integration = RaptorMapsIntegration.objects.get(name="Ops")
    assert integration.client_secret.reveal() == "from-the-env-123"
    assert (integration.client_id, integration.org_id, integration.integration_id) == ("cid", 34, 12)
    assert "from-the-env-123" not in output
    assert "Created Raptor Maps integration 'Ops'" in output and "client credentials" in output


def test_updates_by_name_and_switches_to_a_token(monkeypatch):
    make_portfolio("north")
    monkeypatch.setenv("RM_SECRET", "s1-abcdef")
    run(*BASE, "--client-id", "cid", "--client-secret-env", "RM_SECRET", "--portfolio", "north")
    monkeypatch.setenv("RM_API_TOKEN", "tok-abcdef")
    output = run(
        "--name", "Ops", "--token-env", "RM_API_TOKEN", "--time-basis", "utc", "--part-bytes", "1000000",
        "--user-agent", "acme-ops/1.0",
    )  # fmt: skip
    integration = RaptorMapsIntegration.objects.get(name="Ops")
    assert integration.user_agent == "acme-ops/1.0"
    assert integration.api_token.reveal() == "tok-abcdef"
    assert not integration.client_id and not integration.client_secret
    assert (integration.time_basis, integration.part_bytes) == ("utc", 1_000_000)
    assert "Updated" in output and RaptorMapsIntegration.objects.count() == 1


def test_chosen_farms(monkeypatch):
    monkeypatch.setenv("RM_API_TOKEN", "tok-abcdef")
    first, second = FarmFactory(farm_id="F1"), FarmFactory(farm_id="F2")
    run(*BASE, "--token-env", "RM_API_TOKEN", "--farms", "F1, F2")
    integration = RaptorMapsIntegration.objects.get(name="Ops")
    assert set(integration.covered_farms()) == {first, second}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--token-env", "MISSING_VAR", "--portfolio", "north"], {}, "MISSING_VAR is not set"),
        (["--client-id", "cid", "--portfolio", "north"], {}, "needs --client-secret-env"),
        (["--token-env", "T", "--portfolio", "nowhere"], {"T": "tok-abcdef"}, "No portfolio with slug 'nowhere'"),
        (["--token-env", "T", "--farms", "F1,NOPE"], {"T": "tok-abcdef"}, "No farm with farm ID NOPE"),
        (["--token-env", "T"], {"T": "tok-abcdef"}, "Say which farms it covers"),
        (["--token-env", "T", "--portfolio", "north", "--part-bytes", "10"], {"T": "tok"}, "part_bytes: Ensure"),
    ],
)
def test_refusals_name_the_problem_and_change_nothing(monkeypatch, args, env, message):
    make_portfolio("north")
    FarmFactory(farm_id="F1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CommandError, match=message):
        run(*BASE, *args)
    assert not RaptorMapsIntegration.objects.exists()
    assert Farm.objects.count() == 1


def test_a_secret_on_the_command_line_is_not_an_option():
    with pytest.raises(CommandError):
        run(*BASE, "--client-secret", "oops", "--portfolio", "north")
