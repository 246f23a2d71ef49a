"""'Test connection': get a token and list the org's integrations, so staff can pick the right id."""

from dataclasses import dataclass

from uploads.models import RaptorMapsIntegration
from uploads.outbound.http import (
    INTERACTIVE_DEADLINE,
    INTERACTIVE_POLICY,
    INTERACTIVE_TIMEOUT,
    ServiceError,
    failure_reason,
)
from uploads.raptormaps.api import RaptorMapsApi
from uploads.runs.schedules import sync_raptormaps_schedule
from uploads.secrets import SecretUnavailable

__all__ = ["ConnectionReport", "learn_interval", "test_connection"]


@dataclass
class ConnectionReport:
    ok: bool
    integrations: list  # dicts: id, org_id, api_type, query_interval_secs, enabled (no auth_info)
    error: str = ""

    def matching(self, integration_id):
        return next((item for item in self.integrations if item.get("id") == integration_id), None)


def test_connection(integration):
    """List the org's integrations with the integration's credentials; the outcome is stored on it too.

    What is stored is one line of ours (the outcome, the status, the reason), never what
    Raptor Maps sent back.
    """
    api = RaptorMapsApi(
        integration, policy=INTERACTIVE_POLICY, timeout=INTERACTIVE_TIMEOUT, deadline=INTERACTIVE_DEADLINE
    )
    try:
        integrations = api.org_integrations()
    except (ServiceError, SecretUnavailable) as exc:
        integration.record_connection_test(
            False, f"failed: {failure_reason(exc)}", getattr(exc, "status_code", None), api.secrets()
        )
        return ConnectionReport(ok=False, integrations=[], error=str(exc))
    finally:
        api.close()
    report = ConnectionReport(ok=True, integrations=integrations)
    found = "is among them" if report.matching(integration.integration_id) else "is not among them"
    integration.record_connection_test(
        True, f"ok: {len(integrations)} org integration(s); {integration.integration_id} {found}", 200
    )
    remember_interval(integration, report.matching(integration.integration_id))
    return report


def learn_interval(integration, api):
    """Ask once for the org integration's query_interval_secs (the default upload interval)."""
    found = next((item for item in api.org_integrations() if item.get("id") == integration.integration_id), None)
    remember_interval(integration, found)
    return found


def remember_interval(integration, org_integration):
    seconds = (org_integration or {}).get("query_interval_secs")
    if not isinstance(seconds, int) or seconds <= 0 or seconds == integration.remote_interval_seconds:
        return
    integration.remote_interval_seconds = seconds
    RaptorMapsIntegration.objects.filter(pk=integration.pk).update(remote_interval_seconds=seconds)
    sync_raptormaps_schedule(integration)  # the schedule follows the interval
