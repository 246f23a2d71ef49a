"""Changes made by a management command name the command as their source.

Django has no hook around a command, so ``BaseCommand.execute`` (what both ``manage.py`` and
``call_command`` run) is wrapped once, at start-up. The servers are left alone: their requests
and tasks set their own source.
"""

from functools import wraps

from django.core.management.base import BaseCommand

from audit.context import audit_context, current_context

__all__ = ["SERVER_COMMANDS", "audit_commands"]

SERVER_COMMANDS = {"runserver", "testserver", "qcluster", "sandbox"}


def audit_commands():
    """Wrap ``BaseCommand.execute`` so that a command's changes record ``source="command"`` and its name."""
    original = BaseCommand.execute
    if getattr(original, "audited", False):
        return

    @wraps(original)
    def execute(self, *args, **options):
        name = type(self).__module__.rsplit(".", 1)[-1]
        if name in SERVER_COMMANDS:
            return original(self, *args, **options)
        # A command run inside a request or a task keeps that one's person and address.
        outer = current_context() or {}
        with audit_context(
            actor=outer.get("actor"), remote_addr=outer.get("remote_addr"), source="command", command=name
        ):
            return original(self, *args, **options)

    execute.audited = True
    BaseCommand.execute = execute
