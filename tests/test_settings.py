"""The settings rules (portfolio/config.py), the live settings, and the processes they start.

The pure functions are called with plain dict environments. The process tests run
``manage.py`` for real with a minimal environment, and the broker test talks to the
django-q2 broker the current environment configures (ORM on SQLite, Redis when REDIS_URL is set).
"""

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portfolio import config

PROJECT_DIR = Path(__file__).resolve().parent.parent

# -- env_bool ---------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["1", "true", "True", "YES", "on", " on "])
def test_env_bool_reads_true_words_as_true(word):
    assert config.env_bool({"DEBUG": word}, "DEBUG") is True


@pytest.mark.parametrize("word", ["0", "false", "FALSE", "no", "off", ""])
def test_env_bool_reads_false_words_as_false(word):
    assert config.env_bool({"DEBUG": word}, "DEBUG", default=True) is False


def test_env_bool_uses_the_default_when_the_variable_is_missing():
    assert config.env_bool({}, "DEBUG") is False
    assert config.env_bool({}, "DEBUG", default=True) is True


def test_env_bool_refuses_a_value_that_is_not_a_boolean_and_names_the_variable():
    with pytest.raises(ImproperlyConfigured, match="SECURE_COOKIES"):
        config.env_bool({"SECURE_COOKIES": "maybe"}, "SECURE_COOKIES")


# -- env_list ---------------------------------------------------------------------------------


def test_env_list_splits_on_commas_and_drops_blanks():
    environ = {"ALLOWED_HOSTS": " example.com, www.example.com,, localhost ,"}
    assert config.env_list(environ, "ALLOWED_HOSTS") == ["example.com", "www.example.com", "localhost"]


def test_env_list_uses_the_default_when_the_variable_is_missing():
    assert config.env_list({}, "ALLOWED_HOSTS", default=("localhost",)) == ["localhost"]
    assert config.env_list({}, "ALLOWED_HOSTS") == []


