"""Events of one asset may not overlap: enforced by the database, not only by clean().

Django has no constraint that says this on both backends, so each gets its own:
PostgreSQL an exclusion constraint over [start, end) ranges (race-free under concurrent
writers), SQLite triggers (SQLite serialises writers, so a trigger is race-free there).
Touching events (one ends when the next starts) do not overlap.

On SQLite a later migration that rebuilds this table drops the triggers with it;
tests/portfolio/test_assets.py checks the database still refuses overlaps.
"""

from django.db import migrations

TABLE = "portfolio_demandresponseevent"
MESSAGE = "demand-response events of one asset may not overlap"

POSTGRESQL = (
    [
        "CREATE EXTENSION IF NOT EXISTS btree_gist",
        f'ALTER TABLE {TABLE} ADD CONSTRAINT event_no_overlap '
        f'EXCLUDE USING gist (asset_id WITH =, tstzrange("start", "end") WITH &&)',
    ],
    [f"ALTER TABLE {TABLE} DROP CONSTRAINT event_no_overlap"],
)

_SQLITE_TRIGGER = f"""
CREATE TRIGGER event_no_overlap_{{event}} BEFORE {{event}} ON {TABLE}
WHEN EXISTS (
    SELECT 1 FROM {TABLE} other
    WHERE other.asset_id = NEW.asset_id AND other.id IS NOT NEW.id
      AND other."start" < NEW."end" AND other."end" > NEW."start"
)
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
"""
SQLITE = (
    [_SQLITE_TRIGGER.format(event="INSERT"), _SQLITE_TRIGGER.format(event="UPDATE")],
    ["DROP TRIGGER event_no_overlap_INSERT", "DROP TRIGGER event_no_overlap_UPDATE"],
)


def _run(schema_editor, forwards):
    statements = {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(schema_editor.connection.vendor)
    if statements is None:
        return  # another backend: clean() still checks
    for sql in statements[0 if forwards else 1]:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("portfolio", "0001_initial")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: _run(schema_editor, forwards=True),
            lambda apps, schema_editor: _run(schema_editor, forwards=False),
        ),
    ]
