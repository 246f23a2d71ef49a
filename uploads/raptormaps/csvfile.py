"""The Raptor Maps CSV (contract §1.4): readings rolled up to 15-minute rows, written as part files.

``build_parts`` writes every row to send for some farms into files of at most ``part_bytes``
bytes, each a complete CSV with the header row, cut on row boundaries. What is sent:

- a farm without a watermark (``since`` None): every 15-minute bucket holding a reading
  ingested by ``until``;
- a farm with a watermark: every (sensor, bucket) holding a reading ingested after ``since``
  and by ``until``.

Either way a row's value rolls up ALL the sensor's readings in its bucket, so a late reading
sends its bucket again, complete. Readings ingested after ``until`` count in a bucket that is
sent (the bucket is touched again by the next run) but never make a bucket be sent.

Buckets are 15 minutes of the farm's wall clock (of UTC in the "utc" time basis), labelled by
their start, so zones 30 or 45 minutes off UTC get buckets on their own quarter hours. When the
clocks turn back, the repeated hour would give two rows with the same (sensor, observation_time);
instead both occurrences roll up into one row (the average of all their readings, or the maximum,
right for a cumulative register), and the run's notes say so per farm and day. The hour skipped
when the clocks go forward simply has no rows.

The two databases take two paths to the same bytes. PostgreSQL does the grouping, the
aggregation and the formatting in SQL and streams ``COPY ... TO STDOUT (FORMAT csv)`` into the
part files in chunks. SQLite is read a sensor at a time, in time order, and rolled up here.
The arithmetic of both is the same (see ``_Bucket``), so both write the same bytes.
"""

import csv
import hashlib
import heapq
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from portfolio.choices import SENSOR_TYPES, Aggregation
from portfolio.ingest.formats import RAPTOR_HEADERS
from portfolio.models import Equipment, Farm, Observation, Sensor
from portfolio.validators import MAX_FLOAT
from uploads.outbound.decimals import plain_decimal

__all__ = ["HEADERS", "TIME_BASES", "CsvBuild", "Part", "PartTooSmall", "build_parts", "plain_decimal", "stream_copy"]

HEADERS = RAPTOR_HEADERS
TIME_BASES = ("local", "utc")
BUCKET = timedelta(minutes=15)
CHUNK_BYTES = 1 << 20  # rows are handed to the part files about a megabyte at a time

# Averages are summed scaled down by 2**-32: the sum of up to 2**31 finite readings then cannot
# overflow (PostgreSQL raises on float overflow), and for ordinary values the result is bit for bit
# the plain sum divided by the count. Readings smaller than TINY count as 0, so scaling never
# underflows to zero either (PostgreSQL raises on that too). The mean of finite values is finite;
# LIMIT clamps the last bit of rounding so that scaling back up cannot overflow.
SCALE = 2.0**-32
UNSCALE = 2.0**32
TINY = 2.0**-900
LIMIT = MAX_FLOAT * SCALE

MAXIMUM_TYPES = tuple(str(t) for t, spec in SENSOR_TYPES.items() if spec.aggregation == Aggregation.MAXIMUM)


@dataclass(frozen=True)
class Part:
    number: int  # 1-based
    path: Path
    rows: int  # data rows (header not counted)
    bytes: int  # file size including the header row
    sha256: str  # hex


@dataclass
class CsvBuild:
    """What ``build_parts`` wrote.

    ``skipped_nonfinite`` is the contract's count of rows left out because their value was not
    finite. With readings the database accepts it is always 0: its check constraint keeps them
    finite, a maximum of finite values is finite, and averages are summed scaled (``SCALE``) so
    that they cannot overflow; an average of huge values is written, correct.
    """

    parts: list[Part]  # empty when there is nothing to send
    rows: int  # total data rows
    bytes: int
    readings: int  # raw observations rolled up into those rows
    skipped_nonfinite: int = 0
    notes: list[str] = field(default_factory=list)  # lines for the run log


class PartTooSmall(ValueError):
    """The byte cap per part cannot hold the header row plus one data row."""


