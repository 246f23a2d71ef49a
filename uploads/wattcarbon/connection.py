"""'Test connection': log in with the account's email and API key, and read the account's assets."""

from dataclasses import dataclass

from uploads.http import INTERACTIVE_POLICY, INTERACTIVE_TIMEOUT, ServiceError
from uploads.secrets import SecretUnavailable
from uploads.wattcarbon.api import WattCarbonApi

__all__ = ["ConnectionReport", "test_connection"]


@dataclass
class ConnectionReport:
    ok: bool
    assets: int = 0  # how many assets the account has on WattCarbon
    error: str = ""


def test_connection(account):
    """A fresh token (the cached one is not trusted for this), then the account's asset list."""
    api = WattCarbonApi(account, policy=INTERACTIVE_POLICY, timeout=INTERACTIVE_TIMEOUT)
    try:
        if not account.api_key:
            raise SecretUnavailable("The account has no API key; enter it first.")
        api.auth.renew()
        assets = api.assets()
    except (ServiceError, SecretUnavailable) as exc:
        return ConnectionReport(ok=False, error=str(exc))
    finally:
        api.close()
    return ConnectionReport(ok=True, assets=len(assets))
