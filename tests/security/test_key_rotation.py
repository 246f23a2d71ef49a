"""Rotating the key of stored secrets: new key first, re-encrypt, drop the old key."""

from io import StringIO

import pytest
from auditlog.models import LogEntry
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from tests.uploads.accounts import make_account
from tests.uploads.admin_helpers import API_TOKEN, stored_secrets, token_integration
from uploads.models import RaptorMapsIntegration, WattCarbonAccount
from uploads.secrets import Secret

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def reencrypt():
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    return out.getvalue()


def test_after_re_encryption_the_old_key_can_be_dropped(settings):
    settings.SECRETS_ENCRYPTION_KEYS = [OLD]
    integration = token_integration()
    account = make_account(api_key=Secret("wc-key-Lp30Zs7"))
    before = stored_secrets(integration) + stored_secrets(account)
    entries = LogEntry.objects.count()

    settings.SECRETS_ENCRYPTION_KEYS = [NEW, OLD]
    assert reencrypt() == "Re-encrypted 2 secrets with the first key.\n"
    assert LogEntry.objects.count() == entries  # same values: nothing to audit

    settings.SECRETS_ENCRYPTION_KEYS = [NEW]
    assert RaptorMapsIntegration.objects.get(pk=integration.pk).api_token.reveal() == API_TOKEN
    assert WattCarbonAccount.objects.get(pk=account.pk).api_key.reveal() == "wc-key-Lp30Zs7"
    assert not set(before) & set(stored_secrets(integration) + stored_secrets(account))


def test_without_re_encryption_dropping_the_old_key_loses_the_secrets(settings):
    settings.SECRETS_ENCRYPTION_KEYS = [OLD]
    integration = token_integration()

    settings.SECRETS_ENCRYPTION_KEYS = [NEW]
    assert RaptorMapsIntegration.objects.get(pk=integration.pk).api_token.error


def test_a_secret_no_key_opens_is_named_and_left_as_it_is(settings):
    settings.SECRETS_ENCRYPTION_KEYS = [OLD]
    integration = token_integration(name="Lost key")
    stored = stored_secrets(integration)

    settings.SECRETS_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(CommandError, match=r"Raptor Maps integration #\d+ \(Lost key\), api_token"):
        reencrypt()
    assert stored_secrets(integration) == stored
