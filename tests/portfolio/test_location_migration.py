"""Migration 0008 moves a populated database to whole addresses and plausible years, losing no location."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("portfolio", "0007_import_heartbeat")]
AFTER = [("portfolio", "0008_complete_addresses_and_plausible_years")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def test_incomplete_addresses_become_one_line_addresses_and_implausible_years_are_cleared(capsys):
    old = migrate(BEFORE)
    try:
        portfolio = old.get_model("portfolio", "Portfolio").objects.create(name="Migrated", slug="migrated")
        Meter = old.get_model("portfolio", "Meter")
        Asset = old.get_model("portfolio", "Asset")
        partial = Meter.objects.create(portfolio=portfolio, name="Street and city", street="1 Main St", city="Ames")
        both = Meter.objects.create(
            portfolio=portfolio, name="Parts and a line", street="1 Main St", city="Ames", address="1 Main St Ames IA"
        )
        old_house = Asset.objects.create(
            portfolio=portfolio,
            name="Old house",
            custom_id="OLD-1",
            kind="electrification_eemetered",
            latitude=42.0,
            longitude=-93.6,
            year_built=1650,
        )

        new = migrate(AFTER)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("portfolio"))

    Meter = new.get_model("portfolio", "Meter")
    partial = Meter.objects.get(pk=partial.pk)
    assert (partial.address, partial.street, partial.city) == ("1 Main St, Ames", "1 Main St", "Ames")
    assert Meter.objects.get(pk=both.pk).address == "1 Main St Ames IA"  # already had a location: untouched
    assert new.get_model("portfolio", "Asset").objects.get(pk=old_house.pk).year_built is None
    assert "Asset 'OLD-1': year built 1650 cleared (before 1800)." in capsys.readouterr().out
