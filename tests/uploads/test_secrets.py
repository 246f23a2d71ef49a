"""Secrets at rest: encrypted in the database, never printable, rotatable, unreadable ones kept."""

import pickle

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tests.uploads.integrations import make_integration
from uploads.models import RaptorMapsIntegration
from uploads.secrets import Secret, SecretUnavailable, decrypt, encrypt, fernet_key

pytestmark = pytest.mark.django_db

CLIENT_SECRET = "client-secret-7f3a9c"


def stored_column(integration, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM uploads_raptormapsintegration WHERE id = %s", [integration.pk])
        return cursor.fetchone()[0]


def test_a_secret_is_stored_encrypted_and_reads_back():
    integration = make_integration(client_id="abc", client_secret=CLIENT_SECRET)
    raw = stored_column(integration, "client_secret")
    assert CLIENT_SECRET not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    again = RaptorMapsIntegration.objects.get(pk=integration.pk)
    assert again.client_secret.reveal() == CLIENT_SECRET


def test_a_secret_never_prints_itself():
    secret = Secret(CLIENT_SECRET)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret]), repr({"s": secret})):
        assert CLIENT_SECRET not in text
    assert repr(secret) == "Secret('********')"
    assert repr(Secret("")) == "Secret('')"
    assert not Secret("")
    assert Secret(CLIENT_SECRET)


def test_an_exception_holding_the_model_does_not_show_the_secret():
    integration = make_integration(client_id="abc", client_secret=CLIENT_SECRET)
    message = repr(vars(integration))
    assert CLIENT_SECRET not in message


def test_keys_rotate_new_first_old_still_reads(settings):
    old_key = Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [old_key]
    stored = encrypt(CLIENT_SECRET)
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    assert decrypt(stored).reveal() == CLIENT_SECRET


def test_a_secret_the_keys_cannot_open_says_so_and_is_kept_on_save(settings):
    integration = make_integration(client_id="abc", client_secret=CLIENT_SECRET)
    raw = stored_column(integration, "client_secret")
    settings.SECRETS_ENCRYPTION_KEYS = ["a different key entirely"]
    again = RaptorMapsIntegration.objects.get(pk=integration.pk)
    assert again.client_secret.is_set
    with pytest.raises(SecretUnavailable, match=r"cannot be decrypted .* Enter it again"):
        again.client_secret.reveal()
    again.name = "renamed"
    again.save()
    assert stored_column(again, "client_secret") == raw  # saving other fields did not lose it


def test_passphrases_and_fernet_keys_both_work():
    key = Fernet.generate_key()
    assert fernet_key(key.decode()) == key
    derived = fernet_key("correct horse battery staple")
    assert len(derived) == 44 and derived != fernet_key("another passphrase")


def test_an_empty_secret_stays_empty():
    assert encrypt("") == ""
    assert decrypt("").reveal() == ""


def test_secrets_refuse_to_be_pickled_into_task_arguments():
    # django-q2 pickles task arguments into its queue table or Redis: tasks get ids, never secrets.
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(Secret(CLIENT_SECRET))