def build_parts(farms, *, since, until, time_basis, part_bytes, directory, prefix="raptormaps"):
    """Write the farms' rows to send as CSV parts ``{prefix}-0001.csv``, ... in ``directory``.

    ``since`` maps a farm's pk to its watermark, an aware datetime, or None (or no entry) to send
    its whole history; ``until`` is the inclusive upper bound on ``ingested_at``. ``time_basis``
    "local" writes times in each farm's zone and its IANA name in the ``timezone`` column; "utc"
    writes times in UTC and ``UTC`` in that column (an assumption: the contract names zones, and
    UTC is one). Rows are ordered by farm_id, equipment_id, sensor type, sensor_id, time.

    Text: RFC 4180 quoting, UTF-8 without BOM, ``\\n`` line ends. A CR or LF inside a name is
    written as a space, so that one row is one line and parts can be cut at any line end.
    Numbers: see ``plain_decimal``. Averages: see ``SCALE``. Raises PartTooSmall when a row does
    not fit in a part of ``part_bytes`` after the header; files already written are removed.
    """
    if time_basis not in TIME_BASES:
        raise ValueError(f"time_basis must be one of {', '.join(TIME_BASES)}, not {time_basis!r}")
    _require_aware(until, "until")
    for moment in since.values():
        if moment is not None:
            _require_aware(moment, "since")
    sensors = _sensors_in_order(farms, since, time_basis)
    writer = _PartWriter(Path(directory), prefix, part_bytes)
    try:
        tally = _rows_for_database()(sensors, until, writer) if sensors else _Tally()
        parts = writer.finish()
    except BaseException:
        writer.discard()
        raise
    return CsvBuild(
        parts=parts,
        rows=sum(part.rows for part in parts),
        bytes=sum(part.bytes for part in parts),
        readings=tally.readings,
        notes=_fold_notes(sensors, tally.merged),
    )


def _require_aware(moment, name):
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, not {moment!r}")


def _rows_for_database():
    if connection.vendor == "postgresql":
        return _copy_rows_postgres
    if connection.vendor == "sqlite":
        return _write_rows_python
    raise NotImplementedError(f"the Raptor Maps CSV supports PostgreSQL and SQLite, not {connection.vendor}")


# --- numbers and text, as both paths write them ----------------------------------------------------


def _text(value):
    """A text cell: CR and LF become spaces (one row, one line); empty text is an empty cell."""
    return value.replace("\r", " ").replace("\n", " ") if value else None


def _wall_clock_text(moment, zone):
    """``YYYY-MM-DD HH:MM:SS`` in ``zone``, seconds truncated."""
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0).isoformat(sep=" ")


# --- the sensors, in the order of the file --------------------------------------------------------


@dataclass
class _SensorLine:
    position: int  # 1-based, in file order
    sensor: Sensor
    farm: Farm
    zone: ZoneInfo
    since: datetime | None
    maximum: bool
    cells: list  # the 12 cells before observation_time and measured_value


def _sensors_in_order(farms, since, time_basis):
    farms = list(farms)
    sensors = sorted(
        Sensor.objects.filter(equipment__farm__in=[farm.pk for farm in farms]),
        key=lambda s: (s.equipment.farm.farm_id, s.equipment.equipment_id, s.sensor_type, s.sensor_id, s.pk),
    )
    lines = []
    for position, sensor in enumerate(sensors, start=1):
        farm = sensor.equipment.farm
        zone = ZoneInfo(farm.timezone if time_basis == "local" else "UTC")
        lines.append(
            _SensorLine(
                position=position,
                sensor=sensor,
                farm=farm,
                zone=zone,
                since=since.get(farm.pk),
                maximum=sensor.sensor_type in MAXIMUM_TYPES,
                cells=_sensor_cells(sensor, zone),
            )
        )
    return lines


