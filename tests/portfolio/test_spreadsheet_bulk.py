"""Readings files on the bulk path store and refuse exactly what the row-by-row import did.

Each comparison imports the same file twice from the same database: once on the bulk path,
once through django-import-export's own ``import_data`` (``resource.bulk = False``).
"""

import io
from datetime import UTC, date, datetime

import openpyxl
import pytest

from portfolio.models import BillReading, IntervalReading
from portfolio.resources import BillReadingResource, IntervalReadingResource
from portfolio.resources.importing import Upload, import_spreadsheet
from tests.factories import EquipmentFactory, FarmFactory, MeterFactory, PortfolioFactory

pytestmark = pytest.mark.django_db

RESOURCES = {"interval-readings": IntervalReadingResource, "bill-readings": BillReadingResource}
INTERVALS = "portfolio,meter,start,end,quantity,unit\n"
BILLS = "portfolio,meter,start_date,end_date,quantity,unit\n"


@pytest.fixture
def meters():
    """A production meter fed by a New York farm (its naive times are New York time) and a gas meter."""
    portfolio = PortfolioFactory(slug="sunbelt")
    farm = FarmFactory(portfolio=portfolio, timezone="America/New_York")
    equipment = EquipmentFactory(farm=farm, equipment_id="MTR-01", equipment_type="meter")
    production = MeterFactory(portfolio=portfolio, name="Production", source_equipment=equipment)
    gas = MeterFactory(portfolio=portfolio, name="Office gas", meter_type="gas")
    return production, gas


def run(name, content, *, bulk=True, dry_run=False, file_name=None):
    resource = RESOURCES[name]()
    resource.bulk = bulk
    data = content.encode() if isinstance(content, str) else content
    upload = Upload.from_bytes(file_name or f"{name}.csv", data)
    return import_spreadsheet(resource, upload, source="command", dry_run=dry_run)


def stored(model):
    fields = ["meter__name", *(("start", "end") if model is IntervalReading else ("start_date", "end_date"))]
    return list(model.objects.order_by(*fields).values_list(*fields, "quantity", "unit", "energy_kwh"))


def both_ways(name, content, model, **kwargs):
    """(outcome, stored rows) of the bulk path, then of the row-by-row path, from the same table."""
    before = list(model.objects.values())
    results = []
    for bulk in (True, False):
        outcome = run(name, content, bulk=bulk, **kwargs)
        results.append((outcome, stored(model)))
        model.objects.all().delete()
        model.objects.bulk_create(model(**{k: v for k, v in row.items() if k != "energy_kwh"}) for row in before)
    return results


def summary(outcome):
    return (
        outcome.status,
        outcome.message,
        [str(problem) for problem in outcome.problems],
        (outcome.rows_new, outcome.rows_updated, outcome.rows_unchanged, outcome.rows_invalid),
    )


INTERVAL_FILE = (
    INTERVALS + "sunbelt,Production,2026-03-08 00:00,2026-03-08 01:00,40.5,kWh\n"
    "sunbelt,Production,2026-03-08 01:00,2026-03-08T07:00:00Z,41,\n"  # across the clocks going forward
    "sunbelt,Production,2026-03-08T07:00:00Z,2026-03-08T08:00:00Z,-2.25,kwh\n"
    "sunbelt,Office gas,2026-03-08T00:00:00-05:00,2026-03-08T01:00:00-05:00,1.5,therm\n"
)


def test_a_file_of_intervals_stores_the_same_rows_both_ways(meters):
    # The unit column is there but one cell is empty: both ways refuse it the same way.
    content = INTERVAL_FILE.replace("41,\n", "41,kWh\n")
    (bulk, bulk_rows), (per_row, per_row_rows) = both_ways("interval-readings", content, IntervalReading)
    assert bulk.ok, bulk.problems
    assert summary(bulk) == summary(per_row)
    assert bulk_rows == per_row_rows
    assert len(bulk_rows) == 4
    # Naive times are the farm's New York time.
    assert bulk_rows[1][:2] == ("Production", datetime(2026, 3, 8, 5, 0, tzinfo=UTC))


