"""The observation table made cheaper to write (issue 17, README "The observation table").

- The foreign key to the sensor loses its database constraint: the import checks and locks the
  file's sensors once (ingest/staging.py) instead of PostgreSQL checking every row; sensor deletes
  through Django still delete their readings (on_delete=CASCADE is Django's collector).
- PostgreSQL only: the ``ingested_at`` index becomes BRIN (ingestion time grows with the table's
  physical order, so a block range summary finds "ingested since X" at the end of the table), and
  the unique ``(sensor_id, observed_at)`` index carries the value (``INCLUDE``), so charts and
  roll-ups over a sensor's range are index-only scans. SQLite keeps its btree and plain unique
  index. The model state is the same on both: Django sees a plain index and a plain unique key.
"""

from django.db import migrations, models

TABLE = "portfolio_observation"
INDEX = "observation_ingested_at"
UNIQUE = "observation_unique_sensor_time"
# 32 pages (about 3,800 readings) a range: a recent watermark reads at most that much past what it
# needs, and the index stays tiny (about 300 ranges a million readings).
PAGES_PER_RANGE = 32


def lean_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX {INDEX}")
    schema_editor.execute(
        f"CREATE INDEX {INDEX} ON {TABLE} USING brin (ingested_at) "
        f"WITH (pages_per_range = {PAGES_PER_RANGE}, autosummarize = on)"
    )
    schema_editor.execute(
        f"ALTER TABLE {TABLE} DROP CONSTRAINT {UNIQUE}, "
        f"ADD CONSTRAINT {UNIQUE} UNIQUE (sensor_id, observed_at) INCLUDE (value)"
    )


def btree_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX {INDEX}")
    schema_editor.execute(f"CREATE INDEX {INDEX} ON {TABLE} (ingested_at)")
    schema_editor.execute(
        f"ALTER TABLE {TABLE} DROP CONSTRAINT {UNIQUE}, ADD CONSTRAINT {UNIQUE} UNIQUE (sensor_id, observed_at)"
    )


class Migration(migrations.Migration):
    dependencies = [("portfolio", "0010_user_preferences")]

    operations = [
        migrations.AlterField(
            model_name="observation",
            name="sensor",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="observations",
                to="portfolio.sensor",
            ),
        ),
        migrations.RunPython(lean_indexes, btree_indexes, elidable=False),
    ]
