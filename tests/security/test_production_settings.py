"""Production settings refuse to be unsafe (docs/security.md, "Production settings").

The refusals are called as plain functions and, for the ones a server meets at start, run for
real in a fresh ``manage.py`` process with a production environment and nothing else.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from portfolio import config

PROJECT_DIR = Path(__file__).resolve().parents[2]
STRONG_KEY = "k3y-of-a-real-server-" + "Zx81Qw73Lm29Np46Rt50Vb" * 2
FERNET_KEY = Fernet.generate_key().decode()


def production_env(tmp_path, **overrides):
    """What an operator sets on a server: nothing from the test run leaks in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "portfolio.settings",
        "DEBUG": "0",
        "SECRET_KEY": STRONG_KEY,
        "SECRETS_ENCRYPTION_KEYS": FERNET_KEY,
        "ALLOWED_HOSTS": "portfolio.example.com",
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'server.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def manage(tmp_path, *args, **overrides):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=production_env(tmp_path, **overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- the deploy check ---------------------------------------------------------------------------


def test_the_deploy_check_passes_with_production_settings(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_fails_when_https_is_turned_off(tmp_path):
    # The check itself is live: switching the protections off is reported.
    result = manage(
        tmp_path, "check", "--deploy", "--fail-level", "WARNING", SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0"
    )

    assert result.returncode != 0
    assert "security.W008" in result.stderr and "security.W004" in result.stderr


# -- refusals at start --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret_key", "says"),
    [
        (config.DEVELOPMENT_SECRET_KEY, "is the development key"),
        ("django-insecure-" + "q8Zr2Lm5Tx7Vb1Nk4Wp9" * 3, "django-insecure"),
        ("short-but-not-empty-key", "23 characters long, shorter than 50"),
        ("", "SECRET_KEY is not set"),
    ],
)
def test_a_server_refuses_to_start_with_an_unsafe_secret_key(tmp_path, secret_key, says):
    result = manage(tmp_path, "check", SECRET_KEY=secret_key)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and says in result.stderr


def test_a_server_refuses_to_start_without_the_encryption_key_of_stored_secrets(tmp_path):
    result = manage(tmp_path, "check", SECRETS_ENCRYPTION_KEYS=None)

    assert result.returncode != 0
    assert "SECRETS_ENCRYPTION_KEYS is not set. Set SECRETS_ENCRYPTION_KEYS" in result.stderr


def test_development_keeps_its_defaults(tmp_path):
    result = manage(tmp_path, "check", DEBUG="1", SECRET_KEY=None, SECRETS_ENCRYPTION_KEYS=None)

    assert result.returncode == 0, result.stderr
    assert config.secret_key({}, debug=True) == config.DEVELOPMENT_SECRET_KEY
    assert config.secrets_encryption_keys({}, debug=True, secret_key="dev") == ["dev"]


def test_the_secret_key_needs_different_characters():
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY has fewer than 5 different characters"):
        config.secret_key({"SECRET_KEY": "ab" * 40}, debug=False)


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        ("", "SECRETS_ENCRYPTION_KEYS is not set"),
        ("a-short-passphrase", "key 1 is 18 characters long, shorter than 32"),
        (f"{FERNET_KEY},tiny", "key 2 is 4 characters long"),
        (STRONG_KEY, "key 1 is SECRET_KEY itself"),
    ],
)
def test_the_encryption_keys_are_refused_without_debug_when_unsafe(keys, says):
    with pytest.raises(ImproperlyConfigured, match=says):
        config.secrets_encryption_keys({"SECRETS_ENCRYPTION_KEYS": keys}, debug=False, secret_key=STRONG_KEY)


def test_the_encryption_keys_are_read_in_order():
    other = Fernet.generate_key().decode()
    environ = {"SECRETS_ENCRYPTION_KEYS": f"{FERNET_KEY}, {other}"}
    assert config.secrets_encryption_keys(environ, debug=False, secret_key=STRONG_KEY) == [FERNET_KEY, other]


@pytest.mark.parametrize("raw", ["soon", "-1"])
def test_a_number_setting_that_is_not_one_is_refused_naming_it(raw):
    with pytest.raises(ImproperlyConfigured, match="SECURE_HSTS_SECONDS"):
        config.env_int({"SECURE_HSTS_SECONDS": raw}, "SECURE_HSTS_SECONDS", default=0)


# -- HTTPS behind a proxy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "header"),
    [
        ("HTTP_X_FORWARDED_PROTO", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Proto", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("HTTP_X_FORWARDED_SSL,on", ("HTTP_X_FORWARDED_SSL", "on")),
        ("", None),
    ],
)
def test_the_proxy_ssl_header_comes_from_its_name(raw, header):
    assert config.proxy_ssl_header({"SECURE_PROXY_SSL_HEADER": raw}) == header


def test_the_proxy_ssl_header_is_off_unless_set():
    assert config.proxy_ssl_header({}) is None


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_the_proxy_https_requests_are_served_and_plain_ones_redirected(client):
    plain = client.get("/admin/login/", HTTP_HOST="localhost")
    assert plain.status_code == 301
    assert plain["Location"] == "https://localhost/admin/login/"

    through_tls = client.get("/admin/login/", HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")
    assert through_tls.status_code == 200


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=None)
def test_without_the_setting_a_forged_proto_header_is_not_believed(client):
    forged = client.get("/admin/login/", HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")
    assert forged.status_code == 301


def test_pages_may_not_be_framed_nor_leak_their_address(client):
    response = client.get("/admin/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