def test_a_file_of_bills_stores_the_same_rows_both_ways(meters):
    content = (
        BILLS + "sunbelt,Office gas,2026-01-01,2026-02-01,350,therm\n"
        "sunbelt,Office gas,2026-02-01,2026-03-01,320.5,Therm\n"  # consecutive bills share a day
        "sunbelt,Production,2026-01-01,2026-02-01,12000,\n"
    )
    (bulk, bulk_rows), (per_row, per_row_rows) = both_ways(
        "bill-readings", content.replace(",\n", ",kWh\n"), BillReading
    )
    assert bulk.ok, bulk.problems
    assert summary(bulk) == summary(per_row)
    assert bulk_rows == per_row_rows and len(bulk_rows) == 3


def test_new_updated_and_unchanged_rows_are_counted_and_unchanged_rows_are_left_alone(meters):
    first = run("interval-readings", INTERVAL_FILE.replace("41,\n", "41,kWh\n"))
    assert (first.rows_new, first.rows_updated, first.rows_unchanged) == (4, 0, 0)
    before = {
        reading.start: reading.ingested_at for reading in IntervalReading.objects.filter(meter__name="Production")
    }
    changed = INTERVAL_FILE.replace("41,\n", "41,kWh\n").replace(",-2.25,", ",-2.5,") + (
        "sunbelt,Production,2026-03-08T08:00:00Z,2026-03-08T09:00:00Z,3,kWh\n"
    )
    preview = run("interval-readings", changed, dry_run=True)
    assert preview.message == "Ready to import interval-readings: 1 new, 1 updated, 3 unchanged."
    assert [(row, kind) for row, kind, _diff in preview.changes] == [(4, "update"), (6, "new")]
    assert IntervalReading.objects.count() == 4  # a dry run stores nothing
    second = run("interval-readings", changed)
    assert second.message == "Imported interval-readings: 1 new, 1 updated, 3 unchanged."
    after = {reading.start: reading for reading in IntervalReading.objects.filter(meter__name="Production")}
    moved = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert after[moved].quantity == -2.5 and after[moved].ingested_at > before[moved]
    assert all(after[start].ingested_at == at for start, at in before.items() if start != moved)
    assert len(after) == 4 and IntervalReading.objects.count() == 5


BAD_INTERVALS = (
    INTERVALS + "sunbelt,Production,2026-03-01T00:00:00Z,2026-03-01T01:00:00Z,1,kWh\n"  # row 2: fine
    "sunbelt,Production,2026-03-01T01:00:00Z,2026-03-01T02:00:00Z,abc,kWh\n"  # 3: not a number
    "sunbelt,Production,2026-03-01T03:00:00Z,2026-03-01T02:00:00Z,1,kWh\n"  # 4: end before start
    "sunbelt,Production,2026-03-01T00:30:00Z,2026-03-01T01:30:00Z,1,kWh\n"  # 5: overlaps row 2
    "sunbelt,Production,2026-03-01T00:00:00Z,2026-03-01T01:00:00Z,1,kWh\n"  # 6: row 2 again
    "sunbelt,Production,2026-02-28T19:00:00-05:00,2026-03-01T01:00:00Z,1,kWh\n"  # 7: row 2, spelled otherwise
    "sunbelt,Production,2026-03-08 02:30,2026-03-08T08:00:00Z,1,kWh\n"  # 8: no such time in New York
    "sunbelt,Nowhere,2026-03-01T05:00:00Z,2026-03-01T06:00:00Z,1,kWh\n"  # 9: no such meter
    "sunbelt,Production,2026-03-01T05:00:00Z,2026-03-02T07:00:00Z,,kWh\n"  # 10: empty quantity, too long
    "sunbelt,Production,2026-03-01T08:00:00Z,2026-03-01T09:00:00Z,1,therm\n"  # 11: therms on electricity
    "sunbelt,Office gas,2026-03-01T08:00:00Z,2026-03-01T09:00:00Z,1,litre\n"  # 12: not a unit
    "sunbelt,Production,2026-03-01T09:00:00Z,2026-03-01T10:00:00Z,1,\n"  # 13: fine (an empty unit is kWh)
)


