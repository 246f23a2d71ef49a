"""Shared by the benchmarks (not one itself: `make bench` skips files starting with _)."""

import os
import sys

# A server's settings (no DEBUG) with keys fit only for a benchmark, plain HTTP, and the local
# sandbox let through the outbound rules (docs/security.md): what every benchmark runs with.
BENCH_ENVIRONMENT = {
    "SECRET_KEY": "bench-only-secret-key-not-for-any-server-0123456789-abcdefghij",
    "SECRETS_ENCRYPTION_KEYS": "bench-only-encryption-passphrase-0123456789",
    "OUTBOUND_ALLOW_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",  # the admin benchmarks speak plain HTTP to the test client
    "DJANGO_SETTINGS_MODULE": "portfolio.settings",
}


def use_bench_environment():
    """Fill in BENCH_ENVIRONMENT where the environment does not say otherwise."""
    for name, value in BENCH_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def recreate_database():
    """Drop and create the scratch PostgreSQL database DATABASE_URL names (the bench sets it)."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    if config["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("This benchmark runs on PostgreSQL: set BENCH_DATABASE_URL=postgres://...")
    with psycopg.connect(
        host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"], dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}"')
        connection.execute(f'CREATE DATABASE "{config["NAME"]}"')
