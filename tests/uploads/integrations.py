"""Building integrations and their farms for the uploads tests."""

from portfolio.models import Portfolio
from uploads.models import RaptorMapsIntegration
from uploads.secrets import Secret


def make_portfolio(slug="uploads"):
    return Portfolio.objects.get_or_create(slug=slug, defaults={"name": slug.title()})[0]


def make_integration(name="Test integration", portfolio=None, farms=(), **fields):
    """An integration (API token by default), saved; secrets given as plain text."""
    for secret_field in ("api_token", "client_secret"):
        if secret_field in fields:
            fields[secret_field] = Secret(fields[secret_field])
    if "client_id" not in fields and "api_token" not in fields:
        fields["api_token"] = Secret("test-api-token-0000")
    fields.setdefault("integration_id", 101)
    if portfolio is None and not farms:
        portfolio = make_portfolio()
    integration = RaptorMapsIntegration(name=name, portfolio=portfolio, **fields)
    integration.full_clean()
    integration.save()
    if farms:
        integration.farms.set(farms)
    return integration
