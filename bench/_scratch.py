"""Shared by the benchmarks (not one itself: `make bench` skips files starting with _)."""

import os
import sys


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