def test_a_bad_row_names_its_row_and_column_as_before_and_nothing_is_stored(meters):
    production, _gas = meters
    IntervalReading.objects.create(
        meter=production,
        start=datetime(2026, 3, 1, 11, tzinfo=UTC),
        end=datetime(2026, 3, 1, 12, tzinfo=UTC),
        quantity=1,
    )
    content = BAD_INTERVALS + "sunbelt,Production,2026-03-01T10:30:00Z,2026-03-01T11:30:00Z,1,kWh\n"  # 14: stored
    (bulk, bulk_rows), (per_row, per_row_rows) = both_ways("interval-readings", content, IntervalReading)
    assert summary(bulk) == summary(per_row)
    assert bulk_rows == per_row_rows and len(bulk_rows) == 1  # only the reading there before
    problems = [str(problem) for problem in bulk.problems]
    assert problems[0] == "row 3, quantity: 'abc' is not a number."
    assert "row 4, end: The end must be after the start." in problems
    assert any(problem.startswith("row 5: This period overlaps the reading 2026-03-01 00:00") for problem in problems)
    assert any(
        problem.startswith("row 6, portfolio, meter, start: The same interval reading as row 2") for problem in problems
    )
    assert any(
        problem.startswith("row 7, portfolio, meter, start: The same interval reading as row 2") for problem in problems
    )
    assert any(problem.startswith("row 14: This period overlaps the reading 2026-03-01 11:00") for problem in problems)
    assert bulk.message == "Nothing was imported: 11 of 13 rows are invalid."


def test_bad_bills_are_refused_as_before(meters):
    content = (
        BILLS + "sunbelt,Office gas,2026-01-01,2026-02-01,350,therm\n"
        "sunbelt,Office gas,2026-01-15,2026-02-15,1,therm\n"  # overlaps row 2
        "sunbelt,Office gas,2026-03-01,2026-02-01,1,therm\n"  # ends before it starts
        "sunbelt,Office gas,2026-13-01,2026-02-01,1,therm\n"  # not a date
        "sunbelt,Production,2026-04-01,2026-05-01,1,therm\n"  # therms on electricity
    )
    (bulk, bulk_rows), (per_row, per_row_rows) = both_ways("bill-readings", content, BillReading)
    assert summary(bulk) == summary(per_row)
    assert bulk_rows == per_row_rows == []
    assert len(bulk.problems) == 4


def xlsx(rows):
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_date_cells_are_read_as_before(meters):
    intervals = xlsx(
        [
            ["portfolio", "meter", "start", "end", "quantity", "unit"],
            ["sunbelt", "Production", datetime(2026, 7, 1, 0, 0), datetime(2026, 7, 1, 1, 0), 5, "kWh"],
            ["sunbelt", "Production", datetime(2026, 7, 1, 1, 0), datetime(2026, 7, 1, 2, 0), 6.5, "kWh"],
            ["sunbelt", "Production", date(2026, 7, 1), datetime(2026, 7, 1, 3, 0), 6.5, "kWh"],  # midnight: row 2
        ]
    )
    (bulk, bulk_rows), (per_row, per_row_rows) = both_ways(
        "interval-readings", intervals, IntervalReading, file_name="intervals.xlsx"
    )
    assert summary(bulk) == summary(per_row) and bulk_rows == per_row_rows == []
    assert [(problem.row, problem.column) for problem in bulk.problems] == [(4, "portfolio, meter, start")]
    good = xlsx(
        [
            ["portfolio", "meter", "start", "end", "quantity", "unit"],
            ["sunbelt", "Production", datetime(2026, 7, 1, 0, 0), datetime(2026, 7, 1, 1, 0), 5, "kWh"],
        ]
    )
    outcome = run("interval-readings", good, file_name="intervals.xlsx")
    assert outcome.ok, outcome.problems
    # New York is UTC-4 in July.
    assert IntervalReading.objects.get().start == datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
    bills = xlsx(
        [
            ["portfolio", "meter", "start_date", "end_date", "quantity", "unit"],
            ["sunbelt", "Office gas", datetime(2026, 1, 1), datetime(2026, 2, 1), 350, "therm"],
            ["sunbelt", "Office gas", datetime(2026, 2, 1, 12, 0), datetime(2026, 3, 1), 1, "therm"],  # a time too
        ]
    )
    (bulk, _rows), (per_row, _rows) = both_ways("bill-readings", bills, BillReading, file_name="b.xlsx")
    assert summary(bulk) == summary(per_row)
    assert [str(problem) for problem in bulk.problems] == [
        "row 3, start_date: '2026-02-01T12:00:00' is a date and time; enter the date only."
    ]