def test_env_list_of_an_empty_variable_is_empty():
    assert config.env_list({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS", default=["localhost"]) == []


# -- secret_key -------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [True, False])
def test_secret_key_uses_the_given_key(debug):
    key = "a-real-key-" + "0123456789abcdefghij" * 3
    assert config.secret_key({"SECRET_KEY": key}, debug=debug) == key


def test_secret_key_falls_back_to_the_development_key_only_in_debug():
    assert config.secret_key({}, debug=True) == config.DEVELOPMENT_SECRET_KEY


@pytest.mark.parametrize("environ", [{}, {"SECRET_KEY": ""}, {"SECRET_KEY": "   "}])
def test_secret_key_is_required_when_debug_is_off(environ):
    with pytest.raises(ImproperlyConfigured, match="Set SECRET_KEY"):
        config.secret_key(environ, debug=False)


# -- database ---------------------------------------------------------------------------------


def test_database_defaults_to_a_sqlite_file_under_var(tmp_path):
    db = config.database({}, tmp_path)

    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(db["NAME"]).parent == tmp_path / "var"
    assert (tmp_path / "var").is_dir()


def test_database_sqlite_gets_wal_immediate_transactions_and_a_busy_timeout(tmp_path):
    options = config.database({}, tmp_path)["OPTIONS"]

    assert "journal_mode=WAL" in options["init_command"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] > 0


def test_database_sqlite_url_gets_the_same_options(tmp_path):
    path = tmp_path / "elsewhere" / "db.sqlite3"
    db = config.database({"DATABASE_URL": f"sqlite:///{path}"}, tmp_path)

    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(db["NAME"]) == path
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_database_postgres_url_is_parsed(tmp_path):
    url = "postgres://solar:s3cret@db.example.com:5433/portfolio"
    db = config.database({"DATABASE_URL": url}, tmp_path)

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["HOST"] == "db.example.com"
    assert db["PORT"] == 5433
    assert db["NAME"] == "portfolio"
    assert db["USER"] == "solar"
    assert db["PASSWORD"] == "s3cret"
    assert "OPTIONS" not in db or "init_command" not in db["OPTIONS"]


@pytest.mark.parametrize("url", ["not a url", "foo://bar/baz"])
def test_database_refuses_a_garbage_url(tmp_path, url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        config.database({"DATABASE_URL": url}, tmp_path)


# -- q_cluster --------------------------------------------------------------------------------


def test_q_cluster_without_redis_uses_the_orm_broker():
    cluster = config.q_cluster({})

    assert cluster["orm"] == "default"
    assert "redis" not in cluster


def test_q_cluster_with_redis_url_uses_redis():
    cluster = config.q_cluster({"REDIS_URL": "redis://cache.example.com:6379/2"})

    assert cluster["redis"] == "redis://cache.example.com:6379/2"
    assert "orm" not in cluster


@pytest.mark.parametrize("environ", [{}, {"REDIS_URL": "redis://127.0.0.1:6379/0"}])
def test_q_cluster_retry_exceeds_timeout_and_never_catches_up(environ):
    cluster = config.q_cluster(environ)

    assert cluster["timeout"] > 0
    assert cluster["retry"] > cluster["timeout"]
    assert cluster["catch_up"] is False


# -- the live settings ------------------------------------------------------------------------


def test_live_settings_use_utc_and_aware_datetimes():
    assert settings.TIME_ZONE == "UTC"
    assert settings.USE_TZ is True


def test_live_q_cluster_follows_redis_url():
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if redis_url:
        assert settings.Q_CLUSTER.get("redis") == redis_url
        assert "orm" not in settings.Q_CLUSTER
    else:
        assert settings.Q_CLUSTER.get("orm") == "default"
        assert "redis" not in settings.Q_CLUSTER


def test_live_database_engine_follows_database_url():
    engine = settings.DATABASES["default"]["ENGINE"]
    if os.environ.get("DATABASE_URL", "").strip().startswith("postgres"):
        assert engine == "django.db.backends.postgresql"
    else:
        assert engine == "django.db.backends.sqlite3"


# -- real processes ---------------------------------------------------------------------------


def run_manage(*args, **extra_env):
    """Run manage.py in a fresh process with a minimal environment plus ``extra_env``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "portfolio.settings"
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_refuses_to_start_without_secret_key_when_debug_is_off():
    result = run_manage("check", DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_makemigrations_check_runs_on_a_fresh_checkout_without_secret_key(tmp_path):
    result = run_manage(
        "makemigrations", "--check", "--dry-run", DEBUG="0", DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}"
    )

    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_check_starts_without_secret_key_in_debug():
    result = run_manage("check", DEBUG="1")

    assert result.returncode == 0, result.stderr


def test_migrate_leaves_the_sqlite_file_in_wal_mode(tmp_path):
    db_file = tmp_path / "x.sqlite3"
    result = run_manage("migrate", "--noinput", DEBUG="1", DATABASE_URL=f"sqlite:///{db_file}")

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db_file) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    connection.close()
    assert "django_migrations" in tables


# -- the configured django-q2 broker ----------------------------------------------------------


def expected_broker_class():
    if os.environ.get("REDIS_URL", "").strip():
        from django_q.brokers.redis_broker import Redis

        return Redis
    from django_q.brokers.orm import ORM

    return ORM


@pytest.mark.django_db
def test_configured_broker_round_trips_a_task():
    from django_q.brokers import get_broker

    broker = get_broker(list_key=f"test-settings-{uuid.uuid4().hex}")
    assert type(broker) is expected_broker_class()

    payload = f"payload-{uuid.uuid4().hex}"
    try:
        broker.enqueue(payload)

        # The ORM broker only hands out tasks whose lock time has passed; poll briefly.
        tasks = None
        deadline = time.monotonic() + 10
        while not tasks and time.monotonic() < deadline:
            tasks = broker.dequeue()
        assert tasks, "the broker returned nothing"
        assert len(tasks) == 1

        task_id, received = tasks[0]
        broker.acknowledge(task_id)
        if isinstance(received, bytes):
            received = received.decode()
        assert received == payload
        assert broker.queue_size() == 0
    finally:
        broker.delete_queue()


def test_env_file_is_optional_and_reads_name_value_lines(tmp_path):
    from portfolio.config import read_env_file

    assert read_env_file(tmp_path / "missing.env") == {}
    env_file = tmp_path / ".env"
    env_file.write_text("# development\n\nDEBUG=1\nSECRET_KEY = 'quoted value'\nALLOWED_HOSTS=a,b\n")
    assert read_env_file(env_file) == {"DEBUG": "1", "SECRET_KEY": "quoted value", "ALLOWED_HOSTS": "a,b"}


def test_env_file_line_without_equals_sign_is_refused_with_its_line_number(tmp_path):
    from portfolio.config import read_env_file

    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=1\nnonsense\n")
    with pytest.raises(ImproperlyConfigured, match=r"line 2: expected NAME=value, found 'nonsense'"):
        read_env_file(env_file)
