"""The demo's outbound side: a Raptor Maps integration and a WattCarbon account, both on the local sandbox.

``make run`` starts the sandbox (``manage.py sandbox``) next to the worker, so a new user sees
the first upload within a minute of starting, and its runs and attempts in the admin.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError
from django.db import transaction

from portfolio.demo import PORTFOLIO
from portfolio.models import Portfolio
from uploads.models import RaptorMapsIntegration, TimeBasis, WattCarbonAccount
from uploads.outbound.netguard import validate_outbound_base_url
from uploads.runs.schedules import sync_raptormaps_schedule, sync_wattcarbon_schedule
from uploads.secrets import Secret

# The sandbox's default logins (docs/sandbox.md), copied rather than imported: the project's code
# leaves the sandbox alone, as the sandbox leaves it (tests/sandbox/test_independence.py checks both
# copies agree).
SANDBOX_RAPTORMAPS = {
    "client_id": "sandbox-client",
    "client_secret": "sandbox-client-secret",
    "org_id": 1,
    "integration_id": 101,
}
SANDBOX_WATTCARBON = {
    "email": "sandbox@wattcarbon.invalid",
    "api_key": "sandbox-wattcarbon-api-key",
    "account_id": "sandbox-account",
}

INTEGRATION_NAME = "Demo: Raptor Maps sandbox"
ACCOUNT_NAME = "Demo: WattCarbon sandbox"


@transaction.atomic
def load_demo_uploads():
    """Create or refresh the demo integration and account; return counts like the portfolio loader."""
    check_sandbox_url()
    portfolio = Portfolio.objects.get(slug=PORTFOLIO["slug"])
    integration = RaptorMapsIntegration.objects.filter(name=INTEGRATION_NAME).first() or RaptorMapsIntegration(
        name=INTEGRATION_NAME
    )
    integration.portfolio = portfolio
    integration.base_url = settings.SANDBOX_URL
    integration.client_id = SANDBOX_RAPTORMAPS["client_id"]
    integration.client_secret = Secret(SANDBOX_RAPTORMAPS["client_secret"])
    integration.org_id = SANDBOX_RAPTORMAPS["org_id"]
    integration.integration_id = SANDBOX_RAPTORMAPS["integration_id"]
    integration.time_basis = TimeBasis.LOCAL
    integration.enabled = True
    integration.full_clean()
    integration.save()
    sync_raptormaps_schedule(integration)

    # The demo portfolio's meters (one fed by Piedmont Triad's production meter) and its solar,
    # electrification and demand-response assets go to the sandbox's WattCarbon.
    account = WattCarbonAccount.objects.filter(name=ACCOUNT_NAME).first() or WattCarbonAccount(name=ACCOUNT_NAME)
    account.portfolio = portfolio
    account.base_url = settings.SANDBOX_URL
    account.email = SANDBOX_WATTCARBON["email"]
    account.api_key = Secret(SANDBOX_WATTCARBON["api_key"])
    account.account_id = SANDBOX_WATTCARBON["account_id"]
    account.enabled = True
    account.full_clean()
    account.save()
    sync_wattcarbon_schedule(account)
    return {"Raptor Maps integration": 1, "WattCarbon account": 1}


def check_sandbox_url():
    """Refuse, in words, a SANDBOX_URL the outbound rules would refuse (an http sandbox not allowed)."""
    try:
        validate_outbound_base_url(settings.SANDBOX_URL)
    except ValidationError as exc:
        raise CommandError(
            f"SANDBOX_URL={settings.SANDBOX_URL}: {' '.join(exc.messages)} For the local sandbox, set "
            "OUTBOUND_ALLOW_HOSTS=127.0.0.1,localhost (make run does)."
        ) from None
