"""Migrations: every model change has one, and the test database has them all applied."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

PROJECT_APPS = ["portfolio", "uploads"]


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration():
    # --check exits with SystemExit(1) when makemigrations would write a migration.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
@pytest.mark.parametrize("app_label", PROJECT_APPS)
def test_project_app_migrations_are_applied(app_label):
    executor = MigrationExecutor(connection)
    loader = executor.loader

    assert app_label in loader.migrated_apps, f"{app_label} has no migrations package"

    on_disk = {key for key in loader.disk_migrations if key[0] == app_label}
    unapplied = sorted(on_disk - set(loader.applied_migrations))
    assert unapplied == []

    targets = [node for node in loader.graph.leaf_nodes() if node[0] == app_label]
    assert executor.migration_plan(targets) == []
