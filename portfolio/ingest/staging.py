"""Stage readings in a temporary table, then upsert them into the observation table in one statement.

Staging keeps a refused file out of the real table, lets the database (not Python's
memory) find keys given twice, and turns a million inserts into one set-based upsert.
PostgreSQL stages with ``COPY``; SQLite with batched ``executemany`` into a keyed table.
A temporary table is private to the connection, and on SQLite writing it takes no lock
on the database file, so the web server and workers carry on while a file is read.
"""

import queue
import threading
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from portfolio.models import Observation, Sensor

STAGING = "ingest_staging"
SENSOR_MAP = "ingest_sensors"
RANGES = "ingest_ranges"  # PostgreSQL: each staged sensor's time range
UNIQUE_VIOLATION = "23505"


class RepeatedKeys(Exception):
    """The write met a sensor and time staged twice (or written meanwhile by another import): group, then redo."""


class SensorsDeleted(Exception):
    """Sensors the file names were deleted between reading the file and writing its readings."""

    def __init__(self, sensor_pks):
        super().__init__(f"sensors deleted during the import: {sensor_pks}")
        self.sensor_pks = sensor_pks


@dataclass(frozen=True)
class Conflict:
    """One sensor and time given more than once with different values."""

    sensor_ref: int
    observed_at: str  # UTC, as text for messages
    staged_at: str  # as the stage's time_text wrote it
    lines: tuple[int, ...]
    values: tuple[float, ...]