def _sensor_cells(sensor, zone):
    equipment, farm = sensor.equipment, sensor.equipment.farm
    commissioned = farm.commissioned_at and _wall_clock_text(farm.commissioned_at, zone)
    latitude = None if farm.latitude is None else plain_decimal(farm.latitude)
    longitude = None if farm.longitude is None else plain_decimal(farm.longitude)
    return [
        _text(farm.farm_id),
        _text(farm.name),
        _text(zone.key),
        commissioned,
        latitude,
        longitude,
        _text(equipment.equipment_id),
        _text(equipment.name),
        _text(equipment.equipment_type),
        _text(sensor.sensor_id),
        _text(sensor.name),
        _text(sensor.sensor_type),
    ]


@dataclass
class _Tally:
    readings: int = 0
    merged: Counter = field(default_factory=Counter)  # (position, local date) -> rows rolling up a repeated hour


# --- part files ------------------------------------------------------------------------------------


def _header_line():
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(HEADERS)
    return out.getvalue().encode()


class _PartWriter:
    """Writes whole lines into part files of at most ``part_bytes`` bytes, each starting with the
    header; counts rows by line ends and hashes as it writes."""

    def __init__(self, directory, prefix, part_bytes):
        self.directory, self.prefix, self.part_bytes = directory, prefix, part_bytes
        self.header = _header_line()
        self.parts = []
        self._paths = []
        self._file = None

    def write(self, data):
        """Write ``data``, any number of whole lines, starting new parts where the cap requires."""
        start, end = 0, len(data)
        while start < end:
            if self._file is None:
                self._open()
            room = max(self.part_bytes - self._bytes, 0)
            if end - start <= room:
                self._put(data, start, end)
                return
            fits = data.rfind(b"\n", start, start + room) + 1  # end of the last whole row that fits
            if fits > start:
                self._put(data, start, fits)
                start = fits
            elif self._rows == 0:
                raise self._too_small(data.find(b"\n", start) + 1 - start)
            self._close()

    def finish(self):
        if self._file is not None:
            self._close()
        return self.parts

    def discard(self):
        if self._file is not None:
            self._file.close()
        for path in self._paths:
            path.unlink(missing_ok=True)

    def _open(self):
        path = self.directory / f"{self.prefix}-{len(self.parts) + 1:04d}.csv"
        self._paths.append(path)
        self._file = path.open("wb")
        self._file.write(self.header)
        self._hash = hashlib.sha256(self.header)
        self._bytes, self._rows = len(self.header), 0

    def _put(self, data, start, end):
        chunk = memoryview(data)[start:end]
        self._file.write(chunk)
        self._hash.update(chunk)
        self._bytes += end - start
        self._rows += data.count(b"\n", start, end)

    def _close(self):
        self._file.close()
        self._file = None
        number = len(self.parts) + 1
        self.parts.append(Part(number, self._paths[-1], self._rows, self._bytes, self._hash.hexdigest()))

    def _too_small(self, row_bytes):
        header = len(self.header)
        return PartTooSmall(
            f"A part of at most {self.part_bytes:,} bytes cannot hold the header row ({header:,} bytes) "
            f"and a {row_bytes:,}-byte row; the part size must be at least {header + row_bytes:,} bytes."
        )


# --- PostgreSQL: group, aggregate and format in SQL, stream COPY into the parts ---------------------

SENSORS_TABLE = "raptor_sensors"
ROWS_TABLE = "raptor_rows"


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


def _decimal_sql(expression):
    """SQL for ``plain_decimal``: float8 text is PostgreSQL's shortest round-trip digits (with
    extra_float_digits = 1); numeric writes them out without an exponent and '-0' as '0'."""
    return f"({expression})::text::numeric::text || CASE WHEN {expression} = trunc({expression}) THEN '.0' ELSE '' END"


def _text_sql(expression):
    return rf"NULLIF(translate({expression}, E'\r\n', '  '), '')"


def _bucket_sql(observed_at):
    """The 15-minute bucket of a reading on its sensor's wall clock: the repeated hour of the fall
    shares its buckets with the first one, by construction."""
    return f"date_bin('15 minutes', {observed_at} AT TIME ZONE c.zone, TIMESTAMP '2000-01-01')"


