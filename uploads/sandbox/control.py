"""``SandboxControl``: a small client of the sandbox's control API, for tests, benchmarks and people.

control = SandboxControl("http://127.0.0.1:8765")
control.fault("put", mode="status", status=503, retry_after=2)
...
control.uploads()  # what Raptor Maps received
"""

import requests

TIMEOUT = 10


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
        """Logged API calls, optionally of one operation ("token", "org_integrations", "signed_url", "put")."""
        return [
            call
            for call in self.state()["requests"]
            if call["service"] == service and (operation is None or call["operation"] == operation)
        ]

    def fault(
        self, operation, mode="status", *, service="raptormaps", times=1, status=None, retry_after=None, seconds=None
    ):
        """Make the next ``times`` calls of ``operation`` fail; see docs/sandbox.md for the modes."""
        spec = {"service": service, "operation": operation, "mode": mode, "times": times}
        optional = {"status": status, "retry_after": retry_after, "seconds": seconds}
        spec.update({name: value for name, value in optional.items() if value is not None})
        return self._call("POST", "faults", json=spec).json()

    def clear_faults(self):
        return self._call("DELETE", "faults").json()["cleared"]

    def configure(self, **settings):
        """Change settings (``token_ttl=5``, ``max_put_bytes=1000``...); returns the whole configuration."""
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
