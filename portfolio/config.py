"""Turn environment variables into settings values.

Kept apart from ``settings.py`` so the rules (defaults, parsing, refusals) are plain
functions that tests can call with any environment.
"""

import zoneinfo
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}

# Development only: used when DEBUG is on and no SECRET_KEY is given.
DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-never-use-in-production"
# Without DEBUG, SECRET_KEY must pass Django's deploy check (security.W009); how to make one.
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5
GENERATE_SECRET_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
# A passphrase in SECRETS_ENCRYPTION_KEYS is hashed into a key: it must be as hard to guess as one.
MIN_ENCRYPTION_KEY_LENGTH = 32
GENERATE_FERNET_KEY = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"

# How long a SQLite connection waits for another writer (the worker, the web server)
# before giving up with "database is locked" (SQLITE_BUSY_TIMEOUT_SECONDS overrides it).
# Not longer: a web request would hang as long. A spreadsheet import holds the write lock
# for its whole run, so on SQLite a sync meanwhile fails after this (README, "SQLite or PostgreSQL").
SQLITE_BUSY_TIMEOUT_SECONDS = 20


def read_env_file(path):
    """KEY=VALUE lines of an optional .env file (blank lines and # comments skipped).

    Only a development convenience: settings give the real environment precedence.
    """
    path = Path(path)
    if not path.exists():
        return {}
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ImproperlyConfigured(f"{path}, line {number}: expected NAME=value, found {line!r}.")
        values[name.strip()] = value.strip().strip("'\"")
    return values


def env_bool(environ, name, default=False):
    raw = environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def env_list(environ, name, default=()):
    raw = environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(environ, name, default, minimum=0):
    """An integer setting; anything else (or below ``minimum``) is refused, naming the variable."""
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below its minimum of {minimum}.")
    return value


def time_zone(environ, name, default):
    """An IANA time zone name setting; an unknown name is refused, naming the variable."""
    value = (environ.get(name) or "").strip() or default
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an IANA time zone name (for example UTC or America/New_York)."
        ) from None
    return value


def secret_key(environ, debug):
    """The SECRET_KEY, refusing to start a non-debug process without a real one.

    Without DEBUG the key must pass Django's own deploy check (security.W009): at least 50
    characters, 5 different ones, and not the ``django-insecure`` prefix of generated
    development keys (the development key below has it).
    """
    key = environ.get("SECRET_KEY", "").strip()
    if not key:
        if debug:
            return DEVELOPMENT_SECRET_KEY
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (or DEBUG=1 for local development only)."
        )
    if not debug:
        problem = _weak_secret_key_problem(key)
        if problem:
            raise ImproperlyConfigured(
                f"SECRET_KEY {problem}, which is not safe without DEBUG. Set SECRET_KEY to a long random value, "
                f"e.g. the output of: {GENERATE_SECRET_KEY}"
            )
    return key


def _weak_secret_key_problem(key):
    if key == DEVELOPMENT_SECRET_KEY:
        return "is the development key"
    if key.startswith("django-insecure"):
        return "starts with 'django-insecure' (a development key)"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"is {len(key)} characters long, shorter than {MIN_SECRET_KEY_LENGTH}"
    if len(set(key)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS:
        return f"has fewer than {MIN_SECRET_KEY_UNIQUE_CHARACTERS} different characters"
    return None


def secrets_encryption_keys(environ, debug, secret_key):
    """The keys that encrypt stored secrets (uploads/secrets/): the first encrypts, all decrypt.

    With DEBUG on they default to SECRET_KEY (hashed into a key). Without DEBUG they must be
    given: a server whose SECRET_KEY is rotated (or leaks) must not lose (or expose) the
    stored API keys with it.
    """
    keys = env_list(environ, "SECRETS_ENCRYPTION_KEYS")
    if not keys:
        if debug:
            return [secret_key]
        raise ImproperlyConfigured(
            "SECRETS_ENCRYPTION_KEYS is not set. Set SECRETS_ENCRYPTION_KEYS to a Fernet key, e.g. the output of: "
            f"{GENERATE_FERNET_KEY} (only with DEBUG=1 does it default to one derived from SECRET_KEY)."
        )
    if not debug:
        for position, key in enumerate(keys, start=1):
            if len(key) < MIN_ENCRYPTION_KEY_LENGTH:
                raise ImproperlyConfigured(
                    f"SECRETS_ENCRYPTION_KEYS: key {position} is {len(key)} characters long, shorter than "
                    f"{MIN_ENCRYPTION_KEY_LENGTH}. Use a Fernet key, e.g. the output of: {GENERATE_FERNET_KEY}"
                )
            if key == secret_key:
                raise ImproperlyConfigured(
                    f"SECRETS_ENCRYPTION_KEYS: key {position} is SECRET_KEY itself. Give the stored secrets a key "
                    f"of their own, e.g. the output of: {GENERATE_FERNET_KEY}"
                )
    return keys


def proxy_ssl_header(environ):
    """``SECURE_PROXY_SSL_HEADER`` from the name of the header a TLS-terminating proxy sets.

    ``SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO`` (or ``X-Forwarded-Proto``) means: a request
    is HTTPS when that header says ``https``. Set it only behind a proxy that always sets (or
    strips) that header: anyone else could send it.
    """
    raw = environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
    if not raw:
        return None
    name, _, value = raw.partition(",")
    name = name.strip().upper().replace("-", "_")
    if not name.startswith("HTTP_"):
        name = f"HTTP_{name}"
    return (name, value.strip() or "https")


def database(environ, base_dir: Path):
    """The default database from DATABASE_URL, or a SQLite file under var/.

    SQLite gets WAL (readers never block the writer), a busy timeout and IMMEDIATE
    transactions, so the web server and a django-q2 worker can share one file without
    "database is locked" errors.
    """
    url = environ.get("DATABASE_URL", "").strip()
    if not url:
        url = f"sqlite:///{base_dir / 'var' / 'portfolio.sqlite3'}"
    try:
        config = dj_database_url.parse(url)
    except Exception as exc:  # dj_database_url raises bare ValueErrors and KeyErrors
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        if config["NAME"] != ":memory:":
            Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON",
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int(environ, "SQLITE_BUSY_TIMEOUT_SECONDS", SQLITE_BUSY_TIMEOUT_SECONDS, minimum=1),
        }
    elif config["ENGINE"] == "django.db.backends.postgresql":
        config["CONN_MAX_AGE"] = 60
        config["CONN_HEALTH_CHECKS"] = True
    return config


def q_cluster(environ):
    """django-q2 settings: the Redis broker when REDIS_URL is set, else the ORM broker.

    ``timeout`` bounds one task; ``retry`` must exceed it or a slow task is handed to a
    second worker while the first still runs. Retries of outbound calls are our own code's
    job (each one recorded), so the broker runs a task once (``max_attempts``); work a dead
    worker left undone is picked up by the next scheduled run.
    """
    config = {
        "name": environ.get("Q_CLUSTER_NAME", "portfolio"),
        "workers": 2,
        "timeout": 30 * 60,
        "retry": 35 * 60,
        "max_attempts": 1,
        "catch_up": False,
        "save_limit": 1000,
        "label": "Background tasks",
    }
    redis_url = environ.get("REDIS_URL", "").strip()
    if redis_url:
        config["redis"] = redis_url
    else:
        config["orm"] = "default"
    return config
