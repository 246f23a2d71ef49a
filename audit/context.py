"""Who and what a change is attributed to, for the block of code that makes it.

auditlog's own ``set_extra_data`` leaves its context behind when it ends, so a nested one (a
task run inline inside a request, a command called from a task) would make the outer one
forget its user. ``audit_context`` puts the outer one back.
"""

from contextlib import contextmanager

from auditlog.context import auditlog_value, set_extra_data

__all__ = ["audit_context", "current_context"]

# What is left once a context ends: no actor, no receiver listening for it.
_NONE = {"signal_duid": None}


def current_context():
    """The active context's values (actor, remote_addr, additional_data), or None outside one."""
    values = auditlog_value.get(None)
    if not values or values.get("signal_duid") is None:
        return None
    return values


@contextmanager
def audit_context(actor=None, remote_addr=None, **source):
    """Attribute every change made inside to ``actor`` (a user or None) from ``remote_addr``.

    ``source`` (e.g. ``source="command", command="import_spreadsheet"``) is stored as the log
    entry's ``additional_data``.
    """
    previous = auditlog_value.get(None)
    try:
        with set_extra_data(
            {"actor": actor, "remote_addr": remote_addr, "remote_port": None, "additional_data": source or None}
        ):
            yield
    finally:
        auditlog_value.set(previous if previous is not None else _NONE)