def _sensors_sql():
    """A temporary table of the sensors to send, in file order, with their cells formatted once."""
    return f"""
        CREATE TEMPORARY TABLE {SENSORS_TABLE} AS
        SELECT c.position, c.sensor, c.zone, c.maximum, c.since,
            {_text_sql("f.farm_id")} AS farm_id, {_text_sql("f.name")} AS farm_name, c.zone AS timezone,
            date_trunc('second', f.commissioned_at AT TIME ZONE c.zone)::text AS commissioned,
            {_decimal_sql("f.latitude")} AS latitude, {_decimal_sql("f.longitude")} AS longitude,
            {_text_sql("e.equipment_id")} AS equipment_id, {_text_sql("e.name")} AS equipment_name,
            {_text_sql("e.equipment_type")} AS equipment_type, {_text_sql("s.sensor_id")} AS sensor_id,
            {_text_sql("s.name")} AS sensor_name, {_text_sql("s.sensor_type")} AS sensor_type
        FROM unnest(%(positions)s::integer[], %(sensors)s::bigint[], %(zones)s::text[], %(maximum)s::boolean[],
                    %(since)s::timestamptz[]) AS c (position, sensor, zone, maximum, since)
        JOIN {_table(Sensor)} s ON s.id = c.sensor
        JOIN {_table(Equipment)} e ON e.id = s.equipment_id
        JOIN {_table(Farm)} f ON f.id = e.farm_id
    """


def _aggregates_sql(bucket, readings):
    """The row of each (sensor, bucket) group of ``readings`` (aliased o, with c its sensor);
    the same arithmetic as ``_Bucket``, the sum in time order so that both paths round alike."""
    scaled = "CASE WHEN abs(o.value) < %(tiny)s THEN 0 ELSE o.value * %(scale)s END"
    return f"""
        c.position, {bucket} AS bucket, count(*) AS readings,
        CASE WHEN c.maximum THEN max(o.value)
            ELSE least(greatest(sum({scaled} ORDER BY o.observed_at) FILTER (WHERE NOT c.maximum) / count(*),
                                -%(limit)s), %(limit)s) * %(unscale)s
        END AS value,
        max(o.observed_at) - min(o.observed_at) >= interval '15 minutes' AS merged
        FROM {readings}
    """


def _history_sql():
    """Rows of the sensors without a watermark: every bucket with a reading ingested by ``until``."""
    readings = f"{SENSORS_TABLE} c JOIN {_table(Observation)} o ON o.sensor_id = c.sensor"
    return f"""
        SELECT {_aggregates_sql(_bucket_sql("o.observed_at"), readings)}
        WHERE c.since IS NULL
        GROUP BY c.position, c.maximum, bucket
        HAVING min(o.ingested_at) <= %(until)s
    """


def _touched_sql():
    """Rows of the sensors with a watermark: buckets touched by readings ingested in (since, until],
    found by the ingested_at index, then all their readings through the (sensor, observed_at) index.

    A local bucket's readings lie between its start minus the zone's largest offset and its end minus
    the smallest; the offsets a day either side cover a clock change next to the bucket. Readings in
    that range but in a neighbouring bucket are left out by their local time.
    """
    observations = _table(Observation)
    offset = "(({probe}) AT TIME ZONE c.zone) - (({probe}) AT TIME ZONE 'UTC')"
    before = offset.format(probe="(t.bucket AT TIME ZONE c.zone) - interval '1 day'")
    after = offset.format(probe="(t.bucket AT TIME ZONE c.zone) + interval '1 day'")
    readings = (
        f"ranges t JOIN {SENSORS_TABLE} c ON c.position = t.position "
        f"JOIN {observations} o ON o.sensor_id = c.sensor AND o.observed_at >= t.low AND o.observed_at < t.high"
    )
    return f"""
        WITH touched AS (
            SELECT DISTINCT c.position, {_bucket_sql("o.observed_at")} AS bucket
            FROM {SENSORS_TABLE} c JOIN {observations} o ON o.sensor_id = c.sensor
            WHERE o.ingested_at > %(earliest)s AND o.ingested_at <= %(until)s AND o.ingested_at > c.since
        ), ranges AS (
            SELECT t.position, t.bucket,
                (t.bucket - greatest({before}, {after})) AT TIME ZONE 'UTC' AS low,
                (t.bucket + interval '15 minutes' - least({before}, {after})) AT TIME ZONE 'UTC' AS high
            FROM touched t JOIN {SENSORS_TABLE} c ON c.position = t.position
        )
        SELECT {_aggregates_sql("t.bucket", readings)}
        WHERE o.observed_at AT TIME ZONE c.zone >= t.bucket
            AND o.observed_at AT TIME ZONE c.zone < t.bucket + interval '15 minutes'
        GROUP BY c.position, c.maximum, t.bucket
    """


