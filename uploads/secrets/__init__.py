"""Secrets at rest: API keys, client secrets and cached tokens, encrypted with a key from the environment.

Values are Fernet tokens (AES-128-CBC with HMAC-SHA256). The keys come from
``settings.SECRETS_ENCRYPTION_KEYS``: the first encrypts, every one decrypts, so a key can be
rotated by putting the new one first. A decrypted value is wrapped in :class:`Secret`, whose
``repr`` and ``str`` never show it: a secret that reaches a log line, an exception message or
a debug page's local variables reads as ``Secret('********')``.
"""

import base64
import binascii
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["Secret", "SecretUnavailable", "decrypt", "encrypt", "fernet_key"]

MASK = "********"


class SecretUnavailable(Exception):
    """A stored secret cannot be decrypted with the configured keys."""


class Secret:
    """A secret value that does not print itself; ``reveal()`` is the one way to read it."""

    __slots__ = ("_error", "_value")

    def __init__(self, value="", error=None):
        # An unreadable secret keeps its stored form in _value, so saving the row keeps it too.
        self._value = value or ""
        self._error = error

    def reveal(self):
        if self._error:
            raise SecretUnavailable(self._error)
        return self._value

    @property
    def is_set(self):
        """Whether a value is stored (even one that cannot be decrypted any more)."""
        return bool(self._value)

    @property
    def error(self):
        return self._error

    def __bool__(self):
        return self.is_set

    def __eq__(self, other):
        if isinstance(other, Secret):
            return (self._value, self._error) == (other._value, other._error)
        return NotImplemented

    def __hash__(self):
        return hash((Secret, self._value))

    def __repr__(self):
        return f"Secret({MASK!r})" if self.is_set else "Secret('')"

    def __reduce__(self):
        # Queues pickle task arguments into the database or Redis: pass ids, never secrets.
        raise TypeError("Secrets are not pickled; pass the id of the object that holds them.")

    __str__ = __repr__


def fernet_key(material):
    """A Fernet key from a configured value: a Fernet key as is, any other text hashed into one."""
    text = material.strip()
    try:
        if len(base64.urlsafe_b64decode(text.encode())) == 32:
            return text.encode()
    except (binascii.Error, ValueError):
        pass
    digest = hashlib.sha256(b"portfolio-manager secrets at rest\0" + text.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _cipher():
    keys = [key for key in settings.SECRETS_ENCRYPTION_KEYS if key.strip()]
    if not keys:
        raise ImproperlyConfigured("SECRETS_ENCRYPTION_KEYS is empty: secrets cannot be stored or read.")
    return MultiFernet([Fernet(fernet_key(key)) for key in keys])


def encrypt(value):
    """The stored form of a secret (text); the empty string stays empty.

    An unreadable :class:`Secret` is stored as it was read, so saving a row does not lose it.
    """
    if isinstance(value, Secret):
        if value.error:
            return value._value
        value = value.reveal()
    if not value:
        return ""
    return _cipher().encrypt(value.encode()).decode("ascii")


def decrypt(stored, what="secret"):
    """A :class:`Secret` from its stored form. A value the keys cannot open is kept, marked unreadable."""
    if not stored:
        return Secret("")
    try:
        return Secret(_cipher().decrypt(stored.encode("ascii")).decode())
    except (InvalidToken, UnicodeError, ValueError):
        return Secret(
            stored,
            error=f"The stored {what} cannot be decrypted with the configured SECRETS_ENCRYPTION_KEYS "
            "(was the key changed?). Enter it again.",
        )
