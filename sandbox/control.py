"""``SandboxControl``: a small client of the sandbox's control API, for tests, benchmarks and people.

control = SandboxControl("http://127.0.0.1:8765")
control.fault("put", mode="status", status=503, retry_after=2)
...
control.uploads()  # what Raptor Maps received
control.wattcarbon()["meters"]  # what WattCarbon received
"""

import requests

TIMEOUT = 10
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class SandboxControlError(Exception):
    """The control API refused a call (its JSON message is the exception's text)."""


class SandboxControl:
    def __init__(self, base_url, timeout=TIMEOUT):
        self.url = base_url.rstrip("/")
        self._timeout = timeout
        self._session = requests.Session()

    def state(self):
        """Everything: each service's state, the logged calls ("requests") and pending faults."""
        return self._call("GET", "state").json()

    def uploads(self):
        """The files Raptor Maps received whole (valid or not), oldest first."""
        return self.state()["raptormaps"]["uploads"]

    def upload_content(self, key):
        """The bytes of a received file, by its ``key`` (as in ``uploads()``)."""
        return self._call("GET", f"uploads/{key}").content

    def calls(self, operation=None, service="raptormaps"):
        """Logged API calls of ``service``, optionally of one operation (Raptor Maps: "token",
        "org_integrations", "signed_url", "put"; WattCarbon: see docs/sandbox.md)."""
        return [
            call
            for call in self.state()["requests"]
            if call["service"] == service and (operation is None or call["operation"] == operation)
        ]

    def write_calls(self, service="wattcarbon"):
        """Logged calls that would change something remotely (POST, PATCH, PUT, DELETE), tokens apart."""
        return [
            call
            for call in self.calls(service=service)
            if call["method"] in WRITE_METHODS and call["operation"] != "token"
        ]

    # --- WattCarbon -------------------------------------------------------------------------------------

    def wattcarbon(self):
        """WattCarbon's state: accounts, tokens issued, meters (with their series' counts), assets (with
        their documents), accepted timeseries uploads and the settings."""
        return self.state()["wattcarbon"]

    def wattcarbon_intervals(self, meter_id):
        """A meter's intervals by start: [{"start_datetime": "...+00:00", "energy_kwh": 1.5}, ...]."""
        return self._call("GET", f"wattcarbon/meters/{meter_id}/intervals").json()

    def wattcarbon_bills(self, meter_id):
        """A meter's bills by start date: [{"start_date", "end_date", "energy_kwh"}, ...]."""
        return self._call("GET", f"wattcarbon/meters/{meter_id}/bills").json()

    def expire_tokens(self):
        """Expire every WattCarbon token issued so far; returns how many were still valid."""
        return self._call("POST", "wattcarbon/expire_tokens").json()["expired"]

    def fault(
        self,
        operation,
        mode="status",
        *,
        service="raptormaps",
        times=1,
        status=None,
        retry_after=None,
        seconds=None,
        after=None,
    ):
        """Make the next ``times`` calls of ``operation`` fail (after letting ``after`` calls through);
        see docs/sandbox.md for the modes."""
        spec = {"service": service, "operation": operation, "mode": mode, "times": times}
        optional = {"status": status, "retry_after": retry_after, "seconds": seconds, "after": after}
        spec.update({name: value for name, value in optional.items() if value is not None})
        return self._call("POST", "faults", json=spec).json()

    def clear_faults(self):
        return self._call("DELETE", "faults").json()["cleared"]

    def configure(self, **settings):
        """Change settings (``max_put_bytes=1000``, ``raptormaps={"token_ttl": 5}``,
        ``wattcarbon={"token_ttl": 5}``...); returns the whole configuration."""
        return self._call("POST", "config", json=settings).json()

    def reset(self):
        """Back to the defaults; forget uploads, tokens, calls and faults."""
        self._call("POST", "reset")

    def close(self):
        self._session.close()

    def _call(self, method, path, **kwargs):
        response = self._session.request(method, f"{self.url}/_sandbox/{path}", timeout=self._timeout, **kwargs)
        if not response.ok:
            try:
                message = response.json()["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise SandboxControlError(f"{method} /_sandbox/{path}: {response.status_code} {message}")
        return response