def _formatted_rows_sql(rows):
    """The CSV's columns for ``rows`` (position, bucket, value), in file order."""
    return f"""
        SELECT c.farm_id, c.farm_name, c.timezone, c.commissioned, c.latitude, c.longitude, c.equipment_id,
            c.equipment_name, c.equipment_type, c.sensor_id, c.sensor_name, c.sensor_type,
            r.bucket::text, {_decimal_sql("r.value")}
        FROM ({rows}) r JOIN {SENSORS_TABLE} c ON c.position = r.position
        ORDER BY r.position, r.bucket
    """


def _sql_parameters(sensors, until):
    watermarks = [line.since for line in sensors if line.since is not None]
    return {
        "positions": [line.position for line in sensors],
        "sensors": [line.sensor.pk for line in sensors],
        "zones": [line.zone.key for line in sensors],
        "maximum": [line.maximum for line in sensors],
        "since": [line.since for line in sensors],
        "until": until,
        "earliest": min(watermarks, default=until),
        "tiny": TINY,
        "scale": SCALE,
        "unscale": UNSCALE,
        "limit": LIMIT,
    }


def _prepare_postgres_session(cursor):
    # Shortest round-trip float text and ISO timestamps, whatever the server's defaults; room to
    # sort a million readings in memory; no JIT, whose compiling costs more than it saves here
    # (half a second on a small incremental run).
    cursor.execute("SET LOCAL extra_float_digits = 1")
    cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
    cursor.execute("SET LOCAL work_mem = '128MB'")
    cursor.execute("SET LOCAL jit = off")


def _create_sensors_table(cursor, sensors, until):
    """Create the sensors table; return the statements' parameters."""
    parameters = _sql_parameters(sensors, until)
    cursor.execute(f"DROP TABLE IF EXISTS {SENSORS_TABLE}")
    cursor.execute(_sensors_sql(), parameters)
    cursor.execute(f"ANALYZE {SENSORS_TABLE}")  # temporary tables get no statistics of their own
    return parameters


def _copy_rows_postgres(sensors, until, writer):
    """Aggregate into a temporary table (its totals and repeated-hour rows are then one cheap query
    away), then COPY it out formatted, in file order, into the part writer."""
    tally = _Tally()
    with transaction.atomic(), connection.cursor() as cursor:
        _prepare_postgres_session(cursor)
        parameters = _create_sensors_table(cursor, sensors, until)
        cursor.execute(f"DROP TABLE IF EXISTS {ROWS_TABLE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {ROWS_TABLE} (position integer, bucket timestamp, readings bigint, "
            "value double precision, merged boolean)"
        )
        if any(line.since is None for line in sensors):
            cursor.execute(f"INSERT INTO {ROWS_TABLE} {_history_sql()}", parameters)
        if any(line.since is not None for line in sensors):
            cursor.execute(f"INSERT INTO {ROWS_TABLE} {_touched_sql()}", parameters)
        cursor.execute(f"SELECT coalesce(sum(readings), 0) FROM {ROWS_TABLE}")
        tally.readings = int(cursor.fetchone()[0])
        cursor.execute(f"SELECT position, bucket::date, count(*) FROM {ROWS_TABLE} WHERE merged GROUP BY 1, 2")
        tally.merged.update({(position, day): rows for position, day, rows in cursor.fetchall()})
        statement = f"COPY ({_formatted_rows_sql(f'SELECT * FROM {ROWS_TABLE}')}) TO STDOUT (FORMAT csv)"
        stream_copy(cursor, statement, writer.write)
        cursor.execute(f"DROP TABLE {ROWS_TABLE}, {SENSORS_TABLE}")
    return tally


