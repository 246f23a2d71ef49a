"""WattCarbon accounts for tests, pointing at the sandbox by default."""

from sandbox import wattcarbon as sandbox_defaults
from tests.uploads.integrations import make_portfolio
from uploads.models import WattCarbonAccount
from uploads.secrets import Secret


def make_account(name="Test account", portfolio=None, base_url="http://127.0.0.1:9", **fields):
    values = {
        "portfolio": portfolio or make_portfolio(),
        "base_url": base_url,
        "email": sandbox_defaults.DEFAULT_EMAIL,
        "api_key": Secret(sandbox_defaults.DEFAULT_API_KEY),
        "account_id": sandbox_defaults.DEFAULT_ACCOUNT_ID,
        **fields,
    }
    account = WattCarbonAccount(name=name, **values)
    account.full_clean()
    account.save()
    return account
