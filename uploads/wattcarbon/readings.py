"""Interval and bill readings on their way to WattCarbon: which are waiting, and how they are sent.

What waits is what was ingested after the meter's watermark, the ``(ingested_at, id)`` of the
last row WattCarbon accepted, up to a horizon. Both questions (the rows of one meter, and which
meters have any) are index seeks on ``(meter, ingested_at, id)``: a sync with nothing to send
costs one statement per series, whatever the size of the tables.

A file is built from at most ``limit`` of those rows (a chunk), in ingestion order, and written
in time order. On PostgreSQL the database writes it: one statement reads the chunk, formats
every row exactly as ``payloads.intervals_csv`` and ``payloads.bills_csv`` do (the same bytes;
tests/uploads/test_wattcarbon_csv_copy.py builds both) and joins the lines into one value, which
goes into the upload's body as it is; no row becomes a Python object. (One value rather than
``COPY ... TO STDOUT``: psycopg hands a COPY's output over a row at a time, and that cost the
file five times as long; bench/wattcarbon_sync.py.) On SQLite, and on PostgreSQL with
``CSV_IN_DATABASE`` off (the benchmark's baseline), the rows are read and written by the csv module.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Value

from portfolio.models import BillReading, IntervalReading
from uploads.runs.keyset import RowAfter
from uploads.wattcarbon import payloads

__all__ = ["BILLS", "CSV_IN_DATABASE", "INTERVALS", "SERIES", "Chunk", "Series"]

# PostgreSQL writes the CSV files itself (``COPY``); False: the csv module writes them, as on SQLite.
CSV_IN_DATABASE = True


@dataclass
class Chunk:
    """One file to send: its bytes in blocks (header first), its rows, and the last row in ingestion order.

    ``last_at`` is None when it was not read with the rows (the csv module's path reads it after
    the upload, for one row).
    """

    blocks: list
    rows: int
    last_id: int
    last_at: datetime | None

    @property
    def bytes(self):
        return sum(len(block) for block in self.blocks)


def _float_sql(column):
    """``plain_decimal`` in SQL, of ``column`` and its text ``{column}_text``: float8 text is the shortest
    round-trip digits (extra_float_digits 1), the same digits as Python's repr; numeric writes an
    exponent out (1e-07, 1e+16); a whole number gets ``.0``, and zero, of either sign, is ``0.0``."""
    value, text = "{t}." + column, "{t}." + column + "_text"
    return (
        f"CASE WHEN strpos({text}, 'e') > 0 THEN {text}::numeric::text"
        f" || CASE WHEN {value} = trunc({value}) THEN '.0' ELSE '' END"
        f" WHEN strpos({text}, '.') > 0 THEN {text}"
        f" WHEN {value} = 0 THEN '0.0' ELSE {text} || '.0' END"
    )


class Series:
    """One kind of reading: its model, the columns a file is made of, how it is sent, where its watermark is."""

    def __init__(self, name, model, columns, csv, header, cells_sql, upload, prefix, counter):
        self.name, self.model, self.columns, self.csv = name, model, columns, csv
        self.header = (",".join(header) + "\n").encode()
        self._cells_sql = cells_sql  # the file's columns in SQL, in file order ({t}: the table)
        self._upload = upload
        self.through_at, self.through_id = f"{prefix}_through_at", f"{prefix}_through_id"
        self.counter = counter  # the SyncRun field that counts its rows

    def _after(self, through_at, through_id):
        return RowAfter([F("ingested_at"), F("id")], [through_at, through_id])

    def pending(self, link, meter, until):
        """The meter's readings ingested after the link's watermark, up to ``until``, in ingestion order."""
        rows = self.model.objects.filter(meter=meter, ingested_at__lte=until)
        through_at = getattr(link, self.through_at)
        if through_at is not None:
            rows = rows.filter(self._after(Value(through_at), Value(getattr(link, self.through_id))))
        return rows.order_by("ingested_at", "id")

    def links_waiting(self, links, until=None):
        """The pks of the meter links among ``links`` (a queryset) whose meter has readings waiting; one statement."""
        rows = self.model.objects.filter(meter_id=OuterRef("meter_id"))
        if until is not None:
            rows = rows.filter(ingested_at__lte=until)
        # Two probes rather than one row comparison: SQLite seeks a row value on its first column
        # only, and would read every row stamped in the watermark's instant (a whole import).
        later = rows.filter(ingested_at__gt=OuterRef(self.through_at))
        same_instant = rows.filter(ingested_at=OuterRef(self.through_at), id__gt=OuterRef(self.through_id))
        never_sent = Q(**{f"{self.through_at}__isnull": True}) & Exists(rows)
        return set(links.filter(never_sent | Exists(later) | Exists(same_instant)).values_list("pk", flat=True))

    def upload(self, api, remote_id, blocks, meter):
        return getattr(api, self._upload)(remote_id, blocks, subject=meter)

    def chunk(self, link, meter, until, limit):
        """The next file of the meter's readings waiting (at most ``limit`` rows), or None when none wait."""
        pending = self.pending(link, meter, until)
        if CSV_IN_DATABASE and connection.vendor == "postgresql":
            return self._database_chunk(pending, limit)
        rows = list(pending.values_list(*self.columns)[:limit])
        if not rows:
            return None
        content = self.csv(sorted(row[1:] for row in rows))
        return Chunk([content], len(rows), rows[-1][0], None)

    def _database_chunk(self, pending, limit):
        """The chunk and its file in one statement: the database reads the rows by the watermark index,
        formats them and joins them into the file's text, in time order."""
        sql, params = pending.values("id", "ingested_at", *self.columns[1:])[:limit].query.sql_with_params()
        line = " || ',' || ".join(cell.format(t="f") for cell in self._cells_sql)
        order = ", ".join(f"f.{column}" for column in self.columns[1:])
        with transaction.atomic(), connection.cursor() as cursor:
            # Shortest round-trip float text and ISO dates, whatever the server's defaults.
            cursor.execute("SET LOCAL extra_float_digits = 1; SET LOCAL DateStyle = 'ISO, YMD'")
            # The chunk (c), its last row in ingestion order, and its lines joined in time order; each
            # kWh value turned into text once (f).
            cursor.execute(
                f"WITH c AS MATERIALIZED ({sql}) "
                "SELECT count(*), (SELECT max(d.id) FROM c d WHERE d.ingested_at = (SELECT max(ingested_at) FROM c)), "
                f"max(f.ingested_at), string_agg({line} || E'\\n', '' ORDER BY {order}) "
                "FROM (SELECT c.*, c.energy_kwh::text AS energy_kwh_text FROM c) f",
                params,
            )
            rows, last_id, last_at, text = cursor.fetchone()
        if not rows:
            return None
        return Chunk([self.header, text.encode()], rows, last_id, last_at)


INTERVALS = Series(
    "interval",
    IntervalReading,
    ("id", "start", "energy_kwh"),
    payloads.intervals_csv,
    payloads.INTERVAL_HEADER,
    # UTC, seconds truncated, as isoformat(timespec="seconds") writes it.
    (
        "replace(date_trunc('second', {t}.start AT TIME ZONE 'UTC')::text, ' ', 'T') || '+00:00'",
        _float_sql("energy_kwh"),
    ),
    "upload_intervals",
    "intervals",
    "interval_rows",
)
BILLS = Series(
    "bill",
    BillReading,
    ("id", "start_date", "end_date", "energy_kwh"),
    payloads.bills_csv,
    payloads.BILL_HEADER,
    ("{t}.start_date::text", "{t}.end_date::text", _float_sql("energy_kwh")),
    "upload_bills",
    "bills",
    "bill_rows",
)
SERIES = (INTERVALS, BILLS)
