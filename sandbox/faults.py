"""Fault injection: make the next N calls of an operation fail the way real networks and APIs do.

A fault is queued with ``POST /_sandbox/faults`` and consumed by the next matching calls, in the
order faults were queued. The server carries out the modes that concern the connection or the
answer's bytes (status, timeout, reset, delay, reset_after, reset_mid_response, malformed_json,
html, trickle); a service's handler carries out its own (``expired`` for a Raptor Maps signed URL,
``expire_token`` for a call with a bearer token).
"""

import json
import threading
from dataclasses import asdict, dataclass

# Carried out by the server, for any operation.
SERVER_MODES = (
    "status",
    "timeout",
    "reset",
    "delay",
    "reset_after",
    "reset_mid_response",
    "malformed_json",
    "html",
    "trickle",
)
# Carried out by a service's handler, for the operations its ``handler_fault_modes`` names.
MODES = (*SERVER_MODES, "expired", "expire_token")
# Modes that answer a status of the fault's choosing, and their default.
DEFAULT_STATUS = {"status": 503, "html": 502}
DEFAULT_SECONDS = {"timeout": 30.0, "delay": 1.0, "trickle": 5.0}
FIELDS = ("service", "operation", "mode", "times", "status", "retry_after", "seconds", "after")


@dataclass
class Fault:
    service: str
    operation: str
    mode: str = "status"
    times: int = 1  # calls still to be hit
    status: int | None = None
    retry_after: int | None = None
    seconds: float | None = None
    after: int = 0  # calls of the operation let through untouched before the fault hits

    def as_json(self):
        return asdict(self)


def parse_fault(payload, services):
    """A Fault from the control API's JSON, or ValueError naming what is wrong.

    ``services`` maps each service name to its Service (for its operations and own modes).
    """
    if not isinstance(payload, dict):
        raise ValueError("a fault is a JSON object")
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    service = services.get(payload.get("service"))
    if service is None:
        raise ValueError(f"service must be one of: {', '.join(services)}")
    operation = payload.get("operation")
    if operation not in service.operations:
        raise ValueError(f"operation must be one of: {', '.join(service.operations)}")
    mode = payload.get("mode", "status")
    if mode not in MODES:
        raise ValueError(f"mode must be one of: {', '.join(MODES)}")
    own_modes = service.handler_fault_modes.get(operation, frozenset())
    if mode not in SERVER_MODES and mode not in own_modes:
        raise ValueError(f"mode {mode!r} does not apply to {service.name} {operation}")
    if mode == "malformed_json" and operation not in service.json_operations:
        raise ValueError(f"mode 'malformed_json' needs an operation that answers JSON, not {operation}")
    fault = Fault(
        service.name,
        operation,
        mode,
        times=_whole(payload, "times", 1, minimum=1),
        after=_whole(payload, "after", 0, minimum=0),
    )
    if mode in DEFAULT_STATUS:
        fault.status = _whole(payload, "status", DEFAULT_STATUS[mode], minimum=400)
        if fault.status > 599:
            raise ValueError("status must be between 400 and 599")
        fault.retry_after = _whole(payload, "retry_after", None, minimum=0)
    if mode in DEFAULT_SECONDS:
        seconds = payload.get("seconds", DEFAULT_SECONDS[mode])
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError("seconds must be a number >= 0")
        fault.seconds = float(seconds)
    return fault


def parse_fault_argument(text):
    """A ``--fault`` option's JSON object, or ValueError in words."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--fault takes a JSON object like the control API's ({exc.msg}): {text!r}") from None
    if not isinstance(payload, dict):
        raise ValueError(f"--fault takes a JSON object, not {text!r}")
    return payload


def _whole(payload, name, default, minimum):
    value = payload.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}")
    return value


class FaultBoard:
    """The queue of pending faults, shared by every connection thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        # Set to wake every fault that is waiting (timeout, delay) when the sandbox resets or stops.
        self._cancel = threading.Event()

    def add(self, fault):
        with self._lock:
            self._faults.append(fault)

    def take(self, service, operation):
        """Consume one call of the first pending fault for this operation; None when there is none,
        or when that fault still lets calls through (its ``after``)."""
        with self._lock:
            for fault in self._faults:
                if fault.service == service and fault.operation == operation:
                    if fault.after:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return Fault(**{**fault.as_json(), "times": 1})
        return None

    def clear(self):
        """Forget pending faults and wake the ones in progress."""
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
            self._cancel.set()
            self._cancel = threading.Event()
        return count

    def wait(self, seconds):
        """Sleep for a fault; return early (True) when the sandbox resets or stops."""
        with self._lock:
            cancel = self._cancel
        return cancel.wait(seconds)

    def snapshot(self):
        with self._lock:
            return [fault.as_json() for fault in self._faults]
