"""Migration 0011 (no foreign key constraint; BRIN and INCLUDE (value) on PostgreSQL) keeps every reading."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("portfolio", "0010_user_preferences")]
AFTER = [("portfolio", "0011_observation_lean_keys")]
START = datetime(2024, 6, 1, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def readings(apps):
    Observation = apps.get_model("portfolio", "Observation")
    return sorted(Observation.objects.values_list("id", "sensor_id", "observed_at", "value", "ingested_at"))


def index_shapes():
    """PostgreSQL: (access method of the ingested_at index, definition of the unique key's index)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT am.amname FROM pg_class i JOIN pg_am am ON am.oid = i.relam WHERE i.relname = %s",
            ["observation_ingested_at"],
        )
        (method,) = cursor.fetchone()
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", ["observation_unique_sensor_time"])
        (unique,) = cursor.fetchone()
    return method, unique


def test_a_populated_table_keeps_every_reading_forward_and_back():
    old = migrate(BEFORE)
    try:
        portfolio = old.get_model("portfolio", "Portfolio").objects.create(name="Migrated", slug="migrated")
        farm = old.get_model("portfolio", "Farm").objects.create(
            portfolio=portfolio, farm_id="F-1", name="Farm one", timezone="UTC"
        )
        equipment = old.get_model("portfolio", "Equipment").objects.create(
            farm=farm, equipment_id="INV-1", name="Inverter 1", equipment_type="inverter"
        )
        Sensor = old.get_model("portfolio", "Sensor")
        sensors = [
            Sensor.objects.create(equipment=equipment, sensor_id=f"S-{n}", sensor_type="dc_power") for n in range(3)
        ]
        Observation = old.get_model("portfolio", "Observation")
        Observation.objects.bulk_create(
            Observation(
                sensor=sensor,
                observed_at=START + timedelta(minutes=15 * t),
                value=n * 1000 + t / 7,
                ingested_at=START + timedelta(days=1, seconds=t),
            )
            for n, sensor in enumerate(sensors)
            for t in range(500)
        )
        before = readings(old)

        new = migrate(AFTER)
        after = readings(new)
        if connection.vendor == "postgresql":
            method, unique = index_shapes()
            assert method == "brin"
            assert "INCLUDE (value)" in unique

        back = migrate(BEFORE)
        reverted = readings(back)
        if connection.vendor == "postgresql":
            method, unique = index_shapes()
            assert method == "btree"
            assert "INCLUDE" not in unique
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("portfolio"))

    assert len(before) == 1500
    assert after == before  # same ids, sensors, times, values and ingestion times
    assert reverted == before
