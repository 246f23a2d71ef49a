"""The sandbox as a whole, apart from sockets: its services, their routes, faults, the request log."""

from sandbox.control_api import ControlApi
from sandbox.faults import FaultBoard
from sandbox.raptormaps import RaptorMaps
from sandbox.requestlog import RequestLog
from sandbox.wattcarbon import WattCarbon

CONTROL_PREFIX = "/_sandbox/"


class Sandbox:
    def __init__(self, services):
        self.services = {service.name: service for service in services}
        self.faults = FaultBoard()
        self.requests = RequestLog()
        self.control = ControlApi(self)
        self._routes = [(service, candidate) for service in services for candidate in service.routes()]

    @classmethod
    def create(cls, data_dir, **settings):
        """Every service, storing under ``data_dir``, with ``settings`` as their start configuration."""
        sandbox = cls([RaptorMaps(data_dir), WattCarbon(data_dir)])
        try:
            sandbox.configure(settings, initial=True)
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    def match(self, method, path):
        """(service, route, path parameters) for a request, or (None, None, methods the path allows)."""
        allowed = []
        for service, candidate in self._routes:
            found = candidate.pattern.fullmatch(path)
            if found is None:
                continue
            if candidate.method == method:
                return service, candidate, found.groupdict()
            allowed.append(candidate.method)
        return None, None, allowed

    def owner(self, path):
        """The service whose paths ``path`` is among (for the shape of a 404), or None."""
        return next(
            (
                service
                for service in self.services.values()
                if service.path_prefixes and path.startswith(service.path_prefixes)
            ),
            None,
        )

    def configure(self, settings, initial=False):
        """Apply settings; each flat key goes to the one service that has it, or name the service:
        ``{"raptormaps": {"token_ttl": 5}}``. Nothing changes unless every setting is valid."""
        if not isinstance(settings, dict):
            raise ValueError("settings are a JSON object")
        grouped = {name: {} for name in self.services}
        for key, value in settings.items():
            if key in self.services:
                if not isinstance(value, dict):
                    raise ValueError(f"{key} settings are a JSON object")
                grouped[key].update(value)
                continue
            owners = [name for name, service in self.services.items() if key in service.config_keys()]
            if not owners:
                known = sorted(set().union(*(service.config_keys() for service in self.services.values())))
                raise ValueError(f"unknown setting {key!r} (known: {', '.join(known)})")
            if len(owners) > 1:
                raise ValueError(f"{key!r} is a setting of {' and '.join(owners)}: put it under the service's name")
            grouped[owners[0]][key] = value
        parsed = {name: self.services[name].parse_config(values) for name, values in grouped.items() if values}
        for name, values in parsed.items():
            self.services[name].apply_config(values, initial=initial)
        return self.config()

    def config(self):
        return {name: service.config_snapshot() for name, service in self.services.items()}

    def state(self):
        state = {name: service.snapshot() for name, service in self.services.items()}
        state["requests"] = self.requests.snapshot()
        state["faults"] = self.faults.snapshot()
        return state

    def reset(self):
        """Back to the start configuration; forget faults, calls and everything received."""
        self.faults.clear()
        self.requests.clear()
        for service in self.services.values():
            service.reset()

    def kept(self):
        """What the services kept from before a restart, in words ("" when nothing)."""
        return "; ".join(filter(None, (service.kept() for service in self.services.values())))

    def describe(self, base_url):
        return [service.describe(base_url) for service in self.services.values()]

    def close(self):
        self.faults.clear()  # wakes connections held by timeout and delay faults
        for service in self.services.values():
            service.close()