def stream_copy(cursor, statement, write, parameters=None):
    """Run a ``COPY ... TO STDOUT`` and hand its output to ``write`` in chunks of whole lines.

    psycopg returns one row per read; rows are gathered so that the part writer works on
    chunks of about CHUNK_BYTES.
    """
    chunk, size = [], 0
    # psycopg's own cursor: Django's debug wrapper (DEBUG on) takes no COPY parameters.
    raw_cursor = getattr(cursor, "cursor", cursor)
    with raw_cursor.copy(statement, parameters) as copy:
        while row := copy.read():
            chunk.append(row)
            size += len(row)
            if size >= CHUNK_BYTES:
                write(b"".join(chunk))
                chunk, size = [], 0
    if chunk:
        write(b"".join(chunk))


# --- SQLite: read in time order, roll up here ------------------------------------------------------


class _Clock:
    """15-minute buckets on one zone's wall clock."""

    def __init__(self, zone):
        self.zone = zone

    def bucket(self, moment):
        """The local start of the bucket holding the aware ``moment``, naive."""
        local = moment.astimezone(self.zone)
        return local.replace(tzinfo=None, minute=local.minute - local.minute % 15, second=0, microsecond=0)

    def utc_range(self, bucket):
        """(low, high) in UTC holding every instant of the local ``bucket``: its start minus the
        largest offset, its end minus the smallest, from the offsets a day either side."""
        probe = bucket.replace(tzinfo=self.zone).astimezone(UTC)
        offsets = [(probe + timedelta(days=days)).astimezone(self.zone).utcoffset() for days in (-1, 1)]
        return (bucket - max(offsets)).replace(tzinfo=UTC), (bucket + BUCKET - min(offsets)).replace(tzinfo=UTC)


class _Bucket:
    """One (sensor, bucket) row being rolled up, with the same arithmetic as ``_aggregates_sql``."""

    __slots__ = ("closes", "first", "last", "maximum", "readings", "sent", "start", "total")

    def __init__(self, start, closes, maximum):
        self.start, self.closes, self.maximum = start, closes, maximum  # closes: no reading at or after (UTC)
        self.readings, self.total, self.sent = 0, None, False
        self.first = self.last = None

    def add(self, observed_at, value, sent=True):
        if self.maximum:
            if self.total is None or value > self.total:
                self.total = value
        else:
            term = 0.0 if abs(value) < TINY else value * SCALE
            self.total = term if self.total is None else self.total + term
        self.readings += 1
        self.sent = self.sent or sent
        self.first = observed_at if self.first is None else min(self.first, observed_at)
        self.last = observed_at if self.last is None else max(self.last, observed_at)

    @property
    def value(self):
        if self.maximum:
            return self.total
        return min(max(self.total / self.readings, -LIMIT), LIMIT) * UNSCALE

    @property
    def merged(self):
        return self.last - self.first >= BUCKET


def _write_rows_python(sensors, until, writer):
    tally = _Tally()
    rows = _CsvRows(writer)
    watermarked = [line for line in sensors if line.since is not None]
    with connection.cursor() as cursor:
        if watermarked:
            _find_touched_buckets(cursor, watermarked, until)
        for line in sensors:
            clock = _Clock(line.zone)
            if line.since is None:
                buckets = _history_buckets(_sensor_readings(cursor, line, until), clock, line.maximum)
            else:
                buckets = _touched_buckets(cursor, line, clock)
            for bucket in buckets:
                if bucket.sent:
                    rows.add(line, bucket)
                    tally.readings += bucket.readings
                    if bucket.merged:
                        tally.merged[line.position, bucket.start.date()] += 1
        if watermarked:
            cursor.execute(f"DROP TABLE {TOUCHED_TABLE}")
    rows.flush()
    return tally


