"""Turn environment variables into settings values.

Kept apart from ``settings.py`` so the rules (defaults, parsing, refusals) are plain
functions that tests can call with any environment.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}

# Development only: used when DEBUG is on and no SECRET_KEY is given.
DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-never-use-in-production"

# How long a SQLite connection waits for another writer (the worker, the web server)
# before giving up with "database is locked".
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


def secret_key(environ, debug):
    """The SECRET_KEY, refusing to start a non-debug process without a real one."""
    key = environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    if debug:
        return DEVELOPMENT_SECRET_KEY
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set SECRET_KEY in the environment (or DEBUG=1 for local development only)."
    )


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
            "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
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
