"""'Test connection': log in with the account's email and API key, and read the account's assets."""

from dataclasses import dataclass

from uploads.outbound.http import (
    INTERACTIVE_DEADLINE,
    INTERACTIVE_POLICY,
    INTERACTIVE_TIMEOUT,
    ServiceError,
    failure_reason,
)
from uploads.secrets import SecretUnavailable
from uploads.wattcarbon.api import WattCarbonApi

__all__ = ["ConnectionReport", "test_connection"]


@dataclass
class ConnectionReport:
    ok: bool
    assets: int = 0  # how many assets the account has on WattCarbon
    error: str = ""


def test_connection(account):
    """A fresh token (the cached one is not trusted for this), then the account's asset list.

    The outcome is stored on the account as one line of ours, never what WattCarbon sent back.
    """
    api = WattCarbonApi(account, policy=INTERACTIVE_POLICY, timeout=INTERACTIVE_TIMEOUT, deadline=INTERACTIVE_DEADLINE)
    try:
        if not account.api_key:
            raise SecretUnavailable("The account has no API key; enter it first.")
        api.auth.renew()
        assets = api.assets()
    except (ServiceError, SecretUnavailable) as exc:
        account.record_connection_test(
            False, f"failed: {failure_reason(exc)}", getattr(exc, "status_code", None), api.secrets()
        )
        return ConnectionReport(ok=False, error=str(exc))
    finally:
        api.close()
    account.record_connection_test(True, f"ok: logged in; {len(assets)} asset(s) on the account", 200)
    return ConnectionReport(ok=True, assets=len(assets))
