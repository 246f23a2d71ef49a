"""Re-encrypt every stored secret with the first key of SECRETS_ENCRYPTION_KEYS (key rotation).

Rotation (docs/security.md, "Secrets"): put the new key first and keep the old one after it,
restart, run this command, then drop the old key. Values do not change, so nothing is written
to the audit trail; a secret no configured key opens is left as it is and named.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from uploads.secrets.fields import EncryptedSecretField


class Command(BaseCommand):
    help = "Re-encrypt every stored API key, client secret and cached token with the first SECRETS_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        rewritten, unreadable = 0, []
        for model in apps.get_models():
            names = [field.name for field in model._meta.concrete_fields if isinstance(field, EncryptedSecretField)]
            if not names:
                continue
            for obj in model._default_manager.only("pk", *names).iterator():
                readable = {}
                for name in names:
                    secret = getattr(obj, name)
                    if not secret:
                        continue
                    if secret.error:
                        unreadable.append(f"{model._meta.verbose_name} #{obj.pk} ({obj}), {name}")
                    else:
                        readable[name] = secret
                if readable:
                    # A queryset update: encrypted again with the first key, no save signals
                    # (the values are the same, so the audit trail has nothing to record).
                    model._default_manager.filter(pk=obj.pk).update(**readable)
                    rewritten += len(readable)
        self.stdout.write(f"Re-encrypted {rewritten} secret{'s' if rewritten != 1 else ''} with the first key.")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} stored secret(s) cannot be decrypted with any key of SECRETS_ENCRYPTION_KEYS "
                "and were left as they are; enter them again in the admin:\n  " + "\n  ".join(unreadable)
            )