class _CsvRows:
    """Rows written with the csv module, handed to the part writer about CHUNK_BYTES at a time."""

    def __init__(self, writer):
        self.writer = writer
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer, lineterminator="\n")

    def add(self, line, bucket):
        self.csv.writerow([*line.cells, bucket.start.isoformat(sep=" "), plain_decimal(bucket.value)])
        if self.buffer.tell() >= CHUNK_BYTES:
            self.flush()

    def flush(self):
        data = self.buffer.getvalue().encode()
        self.buffer.seek(0)
        self.buffer.truncate()
        if data:
            self.writer.write(data)


def _fetch_all(cursor, statement, parameters, size=5_000):
    cursor.execute(statement, parameters)
    while batch := cursor.fetchmany(size):
        yield from batch


def _as_utc(moment):
    return moment.replace(tzinfo=UTC)  # SQLite gives back UTC times without an offset


def _db_time(moment):
    return connection.ops.adapt_datetimefield_value(moment)  # how the column stores it: comparable text


def _sensor_readings(cursor, line, until):
    """(observed_at, value, ingested by until) of one sensor, in time order, via its unique index."""
    statement = (
        f"SELECT observed_at, value, ingested_at <= %s FROM {_table(Observation)} "
        "WHERE sensor_id = %s ORDER BY observed_at"
    )
    for observed_at, value, sent in _fetch_all(cursor, statement, [_db_time(until), line.sensor.pk]):
        yield _as_utc(observed_at), value, bool(sent)


def _history_buckets(readings, clock, maximum):
    """Roll time-ordered readings into buckets; yield each once no later reading can fall in it, in
    bucket order (the repeated hour of the fall sends readings back into buckets still open)."""
    open_buckets, starts = {}, []
    for observed_at, value, sent in readings:
        while starts and open_buckets[starts[0]].closes <= observed_at:
            yield open_buckets.pop(heapq.heappop(starts))
        start = clock.bucket(observed_at)
        bucket = open_buckets.get(start)
        if bucket is None:
            bucket = open_buckets[start] = _Bucket(start, clock.utc_range(start)[1], maximum)
            heapq.heappush(starts, start)
        bucket.add(observed_at, value, sent)
    while starts:
        yield open_buckets.pop(heapq.heappop(starts))


TOUCHED_TABLE = "raptor_touched"


def _ingested_at_index():
    return next(index.name for index in Observation._meta.indexes if index.fields == ["ingested_at"])


def _find_touched_buckets(cursor, sensors, until):
    """Fill a temporary table with the (sensor, bucket) touched by readings ingested in each
    farm's (since, until], with each bucket's UTC range."""
    cursor.execute(f"DROP TABLE IF EXISTS {TOUCHED_TABLE}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {TOUCHED_TABLE} (sensor integer NOT NULL, bucket text NOT NULL, "
        "low text NOT NULL, high text NOT NULL, PRIMARY KEY (sensor, bucket)) WITHOUT ROWID"
    )
    clocks = {line.sensor.pk: _Clock(line.zone) for line in sensors}
    with connection.cursor() as reader:  # reads while ``cursor`` writes the temporary table
        for since, pks in _sensors_by_watermark(sensors):
            batch = set()
            for sensor, observed_at in _ingested_between(reader, pks, since, until):
                batch.add((sensor, clocks[sensor].bucket(observed_at)))
                if len(batch) >= 5_000:
                    _store_touched(cursor, batch, clocks)
            _store_touched(cursor, batch, clocks)


