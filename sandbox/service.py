"""The shape every stand-in service (Raptor Maps, WattCarbon) gives the shared server."""

from dataclasses import replace


class Service:
    """One remote service: its routes, its state, its settings and its error bodies.

    The server owns sockets, routing, faults and the request log; a service only answers
    ``Request`` objects with ``Response`` objects (see exchange.py).
    """

    name = ""
    # Every operation a route can name; faults and the request log use these names.
    operations = ()
    # Fault modes the service's own handler carries out, per operation (e.g. an expired URL).
    handler_fault_modes = {}
    # Operations whose answers are JSON (a ``malformed_json`` fault can break them).
    json_operations = ()
    # Paths the service owns even where no route matches: their 404 and 405 are in its error shape.
    path_prefixes = ()

    def routes(self):
        """The service's API routes."""
        return []

    def control_routes(self):
        """Extra routes under ``/_sandbox/`` (no auth, not logged)."""
        return []

    def fault_response(self, operation, status, message):
        """The error body this service would send with ``status`` for ``operation``."""
        raise NotImplementedError

    def unrouted_response(self, status, allowed):
        """The 404 (``allowed`` empty) or 405 for one of the service's paths that no route takes."""
        raise NotImplementedError

    def snapshot(self):
        """The service's state as JSON-ready data, for ``GET /_sandbox/state``."""
        return {}

    def config_keys(self):
        return frozenset()

    def parse_config(self, settings):
        """Validate settings (a dict); return them normalised or raise ValueError naming the problem."""
        return {}

    def apply_config(self, parsed, initial=False):
        """Apply settings that ``parse_config`` accepted; ``initial`` makes them what a reset returns to."""

    def config_snapshot(self):
        return {}

    def kept(self):
        """What the service holds from before a restart, in a few words ("" when nothing)."""
        return ""

    def describe(self, base_url):
        """One line for the startup message: where the service is and how to log in."""
        return self.name

    def reset(self):
        """Back to the start configuration; forget everything received."""

    def close(self):
        """The server is stopping."""


class ConfiguredService(Service):
    """A service whose settings are a frozen dataclass, each field read by a parser.

    Subclasses hold ``_settings`` (in force) and ``_initial`` (what a reset returns to) under
    ``_lock``, and give ``setting_parsers`` (name → function that validates and normalises a
    value) and ``title`` (for messages).
    """

    title = ""
    setting_parsers = {}

    def config_keys(self):
        return frozenset(self.setting_parsers)

    def parse_config(self, settings):
        parsed = {}
        for name, value in settings.items():
            parser = self.setting_parsers.get(name)
            if parser is None:
                known = ", ".join(self.setting_parsers)
                raise ValueError(f"unknown {self.title} setting {name!r} (known: {known})")
            parsed[name] = parser(value)
        return parsed

    def apply_config(self, parsed, initial=False):
        with self._lock:
            self._settings = replace(self._settings, **parsed)
            if initial:
                self._initial = replace(self._initial, **parsed)

    def config_snapshot(self):
        with self._lock:
            return self._settings.as_json()
