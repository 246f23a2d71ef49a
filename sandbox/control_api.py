"""The control API under ``/_sandbox/``: state, faults, settings and reset, for tests and people.

Not part of any contract: no auth, and its calls are not written to the request log.
"""

from sandbox.exchange import json_error, json_response, route
from sandbox.faults import parse_fault


class ControlApi:
    def __init__(self, sandbox):
        self._sandbox = sandbox
        self._routes = [
            route("GET", r"/_sandbox/state", "state", self.state),
            route("GET", r"/_sandbox/faults", "faults", self.list_faults),
            route("POST", r"/_sandbox/faults", "add_fault", self.add_fault),
            route("DELETE", r"/_sandbox/faults", "clear_faults", self.clear_faults),
            route("GET", r"/_sandbox/config", "config", self.config),
            route("POST", r"/_sandbox/config", "configure", self.configure),
            route("POST", r"/_sandbox/reset", "reset", self.reset),
        ]
        for service in sandbox.services.values():
            self._routes += service.control_routes()

    def handle(self, request):
        allowed = []
        for candidate in self._routes:
            match = candidate.pattern.fullmatch(request.path)
            if match is None:
                continue
            if candidate.method != request.method:
                allowed.append(candidate.method)
                continue
            request.params = match.groupdict()
            try:
                return candidate.handler(request)
            except ValueError as error:
                return json_error(400, "bad_request", str(error))
        if allowed:
            return json_error(405, "method_not_allowed", f"use {', '.join(allowed)}", {"Allow": ", ".join(allowed)})
        return json_error(404, "not_found", f"no control endpoint {request.path}")

    def state(self, request):
        return json_response(200, self._sandbox.state())

    def list_faults(self, request):
        return json_response(200, self._sandbox.faults.snapshot())

    def add_fault(self, request):
        fault = parse_fault(request.json(), self._sandbox.services)
        self._sandbox.faults.add(fault)
        return json_response(201, fault.as_json())

    def clear_faults(self, request):
        return json_response(200, {"cleared": self._sandbox.faults.clear()})

    def config(self, request):
        return json_response(200, self._sandbox.config())

    def configure(self, request):
        return json_response(200, self._sandbox.configure(request.json()))

    def reset(self, request):
        self._sandbox.reset()
        return json_response(200, {"reset": True})
