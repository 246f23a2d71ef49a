"""What the uploads commands share: secrets from the environment, validation errors as one line."""

import os

from django.core.management.base import CommandError

__all__ = ["secret_from_env", "set_given", "validation_messages"]


def secret_from_env(name):
    """The value of environment variable ``name``: secrets never come from argv, which the process list shows."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise CommandError(f"The environment variable {name} is not set or is empty.")
    return value


def validation_messages(exc):
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())


def set_given(obj, values):
    """Set the fields whose option was given (None: not given, so left as it is)."""
    for name, value in values.items():
        if value is not None:
            setattr(obj, name, value)
