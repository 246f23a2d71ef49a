"""Model fields of the uploads app."""

from django.db import models

from uploads.secrets import Secret, decrypt, encrypt


class EncryptedSecretField(models.TextField):
    """Text encrypted at rest; reads back as a :class:`~uploads.secrets.Secret`.

    Lookups on it are meaningless (every encryption differs), so it is never filtered on.
    """

    def __init__(self, *args, what="secret", **kwargs):
        self.what = what
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs["editable"] = False  # forms write it through their own write-only fields
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        if self.what != "secret":
            kwargs["what"] = self.what
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        return decrypt(value, self.what)

    def to_python(self, value):
        if isinstance(value, Secret):
            return value
        return Secret(value or "")

    def get_prep_value(self, value):
        return encrypt(value or "")

    def value_to_string(self, obj):
        # Serialisation (dumpdata) never writes the secret.
        return ""