def _sensors_by_watermark(sensors):
    """(since, sensor pks) groups of at most 500 sensors: well under SQLite's limit on parameters."""
    pks_by_since = {}
    for line in sensors:
        pks_by_since.setdefault(line.since, []).append(line.sensor.pk)
    for since, pks in pks_by_since.items():
        for first in range(0, len(pks), 500):
            yield since, pks[first : first + 500]


def _ingested_between(cursor, pks, since, until):
    """(sensor, observed_at) of the sensors' readings ingested in (since, until], by the ingested_at index."""
    statement = (
        f"SELECT sensor_id, observed_at FROM {_table(Observation)} INDEXED BY {_ingested_at_index()} "
        f"WHERE ingested_at > %s AND ingested_at <= %s AND sensor_id IN ({', '.join(['%s'] * len(pks))})"
    )
    for sensor, observed_at in _fetch_all(cursor, statement, [_db_time(since), _db_time(until), *pks]):
        yield sensor, _as_utc(observed_at)


def _store_touched(cursor, batch, clocks):
    rows = []
    for sensor, start in batch:
        low, high = clocks[sensor].utc_range(start)
        rows.append((sensor, start.isoformat(sep=" "), _db_time(low), _db_time(high)))
    cursor.executemany(
        f"INSERT OR IGNORE INTO {TOUCHED_TABLE} (sensor, bucket, low, high) VALUES (%s, %s, %s, %s)", rows
    )
    batch.clear()


def _touched_buckets(cursor, line, clock):
    """The sensor's touched buckets in order, each with all its readings (in time order)."""
    statement = (
        f"SELECT t.bucket, o.observed_at, o.value FROM {TOUCHED_TABLE} t JOIN {_table(Observation)} o "
        "ON o.sensor_id = t.sensor AND o.observed_at >= t.low AND o.observed_at < t.high "
        "WHERE t.sensor = %s ORDER BY t.bucket, o.observed_at"
    )
    bucket = None
    for start_text, observed_at, value in _fetch_all(cursor, statement, [line.sensor.pk]):
        observed_at = _as_utc(observed_at)
        start = clock.bucket(observed_at)
        if start.isoformat(sep=" ") != start_text:
            continue  # in the range, but in a neighbouring bucket
        if bucket is not None and bucket.start != start:
            yield bucket
            bucket = None
        if bucket is None:
            bucket = _Bucket(start, None, line.maximum)
        bucket.add(observed_at, value)
    if bucket is not None:
        yield bucket


# --- notes for the run log -------------------------------------------------------------------------


def _fold_notes(sensors, merged):
    """One line per farm and day whose rows roll up an hour that occurs twice in local time."""
    rows_by_farm_day = Counter()
    for (position, day), rows in merged.items():
        rows_by_farm_day[sensors[position - 1].farm, day] += rows
    notes = []
    for (farm, day), rows in sorted(rows_by_farm_day.items(), key=lambda item: (item[0][0].farm_id, item[0][1])):
        repeated = _repeated_times(ZoneInfo(farm.timezone), day)
        verb = "row rolls" if rows == 1 else "rows roll"
        notes.append(
            f"{farm.name} ({farm.timezone}): {repeated} occurs twice in local time; {rows} {verb} both occurrences up"
        )
    return notes


def _repeated_times(zone, day):
    """The local times of ``day`` that occur twice because the clocks turned back, as text."""
    step = timedelta(minutes=15)
    moment = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC) - timedelta(days=1)
    for _ in range(3 * 96):
        later = moment + step
        before, after = moment.astimezone(zone).utcoffset(), later.astimezone(zone).utcoffset()
        if after < before:
            change = _offset_change(zone, moment, later)
            start, end = (change + after).replace(tzinfo=None), (change + before).replace(tzinfo=None)
            if start.date() <= day <= end.date():
                return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"  # noqa: RUF001 (an en dash between times)
        moment = later
    return f"{day}"


def _offset_change(zone, earlier, later):
    """The first whole second after ``earlier`` at which the zone's offset differs from its offset then."""
    offset = earlier.astimezone(zone).utcoffset()
    low, high = int(earlier.timestamp()), int(later.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)
