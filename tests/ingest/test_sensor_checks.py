"""Readings of sensors that exist, only: the observation table has no foreign key constraint (README,
"The observation table"), so the import checks and locks the file's sensors once, and sensor deletes
through Django delete their readings. These tests attack it from another connection, as another
process would: a sensor deleted between staging and writing, and one whose delete is in flight.
"""

import sqlite3
import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest
from django.db import connection

from portfolio.ingest import import_readings
from portfolio.ingest.errors import ReadingsFileError
from portfolio.models import Observation, Sensor
from tests.factories import EquipmentFactory, FarmFactory, SensorFactory
from tests.ingest.files import LONG_HEADERS_BY_ID, csv_text, write_file

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sensors():
    farm = FarmFactory(farm_id="F-1", name="Farm one", timezone="UTC")
    equipment = EquipmentFactory(farm=farm, equipment_id="INV-1", name="Inverter 1")
    return [SensorFactory(equipment=equipment, sensor_id=f"S-{n}", sensor_type="dc_power") for n in range(3)]


def readings_file(tmp_path, sensor_ids, times=4):
    rows = [
        ["F-1", "INV-1", sensor_id, f"2024-06-01T{hour:02d}:00:00+00:00", f"{n}.5"]
        for n, sensor_id in enumerate(sensor_ids)
        for hour in range(times)
    ]
    return write_file(tmp_path, csv_text(rows, header=LONG_HEADERS_BY_ID))


def other_connection():
    """A second connection to the test database, not Django's: what another process holds."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return sqlite3.connect(settings["NAME"], isolation_level=None, timeout=30, check_same_thread=False)
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )


def sensor_table():
    return connection.ops.quote_name(Sensor._meta.db_table)


def on_writing(action):
    """A progress callback that runs ``action`` once, when the file is read and staged and the write begins."""
    done = []

    def progress(update):
        if update.phase == "writing" and not done:
            done.append(True)
            action()

    return progress


def test_a_sensor_deleted_after_staging_refuses_the_file_and_writes_nothing(sensors, tmp_path):
    path = readings_file(tmp_path, ["S-0", "S-1", "S-2"])
    gone = sensors[1]
    other = other_connection()

    def delete_sensor():
        other.execute(f"DELETE FROM {sensor_table()} WHERE id = {gone.pk}")

    try:
        with pytest.raises(ReadingsFileError) as refused:
            import_readings(path, time_basis="utc", progress=on_writing(delete_sensor))
    finally:
        other.close()

    message = str(refused.value.problems[0])
    assert "S-1" in message and "deleted while this file was imported" in message
    assert Observation.objects.count() == 0  # all or nothing: the other sensors' readings are not kept either
    assert not Sensor.objects.filter(pk=gone.pk).exists()


def test_a_sensor_delete_in_flight_is_waited_for_and_refuses_the_file(sensors, tmp_path):
    # The other connection has deleted the sensor but not committed when the write begins: the import
    # waits for it (PostgreSQL: the sensor's FOR KEY SHARE lock; SQLite: the write lock) and then refuses.
    path = readings_file(tmp_path, ["S-0", "S-1", "S-2"])
    gone = sensors[2]
    other = other_connection()
    committed = threading.Event()

    def commit_later():
        time.sleep(0.5)
        other.execute("COMMIT")
        committed.set()

    def delete_sensor():
        other.execute("BEGIN IMMEDIATE" if connection.vendor == "sqlite" else "BEGIN")
        other.execute(f"DELETE FROM {sensor_table()} WHERE id = {gone.pk}")
        threading.Thread(target=commit_later, daemon=True).start()

    try:
        with pytest.raises(ReadingsFileError) as refused:
            import_readings(path, time_basis="utc", progress=on_writing(delete_sensor))
        assert committed.is_set()  # the import went on only once the delete was committed
    finally:
        committed.wait(10)
        other.close()

    assert "deleted while this file was imported" in str(refused.value.problems[0])
    assert Observation.objects.count() == 0


def test_a_sensor_deleted_after_the_import_takes_its_readings_along(sensors, tmp_path):
    import_readings(readings_file(tmp_path, ["S-0", "S-1"]), time_basis="utc")
    assert Observation.objects.filter(sensor=sensors[0]).count() == 4

    sensors[0].delete()  # Django's collector deletes the readings: the database has no cascade of its own

    assert not Observation.objects.filter(sensor_id=sensors[0].pk).exists()
    assert Observation.objects.filter(sensor=sensors[1]).count() == 4
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # and no orphan is left behind the ORM's back
            cursor.execute(
                f"SELECT count(*) FROM {Observation._meta.db_table} o WHERE NOT EXISTS "
                f"(SELECT 1 FROM {sensor_table()} s WHERE s.id = o.sensor_id)"
            )
            assert cursor.fetchone()[0] == 0


def test_the_file_can_be_imported_again_once_it_no_longer_names_the_deleted_sensor(sensors, tmp_path):
    other = other_connection()
    try:
        with pytest.raises(ReadingsFileError):
            import_readings(
                readings_file(tmp_path, ["S-0", "S-1"]),
                time_basis="utc",
                progress=on_writing(lambda: other.execute(f"DELETE FROM {sensor_table()} WHERE id = {sensors[1].pk}")),
            )
    finally:
        other.close()
    result = import_readings(readings_file(tmp_path, ["S-0"]), time_basis="utc")
    assert result.rows_new == 4
    assert set(Observation.objects.values_list("observed_at", flat=True)) == {
        datetime(2024, 6, 1, hour, tzinfo=UTC) for hour in range(4)
    }