class Stage:
    """Base of the two stages. The reader appends ``make_row(...)`` results to a list and hands
    each full list to ``write``; ``finish`` waits until everything handed over is staged."""

    batch_rows = 50_000

    def __init__(self):
        self.rows = 0  # rows staged, duplicates included
        self.table = connection.ops.quote_name(Observation._meta.db_table)
        self.sensor_table = connection.ops.quote_name(Sensor._meta.db_table)
        self.analyzed = self.grouped = False

    def __enter__(self):
        with connection.cursor() as cursor:
            self._create(cursor)
        return self

    def __exit__(self, *exc_info):
        self._stop()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
            cursor.execute(f"DROP TABLE IF EXISTS {SENSOR_MAP}")
            cursor.execute(f"DROP TABLE IF EXISTS {RANGES}")

    def write(self, rows):
        if rows:
            self.rows += len(rows)
            self._write(rows)

    def finish(self):
        self._stop()

    def _stop(self):
        pass

    def distinct_rows(self):
        """Rows staged, each key once (after repeats are dropped)."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {STAGING}")
            return cursor.fetchone()[0]

    @staticmethod
    def _check_sensors(wanted, found):
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            raise SensorsDeleted(missing)

    def _map_sensors(self, cursor, sensor_pks):
        cursor.execute(f"DROP TABLE IF EXISTS {SENSOR_MAP}")
        cursor.execute(f"CREATE TEMPORARY TABLE {SENSOR_MAP} (ref integer PRIMARY KEY, sensor_id bigint NOT NULL)")
        cursor.executemany(f"INSERT INTO {SENSOR_MAP} (ref, sensor_id) VALUES (%s, %s)", list(enumerate(sensor_pks)))


class PostgresStage(Stage):
    """COPY into a temporary table from a second thread, so PostgreSQL stores one batch while
    Python parses the next (psycopg holds the connection's lock for a whole COPY, so the
    reader's own catalog queries wait for it rather than interleave)."""

    def _create(self, cursor):
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGING} (line integer NOT NULL, sensor_ref integer NOT NULL, "
            "observed_at timestamptz NOT NULL, value double precision NOT NULL)"
        )
        connection.ensure_connection()
        self._batches = queue.Queue(maxsize=2)  # bounds memory: at most two batches wait
        self._error = None
        self._thread = threading.Thread(target=self._copy_batches, args=(connection.connection,), daemon=True)
        self._thread.start()

    def _copy_batches(self, raw_connection):
        while (batch := self._batches.get()) is not None:
            if self._error is not None:
                continue  # keep draining so the reader never blocks; the error is raised to it
            try:
                statement = f"COPY {STAGING} (line, sensor_ref, observed_at, value) FROM STDIN"
                with raw_connection.cursor() as cursor, cursor.copy(statement) as copy:
                    copy.write(batch)
            except BaseException as error:  # handed to the reader's thread
                self._error = error

    def _write(self, rows):
        self._raise_error()
        self._batches.put("".join(rows))

    def _stop(self):
        if self._thread.is_alive():
            self._batches.put(None)
            self._thread.join()
        self._raise_error()

    def _raise_error(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    @staticmethod
    def time_text(moment):
        return str(moment)  # '2024-06-01 00:15:00+00:00'; COPY reads it as timestamptz

    @staticmethod
    def make_row(line, sensor_ref, observed_at, value, text):
        # The file's own text when float() read it plainly: PostgreSQL reads the same number. Not for
        # zero: '1e-400' is 0.0 to Python but "out of range" to PostgreSQL.
        plain = value != 0.0 and text.isascii() and text.strip() == text  # no tab or line end to upset COPY
        return f"{line}\t{sensor_ref}\t{observed_at}\t{text if plain else repr(value)}\n"

    def conflicts(self, limit):
        """(number of conflicting keys, the first ``limit`` of them by line)."""
        grouped = (
            f"SELECT sensor_ref, observed_at, array_agg(line ORDER BY line) AS lines, "
            f"array_agg(value ORDER BY line) AS vals FROM {STAGING} GROUP BY sensor_ref, observed_at "
            "HAVING count(DISTINCT value) > 1"
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({grouped}) g")
            (total,) = cursor.fetchone()
            cursor.execute(f"{grouped} ORDER BY min(line) LIMIT %s", [limit])  # NULL: no limit
            found = [
                Conflict(
                    ref,
                    observed_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    self.time_text(observed_at),
                    tuple(lines),
                    tuple(values),
                )
                for ref, observed_at, lines, values in cursor.fetchall()
            ]
        return total, found

    def drop_conflicts(self):
        """Leave out every key given with different values, and all but the first of identical repeats."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {STAGING} s USING (SELECT sensor_ref, observed_at, min(line) AS keep, "
                f"count(DISTINCT value) AS n FROM {STAGING} GROUP BY sensor_ref, observed_at HAVING count(*) > 1) d "
                "WHERE s.sensor_ref = d.sensor_ref AND s.observed_at = d.observed_at AND (d.n > 1 OR s.line <> d.keep)"
            )

    def prepare(self, check_conflicts, *, grouped=False):
        """Finish staging; with ``grouped``, also deal with keys given twice. Return the distinct rows.

        Before the write. The first attempt skips the grouping pass: the write itself notices a
        key given twice (``RepeatedKeys``) and the importer then calls this again with ``grouped``.
        ``check_conflicts(stage)`` raises to refuse the file, or returns to leave those keys out.
        Only the private staging tables are touched, so this is done outside the (retried) write.
        """
        self.finish()
        with transaction.atomic(), connection.cursor() as cursor:
            if not self.analyzed:
                # Temporary tables get no statistics of their own; without them the planner guesses badly.
                cursor.execute(f"ANALYZE {STAGING}")
                self.analyzed = True
            if grouped:
                cursor.execute("SET LOCAL work_mem = '64MB'")  # the check below groups every staged row
                cursor.execute(
                    f"SELECT EXISTS (SELECT 1 FROM {STAGING} GROUP BY sensor_ref, observed_at HAVING count(*) > 1)"
                )
                self.grouped = True
                if cursor.fetchone()[0]:
                    check_conflicts(self)
                    self.drop_conflicts()
                    self.rows = self.distinct_rows()
            # Each sensor's staged time range: where its existing readings are looked for, once per import.
            cursor.execute(f"DROP TABLE IF EXISTS {RANGES}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {RANGES} AS SELECT sensor_ref, min(observed_at) AS low, "
                f"max(observed_at) AS high FROM {STAGING} GROUP BY sensor_ref"
            )
            cursor.execute(f"ANALYZE {RANGES}")
        return self.rows

    def upsert(self, sensor_pks, now):
        """Write the prepared rows; return (new, updated). Inside the import's transaction.

        Raises ``RepeatedKeys`` when a key was staged twice and ``prepare`` did not group yet, or
        when another import wrote one of the new keys first (then redoing the write updates it).

        Rows are written in (sensor, time) order, whatever the file's order: two imports of
        the same sensors then lock the same rows in the same order, and one waits for the
        other instead of both deadlocking. The rows already stored are updated first, with the
        upsert; the rest go in with a plain ``INSERT``, which is cheaper than ``ON CONFLICT``.
        """
        with connection.cursor() as cursor:
            self._map_sensors(cursor, sensor_pks)
            cursor.execute("SET LOCAL work_mem = '64MB'")  # the sorts and hashes below
            self._lock_sensors(cursor)
            # The stored readings inside the staged sensors' time ranges: one index range scan per sensor.
            stored = (
                f"SELECT x.sensor_id, x.observed_at FROM {RANGES} r JOIN {SENSOR_MAP} rm ON rm.ref = r.sensor_ref "
                f"JOIN {self.table} x ON x.sensor_id = rm.sensor_id AND x.observed_at BETWEEN r.low AND r.high"
            )
            staged = f"{STAGING} s JOIN {SENSOR_MAP} m ON m.ref = s.sensor_ref"
            distinct_known = (
                "0" if self.grouped else "(SELECT count(*) FROM (SELECT DISTINCT sensor_id, observed_at FROM known) k)"
            )
            # A value that did not change keeps its ingested_at, so it is not uploaded again. A key
            # staged twice is counted here: DO UPDATE ... WHERE could otherwise hide it.
            cursor.execute(
                f"WITH known AS MATERIALIZED (SELECT m.sensor_id, s.observed_at, s.value FROM {staged} "
                f"JOIN ({stored}) e ON e.sensor_id = m.sensor_id AND e.observed_at = s.observed_at), "
                f"written AS (INSERT INTO {self.table} AS o (sensor_id, observed_at, value, ingested_at) "
                "SELECT sensor_id, observed_at, value, %s FROM known ORDER BY sensor_id, observed_at "
                "ON CONFLICT (sensor_id, observed_at) DO UPDATE "
                "SET value = EXCLUDED.value, ingested_at = EXCLUDED.ingested_at "
                "WHERE o.value IS DISTINCT FROM EXCLUDED.value RETURNING 1) "
                f"SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM known), {distinct_known}",
                [now],
            )
            updated, known, known_distinct = cursor.fetchone()
            if not self.grouped and known != known_distinct:
                raise RepeatedKeys
            # The rest are new: a plain INSERT, whose unique index still refuses a key staged twice.
            try:
                cursor.execute(
                    f"INSERT INTO {self.table} (sensor_id, observed_at, value, ingested_at) "
                    f"SELECT m.sensor_id, s.observed_at, s.value, %s FROM {staged} LEFT JOIN ({stored}) e "
                    "ON e.sensor_id = m.sensor_id AND e.observed_at = s.observed_at WHERE e.sensor_id IS NULL "
                    "ORDER BY m.sensor_id, s.observed_at",
                    [now],
                )
            except IntegrityError as error:
                if getattr(error.__cause__, "sqlstate", None) == UNIQUE_VIOLATION:
                    raise RepeatedKeys from error
                raise
            new = cursor.rowcount
        # Each statement has its own snapshot: keys another import committed between the two were
        # neither known to the first nor new to the second. Redo the write: they are known now.
        if known + new != self.rows:
            raise RepeatedKeys
        return new, updated

    def _lock_sensors(self, cursor):
        """The observation table has no foreign key constraint (README, "The observation table"): check
        once that every staged sensor exists, and hold it (FOR KEY SHARE) until the commit, so a
        concurrent delete of one waits for this import, or this import fails if it came first."""
        cursor.execute(
            f"SELECT sensor_id FROM {SENSOR_MAP} m JOIN {RANGES} r ON r.sensor_ref = m.ref ORDER BY sensor_id"
        )
        wanted = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT id FROM {self.sensor_table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE", [wanted])
        self._check_sensors(wanted, {row[0] for row in cursor.fetchall()})


class SqliteStage(Stage):
    batch_rows = 20_000

    def _create(self, cursor):
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        # Keyed like the real table: a repeated key lands on the first row and marks it.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGING} (sensor_ref integer NOT NULL, observed_at text NOT NULL, "
            "value real NOT NULL, line integer NOT NULL, last_line integer, last_value real, "
            "conflict integer NOT NULL DEFAULT 0, PRIMARY KEY (sensor_ref, observed_at)) WITHOUT ROWID"
        )

    @staticmethod
    def time_text(moment):
        return str(moment.replace(tzinfo=None))  # how Django stores an aware datetime in SQLite (UTC)

    @staticmethod
    def make_row(line, sensor_ref, observed_at, value, text):
        return (sensor_ref, observed_at, value, line)

    def _write(self, rows):
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {STAGING} (sensor_ref, observed_at, value, line) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (sensor_ref, observed_at) DO UPDATE SET last_line = excluded.line, "
                "last_value = excluded.value, conflict = conflict OR value IS NOT excluded.value",
                rows,
            )

    def conflicts(self, limit):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {STAGING} WHERE conflict")
            (total,) = cursor.fetchone()
            cursor.execute(
                f"SELECT sensor_ref, observed_at, line, value, last_line, last_value FROM {STAGING} "
                "WHERE conflict ORDER BY line LIMIT %s",
                [-1 if limit is None else limit],  # -1: no limit
            )
            found = [
                Conflict(ref, f"{observed_at[:19]} UTC", observed_at, (line, last_line), (value, last_value))
                for ref, observed_at, line, value, last_line, last_value in cursor.fetchall()
            ]
        return total, found

    def drop_conflicts(self):
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {STAGING} WHERE conflict")

    def prepare(self, check_conflicts, *, grouped=False):
        # The keyed staging table marked repeated keys as they came: no grouping pass to skip.
        self.finish()
        self.grouped = True
        if self.conflicts(0)[0]:
            check_conflicts(self)
            self.drop_conflicts()
        return self.distinct_rows()

    def upsert(self, sensor_pks, now):
        # SQLite has one writer at a time (IMMEDIATE transactions): no order can deadlock it.
        now = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            self._map_sensors(cursor, sensor_pks)
            # No foreign key constraint (README, "The observation table"): every staged sensor is looked
            # up once. The write transaction is IMMEDIATE, so none can be deleted before it commits.
            cursor.execute(
                f"SELECT m.sensor_id FROM (SELECT DISTINCT sensor_ref FROM {STAGING}) s JOIN {SENSOR_MAP} m "
                f"ON m.ref = s.sensor_ref WHERE NOT EXISTS (SELECT 1 FROM {self.sensor_table} WHERE id = m.sensor_id)"
            )
            missing = sorted(row[0] for row in cursor.fetchall())
            if missing:
                raise SensorsDeleted(missing)
            # Counted inside the write's transaction: another import may have written some meanwhile.
            cursor.execute(
                f"SELECT count(*) FROM {STAGING} s JOIN {SENSOR_MAP} m ON m.ref = s.sensor_ref "
                f"JOIN {self.table} o ON o.sensor_id = m.sensor_id AND o.observed_at = s.observed_at"
            )
            (existing,) = cursor.fetchone()
            # "WHERE true": SQLite's grammar needs it between SELECT ... JOIN and ON CONFLICT.
            cursor.execute(
                f"INSERT INTO {self.table} (sensor_id, observed_at, value, ingested_at) "
                f"SELECT m.sensor_id, s.observed_at, s.value, %s FROM {STAGING} s JOIN {SENSOR_MAP} m "
                "ON m.ref = s.sensor_ref WHERE true ON CONFLICT (sensor_id, observed_at) DO UPDATE "
                "SET value = excluded.value, ingested_at = excluded.ingested_at "
                f"WHERE {self.table}.value IS NOT excluded.value",
                [now],
            )
            written = cursor.rowcount
            cursor.execute(f"SELECT count(*) FROM {STAGING}")
            (distinct,) = cursor.fetchone()
        new = distinct - existing
        return new, written - new


def stage_for_connection():
    if connection.vendor == "postgresql":
        return PostgresStage()
    if connection.vendor == "sqlite":
        return SqliteStage()
    raise NotImplementedError(f"the readings import supports PostgreSQL and SQLite, not {connection.vendor}")
