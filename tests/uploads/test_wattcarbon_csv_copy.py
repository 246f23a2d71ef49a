"""The interval and bill files PostgreSQL writes (readings.py, ``CSV_IN_DATABASE``) are the csv module's, byte for byte.

The same meter's readings are turned into files both ways, chunk by chunk, with values chosen
where float text goes wrong (repr against float8 output: exponents, negative zero, 17 digits,
the smallest subnormal, whole numbers), times with microseconds and given in other zones, and
rows stamped in the same instant (the order within a chunk, and where chunks are cut).
"""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from portfolio.models import BillReading, IntervalReading
from tests.factories import MeterFactory
from uploads.wattcarbon import readings
from uploads.wattcarbon.readings import BILLS, INTERVALS

# On SQLite the database writes no file: both ways are the csv module's there, and what these
# tests check is the text itself (the lines spelled out below), which must be the same on both.
pytestmark = pytest.mark.django_db

VALUES = [
    0.1,
    1e-7,
    123456789.123,
    -123456789.123,
    -2.5,
    42.0,
    -42.0,
    0.0,
    -0.0,
    1e-5,
    0.0001,
    1e15,
    1e16,
    1e22,
    1.5e300,
    -1.5e-300,
    0.1 + 0.2,
    5e-324,
    2.0**60 + 2.0**8,
    9007199254740993.0,
    1 / 3,
    -2 / 3,
    123.456e10,
    7.0e-10,
    299792.458,
]
INGESTED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")


def watermark():
    return SimpleNamespace(
        intervals_through_at=None, intervals_through_id=None, bills_through_at=None, bills_through_id=None
    )


def files(series, meter, limit, in_database, monkeypatch):
    """Every chunk of the meter's series, as (bytes, rows, last id), moving a watermark as a sync does."""
    monkeypatch.setattr(readings, "CSV_IN_DATABASE", in_database)
    link, until, out = watermark(), INGESTED + timedelta(days=1), []
    while (chunk := series.chunk(link, meter, until, limit)) is not None:
        last = series.model.objects.values_list("ingested_at", flat=True).get(pk=chunk.last_id)
        if chunk.last_at is not None:
            assert chunk.last_at == last
        out.append((b"".join(chunk.blocks), chunk.rows, chunk.last_id))
        setattr(link, series.through_at, last)
        setattr(link, series.through_id, chunk.last_id)
    return out


def test_interval_files_are_the_same_bytes_both_ways(monkeypatch):
    meter = MeterFactory()
    start = datetime(2024, 3, 10, 1, 0, 0, 123456, tzinfo=NEW_YORK)  # the morning the clocks go forward
    rows = []
    for number in range(60):
        value = VALUES[number % len(VALUES)] * (1 if number < len(VALUES) else -1)
        moment = (start.astimezone(UTC) + timedelta(minutes=37 * number)).astimezone(NEW_YORK)
        # Stamped out of time order, some in the same instant: a chunk is cut in ingestion order.
        stamp = INGESTED - timedelta(seconds=(number * 7) % 5)
        rows.append(IntervalReading(meter=meter, start=moment, end=moment + timedelta(minutes=30), quantity=value))
        rows[-1].ingested_at = stamp
    rows.append(
        IntervalReading(
            meter=meter,
            start=datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            end=datetime(2000, 1, 1, 0, 30, tzinfo=UTC),
            quantity=3000.0,
            ingested_at=INGESTED,
        )
    )
    IntervalReading.objects.bulk_create(rows)

    for limit in (7, 25, 1000):
        by_python = files(INTERVALS, meter, limit, False, monkeypatch)
        by_database = files(INTERVALS, meter, limit, True, monkeypatch)
        assert [rows for _, rows, _ in by_database] == [rows for _, rows, _ in by_python]
        for (python_bytes, _, python_last), (copy_bytes, _, copy_last) in zip(by_python, by_database, strict=True):
            assert copy_bytes == python_bytes
            assert copy_last == python_last
    whole = files(INTERVALS, meter, 1000, True, monkeypatch)[0][0].decode()
    assert whole.startswith("start_datetime,energy_kwh\n1999-12-31T23:59:59+00:00,3000.0\n")
    for text in ("0.0000001", "10000000000000000.0", "1500000000000000", "0.30000000000000004", ",0.0\n"):
        assert text in whole


def test_bill_files_are_the_same_bytes_both_ways(monkeypatch):
    meter = MeterFactory(meter_type="gas")
    first = date(2023, 1, 1)
    bills = [
        BillReading(
            meter=meter,
            start_date=first + timedelta(days=31 * number),
            end_date=first + timedelta(days=31 * number + 30),
            quantity=VALUES[number % len(VALUES)],
            unit="therm" if number % 2 else "kWh",
            ingested_at=INGESTED - timedelta(seconds=number % 3),
        )
        for number in range(30)
    ]
    bills.append(
        BillReading(
            meter=meter, start_date=date(999, 1, 1), end_date=date(999, 2, 1), quantity=1.0, ingested_at=INGESTED
        )
    )
    BillReading.objects.bulk_create(bills)

    for limit in (4, 1000):
        by_python = files(BILLS, meter, limit, False, monkeypatch)
        by_database = files(BILLS, meter, limit, True, monkeypatch)
        assert [(data, rows, last) for data, rows, last in by_database] == by_python
    whole = files(BILLS, meter, 1000, True, monkeypatch)[0][0].decode()
    assert "\n0999-01-01,0999-02-01,1.0\n" in whole
    assert whole.startswith("start_date,end_date,energy_kwh\n")
    for text in ("\n2023-01-01,2023-01-31,0.1\n", ",-123456789.123\n"):  # kWh as stored; therms in kWh
        assert text in whole


def test_nothing_waiting_is_no_file_either_way(monkeypatch):
    meter = MeterFactory()
    for by_database in (False, True):
        assert files(INTERVALS, meter, 10, by_database, monkeypatch) == []
