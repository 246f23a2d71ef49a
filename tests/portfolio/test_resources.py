"""Spreadsheet resources as operations staff use them: hand-made files import, exported files
import back unchanged, and every kind of bad file is refused with a message naming the row
(the header is row 1) and the column, with nothing saved."""

import hashlib
import io
import math
import zipfile
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import tablib

from portfolio.demo import load_demo_portfolio
from portfolio.models import (
    Asset,
    BillReading,
    DemandResponseEvent,
    Equipment,
    Farm,
    ImportRecord,
    IntervalReading,
    Meter,
    Observation,
    Portfolio,
    Sensor,
)
from portfolio.resources import RESOURCES, ObservationResource
from portfolio.resources.files import csv_text, xlsx_bytes
from portfolio.resources.importing import Upload, import_spreadsheet
from tests.factories import (
    AssetFactory,
    EquipmentFactory,
    FarmFactory,
    MeterFactory,
    PortfolioFactory,
    SensorFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [
    Portfolio,
    Farm,
    Equipment,
    Sensor,
    Observation,
    Meter,
    IntervalReading,
    BillReading,
    Asset,
    DemandResponseEvent,
]
NOW = datetime(2026, 3, 8, 18, 0, tzinfo=UTC)
FARMS_HEADER = "farm_id,portfolio,name,timezone,latitude,longitude"


def import_file(name, content, *, file_name=None, dry_run=False):
    data = content.encode() if isinstance(content, str) else content
    upload = Upload.from_bytes(file_name or f"{name}.csv", data)
    return import_spreadsheet(RESOURCES[name](), upload, source="command", dry_run=dry_run)


def problems(outcome):
    return [str(problem) for problem in outcome.problems]


def database():
    """Every row of every table the files touch, to show that a refused file changed nothing."""
    state = {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}
    state["asset meters"] = sorted(Asset.meters.through.objects.values_list("asset_id", "meter_id"))
    return state


def xlsx(rows, title="Sheet"):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def demo():
    load_demo_portfolio(now=NOW, reading_span=timedelta(hours=2))


@pytest.fixture
def sunbelt():
    return PortfolioFactory(slug="sunbelt", name="Sunbelt Renewables")


@pytest.fixture
def inverter(sunbelt):
    return EquipmentFactory(farm=FarmFactory(portfolio=sunbelt, farm_id="AZ-01"), equipment_id="INV-01")


# Hand-made files.


def test_a_portfolio_built_from_hand_made_files_of_every_resource():
    steps = [
        ("portfolios", "slug,name\nsunbelt,Sunbelt Renewables\n"),
        (
            "farms",
            "farm_id,portfolio,name,timezone,commissioned_at,latitude,longitude,dc_capacity_kw,is_active\n"
            "AZ-01,sunbelt,Gila Bend Solar,America/Phoenix,2021-04-01 08:00,32.9479,-112.7168,5000,TRUE\n",
        ),
        (
            "equipment",
            "farm_id,equipment_id,name,equipment_type,manufacturer\n"
            "AZ-01,INV-01,Inverter 1,inverter,SMA\nAZ-01,MTR-01,Revenue meter,meter,Schneider\n",
        ),
        (
            "sensors",
            "farm_id,equipment_id,sensor_id,sensor_type,name\n"
            "AZ-01,INV-01,,ac_power,AC power\nAZ-01,INV-01,S-7,dc_voltage,DC voltage\n"
            "AZ-01,MTR-01,,production_meter_energy,Energy\n",
        ),
        (
            "meters",
            "portfolio,name,meter_type,source_farm_id,source_equipment_id,address\n"
            "sunbelt,Gila Bend production,electricity,AZ-01,MTR-01,Gila Bend AZ\n"
            "sunbelt,Office gas,gas,,,606 Ellis St San Francisco\n",
        ),
        (
            "interval-readings",
            "portfolio,meter,start,end,quantity\n"
            "sunbelt,Gila Bend production,2026-03-01 00:00,2026-03-01 01:00,40.5\n"
            "sunbelt,Gila Bend production,2026-03-01T08:00:00Z,2026-03-01T09:00:00Z,41\n",
        ),
        (
            "bill-readings",
            "portfolio,meter,start_date,end_date,quantity,unit\nsunbelt,Office gas,2026-01-01,2026-02-01,350,therm\n",
        ),
        (
            "assets",
            "portfolio,custom_id,name,kind,timezone,farm_id,meters,latitude,longitude,nameplate_capacity_kw,"
            "inverter_data_id,inverter_data_source\n"
            "sunbelt,SP-AZ-01,Gila Bend Solar,solar,America/Phoenix,AZ-01,Gila Bend production; Office gas,"
            "32.9,-112.7,5000,GB-1,sma\n"
            "sunbelt,DR-01,Office demand response,demand_response_eemetered,America/Chicago,,,41.6,-91.5,,,\n",
        ),
        ("events", "portfolio,custom_id,start,end\nsunbelt,DR-01,2026-07-14 17:00,2026-07-14T20:00:00-05:00\n"),
    ]
    for name, content in steps:
        outcome = import_file(name, content)
        assert outcome.ok, problems(outcome)
        assert outcome.message.startswith(f"Imported {name}: ")
        assert outcome.rows_new == outcome.rows_read
    farm = Farm.objects.get(farm_id="AZ-01")
    assert farm.portfolio.slug == "sunbelt"
    # A time without an offset is the farm's local time (Phoenix is UTC-7 all year).
    assert farm.commissioned_at == datetime(2021, 4, 1, 15, 0, tzinfo=UTC)
    assert (farm.longitude, farm.dc_capacity_kw, farm.is_active) == (-112.7168, 5000.0, True)
    assert Equipment.objects.get(farm=farm, equipment_id="INV-01").manufacturer == "SMA"
    assert sorted(Sensor.objects.values_list("sensor_id", "sensor_type")) == [
        ("", "ac_power"),
        ("", "production_meter_energy"),
        ("S-7", "dc_voltage"),
    ]
    production = Meter.objects.get(name="Gila Bend production")
    assert production.source_equipment.equipment_id == "MTR-01"
    # The production meter's site is the farm: its naive times are Phoenix time.
    starts = list(production.interval_readings.values_list("start", flat=True))
    assert starts == [datetime(2026, 3, 1, 7, 0, tzinfo=UTC), datetime(2026, 3, 1, 8, 0, tzinfo=UTC)]
    assert BillReading.objects.get().energy_kwh == pytest.approx(350 * 29.3071)
    solar = Asset.objects.get(custom_id="SP-AZ-01")
    assert solar.farm == farm
    assert sorted(solar.meters.values_list("name", flat=True)) == ["Gila Bend production", "Office gas"]
    assert solar.nameplate_capacity_kw == 5000.0
    event = DemandResponseEvent.objects.get()
    assert (event.start, event.end) == (
        datetime(2026, 7, 14, 22, 0, tzinfo=UTC),
        datetime(2026, 7, 15, 1, 0, tzinfo=UTC),
    )


def test_observations_import_with_the_resource_from_a_plain_dataset(inverter):
    """The benchmark's way: ObservationResource().import_data on a tablib Dataset."""
    SensorFactory(equipment=inverter, sensor_id="", sensor_type="ac_power")
    SensorFactory(equipment=inverter, sensor_id="S-1", sensor_type="dc_voltage")
    headers = ["farm_id", "equipment_id", "sensor_id", "sensor_type", "observed_at", "value"]
    dataset = tablib.Dataset(
        ["AZ-01", "INV-01", "", "ac_power", "2024-06-01T12:00:00-04:00", "1500.5"],
        ["AZ-01", "INV-01", "S-1", "", "2024-06-01 12:00", "640"],  # the farm's time zone (New York)
        headers=headers,
    )
    result = ObservationResource().import_data(dataset, dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert sorted(Observation.objects.values_list("sensor__sensor_type", "observed_at", "value")) == [
        ("ac_power", datetime(2024, 6, 1, 16, 0, tzinfo=UTC), 1500.5),
        ("dc_voltage", datetime(2024, 6, 1, 16, 0, tzinfo=UTC), 640.0),
    ]
    again = ObservationResource().import_data(dataset, dry_run=False)
    assert again.totals["skip"] == 2 and Observation.objects.count() == 2


# Export, then import the same file: nothing changes, every row is reported unchanged.


def needs_seventeen_digits(demo):
    """Every float of the demo moved to its neighbour towards zero: doubles like 0.9999999999999999
    that 16 significant digits cannot carry (openpyxl's default), so a lossy writer shows."""
    for model in MODELS:
        floats = [field.name for field in model._meta.concrete_fields if field.get_internal_type() == "FloatField"]
        for row in model.objects.all():
            for name in floats:
                value = getattr(row, name)
                if value:
                    setattr(row, name, math.nextafter(value, 0.0))
            if floats:
                row.save(update_fields=floats)
    assert IntervalReading.objects.exclude(quantity=0).exists()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@pytest.mark.parametrize("name", list(RESOURCES))
def test_an_exported_file_imports_back_unchanged(demo, name, file_format):
    needs_seventeen_digits(demo)
    before = database()
    dataset = RESOURCES[name]().export()
    assert len(dataset) > 0
    data = csv_text(dataset).encode() if file_format == "csv" else xlsx_bytes([(name, dataset)])
    outcome = import_file(name, data, file_name=f"{name}.{file_format}")
    assert outcome.ok, problems(outcome)
    assert (outcome.rows_new, outcome.rows_updated, outcome.rows_unchanged) == (0, 0, len(dataset))
    assert database() == before


def test_exported_times_carry_the_site_offset(demo):
    farms = RESOURCES["farms"]().export()
    piedmont = farms.dict[[row["farm_id"] for row in farms.dict].index("DEMO-NC-01")]
    assert piedmont["commissioned_at"] == "2021-04-01T10:00:00-04:00"
    events = RESOURCES["events"]().export()
    assert events.dict[0]["start"] == "2026-07-14T17:00:00-05:00"


def test_an_edited_export_updates_only_the_rows_that_changed(demo):
    dataset = RESOURCES["equipment"]().export()
    dataset[0] = tuple(
        "Inverter one" if header == "name" else value for header, value in zip(dataset.headers, dataset[0], strict=True)
    )
    outcome = import_file("equipment", csv_text(dataset))
    assert (outcome.rows_new, outcome.rows_updated, outcome.rows_unchanged) == (0, 1, 14)
    assert Equipment.objects.filter(name="Inverter one").count() == 1


# Formulae.


def test_export_escapes_formulae_in_csv_and_keeps_numbers_as_numbers(sunbelt):
    FarmFactory(portfolio=sunbelt, farm_id="@F1", name='=HYPERLINK("http://x")', longitude=-75.5, latitude=40.0)
    FarmFactory(portfolio=sunbelt, farm_id="F2", name="'quoted", longitude=-75.0, latitude=40.0)
    text = csv_text(RESOURCES["farms"]().export())
    assert '\'@F1,sunbelt,"\'=HYPERLINK(""http://x"")",' in text
    assert ",''quoted," in text
    assert ",40.0,-75.5," in text  # a negative longitude is a number, not escaped
    before = database()
    outcome = import_file("farms", text)
    assert outcome.rows_unchanged == 2 and database() == before


def test_export_writes_formula_like_text_as_text_cells_in_xlsx(sunbelt):
    FarmFactory(portfolio=sunbelt, farm_id="F1", name="=1+2", longitude=-75.5)
    data = xlsx_bytes([("farms", RESOURCES["farms"]().export())])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = {cell.value: cell for row in sheet.iter_rows() for cell in row if cell.value is not None}
    assert cells["=1+2"].data_type == "s"
    assert cells[-75.5].data_type == "n"
    assert not [cell for cell in cells.values() if cell.data_type == "f"]
    assert import_file("farms", data, file_name="farms.xlsx").rows_unchanged == 1


# Columns.


def test_columns_in_another_order_and_spelling_of_case_import(sunbelt):
    outcome = import_file("farms", "Timezone, Name ,FARM_ID,portfolio\nAmerica/Denver,Mesa,F1,sunbelt\n")
    assert outcome.ok, problems(outcome)
    assert Farm.objects.get(farm_id="F1").name == "Mesa"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("farm_id,portfolio,farm_name,timezone", "Missing columns: name. Unknown columns: farm_name."),
        ("farm_id,portfolio,timezone", "Missing columns: name."),
        ("farm_id,portfolio,name,timezone,owner", "Unknown columns: owner."),
        ("farm_id,portfolio,name,timezone,name", "Columns given twice: name."),
    ],
    ids=["misspelled", "missing", "extra", "twice"],
)
def test_wrong_columns_are_refused_with_the_expected_and_found_columns(sunbelt, header, expected):
    before = database()
    width = len(header.split(","))
    outcome = import_file("farms", f"{header}\n{','.join(['x'] * width)}\n")
    assert problems(outcome) == [
        f"row 1: {expected} A farms file has the columns farm_id, portfolio, name, timezone and optionally "
        f"commissioned_at, latitude, longitude, dc_capacity_kw, is_active; this one has {header.replace(',', ', ')}."
    ]
    assert database() == before


# The file as a whole.


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\r\n \r\n", "The file is empty."),
        (f"{FARMS_HEADER}\r\n".encode(), "The file has a header row but no rows to import."),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "This file is not a spreadsheet: it is a PNG image. Upload CSV or XLSX.",
        ),
        (
            bytes(range(256)) * 8,
            "This file is not a spreadsheet: it is neither an XLSX workbook nor CSV text. Upload CSV or XLSX.",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
            "This file is not a spreadsheet: it is an Excel 97-2003 workbook (.xls); save it as .xlsx or CSV. "
            "Upload CSV or XLSX.",
        ),
    ],
    ids=["empty", "blank-lines", "header-only", "png", "random-bytes", "old-xls"],
)
def test_files_that_hold_no_table_are_refused(sunbelt, content, message):
    before = database()
    outcome = import_file("farms", content)
    assert problems(outcome) == [message]
    assert outcome.message == f"Nothing was imported: {message}"
    assert database() == before


def test_a_zip_that_is_not_a_workbook_is_refused(sunbelt):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    outcome = import_file("farms", out.getvalue(), file_name="farms.xlsx")
    assert problems(outcome) == [
        "This file is not a spreadsheet: it is a ZIP archive but not an XLSX workbook. Upload CSV or XLSX."
    ]


def test_utf8_with_a_bom_latin1_and_crlf_files_import(sunbelt):
    with_bom = f"\ufeff{FARMS_HEADER}\r\nF1,sunbelt,Zürich Süd,Europe/Zurich,47.4,8.5\r\n".encode()
    latin1 = f"{FARMS_HEADER}\r\nF2,sunbelt,Ñandú Solar,America/Argentina/Salta,-24.8,-65.4\r\n".encode("latin-1")
    assert import_file("farms", with_bom).ok
    assert import_file("farms", latin1).ok
    assert dict(Farm.objects.values_list("farm_id", "name")) == {"F1": "Zürich Süd", "F2": "Ñandú Solar"}


def test_a_semicolon_separated_file_from_a_european_excel_imports(sunbelt):
    outcome = import_file(
        "farms", "farm_id;portfolio;name;timezone;latitude;longitude\nF1;sunbelt;Lyon;Europe/Paris;45.7;4.8\n"
    )
    assert outcome.ok, problems(outcome)


def test_a_truncated_last_line_is_refused(sunbelt):
    before = database()
    outcome = import_file("farms", f"{FARMS_HEADER}\nF1,sunbelt,One,America/Denver,40,-105\nF2,sunbelt,Tw")
    assert problems(outcome) == ["row 3: This row has 3 of the 6 columns; the file looks cut short."]
    outcome = import_file("farms", f'{FARMS_HEADER}\nF1,sunbelt,One,America/Denver,40,-105\nF2,sunbelt,"Tw')
    assert problems(outcome) == [
        "row 3: The file ends inside a quoted cell (a quote is not closed); it may be cut short."
    ]
    assert database() == before


def test_a_row_longer_than_the_header_is_refused(sunbelt):
    outcome = import_file("farms", f"{FARMS_HEADER}\nF1,sunbelt,One,America/Denver,40,-105,extra\n")
    assert problems(outcome) == ["row 2: This row has 7 cells, but the header has 6."]


def test_an_xlsx_with_formulas_is_refused(sunbelt):
    before = database()
    data = xlsx([FARMS_HEADER.split(","), ["F1", "sunbelt", "One", "America/Denver", 40, "=B1*2"]])
    outcome = import_file("farms", data, file_name="farms.xlsx")
    assert problems(outcome) == ["row 2, longitude: Formulas are not imported; enter the value (found =B1*2)."]
    assert database() == before


def test_an_xlsx_numbers_its_rows_as_excel_does(sunbelt):
    data = xlsx([FARMS_HEADER.split(","), ["F1", "sunbelt", "One", "America/Denver", 40, -105], [], ["F2", "nowhere"]])
    outcome = import_file("farms", data, file_name="farms.xlsx")
    assert "row 4, portfolio: There is no portfolio with the slug 'nowhere'." in problems(outcome)
    assert "row 4, name: This column is required; the cell is empty." in problems(outcome)


def test_a_file_over_the_upload_limit_is_refused_before_it_is_read(sunbelt, settings):
    settings.SPREADSHEET_UPLOAD_MAX_BYTES = 50
    content = f"{FARMS_HEADER}\nF1,sunbelt,One,America/Denver,40,-105\n"
    outcome = import_file("farms", content)
    assert problems(outcome) == [
        f"The file is {len(content)} bytes; the limit is 50 bytes (setting SPREADSHEET_UPLOAD_MAX_BYTES). "
        "Split it into smaller files."
    ]
    assert not Farm.objects.exists()


# Cells.


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            '"1,234.5"',
            "'1,234.5' is not a number: write it without thousands separators and with a decimal point, "
            "for example '1234.5'.",
        ),
        ("NaN", "'NaN' is not a finite number; enter a number or leave the cell empty."),
        ("inf", "'inf' is not a finite number; enter a number or leave the cell empty."),
        ("-Infinity", "'-Infinity' is not a finite number; enter a number or leave the cell empty."),
        ("1e999", "1e999 is not a finite number; enter a number or leave the cell empty."),
        ("12 kW", "'12 kW' is not a number."),
    ],
)
def test_numbers_are_plain_finite_decimals(sunbelt, value, message):
    outcome = import_file("farms", f"farm_id,portfolio,name,timezone,dc_capacity_kw\nF1,sunbelt,One,UTC,{value}\n")
    assert problems(outcome) == [f"row 2, dc_capacity_kw: {message}"]
    assert not Farm.objects.exists()


def test_blank_required_cells_are_named(sunbelt):
    outcome = import_file("farms", f"{FARMS_HEADER}\nF1,,One,,40,-105\n")
    assert problems(outcome) == [
        "row 2, portfolio: This column is required; the cell is empty.",
        "row 2, timezone: This column is required; the cell is empty.",
    ]


def test_model_validation_speaks_for_the_column(sunbelt):
    outcome = import_file("farms", f"{FARMS_HEADER}\nF1,sunbelt,One,Mars/Olympus,95,\n")
    assert problems(outcome) == [
        "row 2, timezone: 'Mars/Olympus' is not an IANA time zone name "
        "(for example America/New_York or Europe/Berlin).",
        "row 2, latitude: Ensure this value is less than or equal to 90.0.",
        "row 2, longitude: Give both latitude and longitude, or neither.",
    ]


def test_unknown_enumeration_values_list_the_allowed_ones(inverter):
    outcome = import_file("equipment", "farm_id,equipment_id,name,equipment_type\nAZ-01,INV-02,Two,transformer\n")
    assert problems(outcome) == [
        "row 2, equipment_type: 'transformer' is not an equipment type; allowed: inverter, combiner, meter, "
        "weather_station."
    ]


def test_a_sensor_type_the_equipment_may_not_have_is_refused(inverter):
    before = database()
    content = "farm_id,equipment_id,sensor_id,sensor_type\nAZ-01,INV-01,,ac_power\nAZ-01,INV-01,,irradiance_poa\n"
    outcome = import_file("sensors", content)
    assert problems(outcome) == [
        "row 3, sensor_type: 'irradiance_poa' is not a sensor type of an inverter; allowed: dc_voltage, "
        "dc_current_amp, ac_power, dc_power."
    ]
    assert (outcome.rows_new, outcome.rows_invalid) == (1, 1)
    assert database() == before


def test_unknown_related_keys_are_named(inverter):
    content = "farm_id,equipment_id,sensor_type\nAZ-09,INV-01,ac_power\nAZ-01,INV-09,ac_power\n"
    assert problems(import_file("sensors", content)) == [
        "row 2, equipment_id: Farm 'AZ-09' has no equipment with the equipment ID 'INV-01'.",
        "row 3, equipment_id: Farm 'AZ-01' has no equipment with the equipment ID 'INV-09'.",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "01/06/2024 14:00",
            "'01/06/2024 14:00' is not a date and time; write ISO 8601, for example 2024-06-01T14:00:00-04:00.",
        ),
        (
            "2024-06-31T10:00:00Z",
            "'2024-06-31T10:00:00Z' is not a date and time; write ISO 8601, for example 2024-06-01T14:00:00-04:00.",
        ),
        (
            "2024-11-03 01:30",
            "'2024-11-03 01:30:00' happens twice in America/New_York (the clocks go back then); "
            "add the UTC offset, -04:00 or -05:00.",
        ),
        (
            "2024-03-10 02:30",
            "'2024-03-10 02:30:00' does not exist in America/New_York (the clocks go forward then); check the time.",
        ),
    ],
    ids=["not-iso", "no-such-day", "ambiguous", "missing"],
)
def test_times_that_cannot_be_read_are_refused(sunbelt, value, message):
    outcome = import_file(
        "farms", f"farm_id,portfolio,name,timezone,commissioned_at\nF1,sunbelt,One,America/New_York,{value}\n"
    )
    assert problems(outcome) == [f"row 2, commissioned_at: {message}"]


def test_an_unreadable_date_is_refused():
    meter = MeterFactory(portfolio=PortfolioFactory(slug="sunbelt"), name="Office")
    content = f"portfolio,meter,start_date,end_date,quantity\nsunbelt,{meter.name},2026-13-01,2026-02-01,1\n"
    assert problems(import_file("bill-readings", content)) == [
        "row 2, start_date: '2026-13-01' is not a date; write it as YYYY-MM-DD, for example 2024-06-30."
    ]


def test_a_naive_interval_time_needs_a_meter_with_a_site():
    MeterFactory(portfolio=PortfolioFactory(slug="sunbelt"), name="Office")
    content = "portfolio,meter,start,end,quantity\nsunbelt,Office,2026-03-01 00:00,2026-03-01T01:00:00Z,1\n"
    assert problems(import_file("interval-readings", content)) == [
        "row 2, start: '2026-03-01 00:00' has no UTC offset and meter 'Office' has no site time zone (no farm "
        "meter feeds it, and no one asset has it); add the offset, for example 2024-06-01T14:00:00-04:00."
    ]


def test_naive_event_times_are_in_the_asset_time_zone():
    asset = AssetFactory(portfolio=PortfolioFactory(slug="sunbelt"), custom_id="DR-1", demand_response=True)
    assert asset.timezone == "America/Chicago"
    assert import_file("events", "portfolio,custom_id,start,end\nsunbelt,DR-1,2026-07-14 17:00,2026-07-14 20:00\n").ok
    event = DemandResponseEvent.objects.get()
    assert event.start == datetime(2026, 7, 14, 17, 0, tzinfo=ZoneInfo("America/Chicago"))


def test_asset_meters_are_linked_by_name_within_the_portfolio(sunbelt):
    MeterFactory(portfolio=sunbelt, name="Office")
    MeterFactory(name="Elsewhere")  # another portfolio's meter
    content = (
        "portfolio,custom_id,name,kind,timezone,address,meters\n"
        "sunbelt,A-1,One,storage_direct,UTC,1 Main St,Office; Elsewhere\n"
        "sunbelt,A-2,Two,solar,UTC,1 Main St,\n"
    )
    outcome = import_file("assets", content)
    assert problems(outcome) == [
        "row 2, meters: Portfolio 'sunbelt' has no meter named 'Elsewhere'.",
        "row 3, nameplate_capacity_kw: Required for directly measured solar assets.",
        "row 3, inverter_data_id: Required for directly measured solar assets.",
        "row 3, inverter_data_source: Required for directly measured solar assets.",
    ]
    assert not Asset.objects.exists()


def test_the_same_key_twice_is_an_error_on_the_later_row(sunbelt):
    before = database()
    content = f"{FARMS_HEADER}\nF1,sunbelt,One,UTC,1,1\nF2,sunbelt,Two,UTC,1,1\nF1,sunbelt,One again,UTC,2,2\n"
    outcome = import_file("farms", content)
    assert problems(outcome) == [
        "row 4, farm_id: The same farm as row 2 (farm_id 'F1'); each farm may appear only once in a file."
    ]
    assert database() == before


def test_the_same_key_spelled_differently_is_found_too():
    AssetFactory(portfolio=PortfolioFactory(slug="sunbelt"), custom_id="DR-1", demand_response=True)
    content = (
        "portfolio,custom_id,start,end\n"
        "sunbelt,DR-1,2026-07-14T17:00:00-05:00,2026-07-14T18:00:00-05:00\n"
        "sunbelt,DR-1,2026-07-14T22:00:00Z,2026-07-14T23:30:00Z\n"
    )
    assert problems(import_file("events", content)) == [
        "row 3, portfolio, custom_id, start: The same demand-response event as row 2 (portfolio 'sunbelt', "
        "custom_id 'DR-1', start '2026-07-14T22:00:00Z'); each demand-response event may appear only once in a file."
    ]
    assert not DemandResponseEvent.objects.exists()


def test_events_of_one_file_may_not_overlap():
    AssetFactory(portfolio=PortfolioFactory(slug="sunbelt"), custom_id="DR-1", demand_response=True)
    content = (
        "portfolio,custom_id,start,end\n"
        "sunbelt,DR-1,2026-07-14T17:00:00-05:00,2026-07-14T20:00:00-05:00\n"
        "sunbelt,DR-1,2026-07-14T19:00:00-05:00,2026-07-14T21:00:00-05:00\n"
    )
    [problem] = problems(import_file("events", content))
    # In the asset's own zone (America/Chicago), as the event is sent to WattCarbon.
    assert problem.startswith("row 3: This event overlaps the event 2026-07-14 17:00 to 2026-07-14 20:00 CDT")


# Records.


def test_a_refused_file_is_recorded_with_its_problems(sunbelt):
    content = f"{FARMS_HEADER}\nF1,sunbelt,One,Mars/Olympus,40,-105\n".encode()
    outcome = import_file("farms", content, file_name="farms-june.csv")
    record = ImportRecord.objects.get()
    assert record == outcome.record
    assert (record.kind, record.target, record.source, record.status) == ("spreadsheet", "farms", "command", "refused")
    assert (record.file_name, record.file_size, record.sha256) == (
        "farms-june.csv",
        len(content),
        hashlib.sha256(content).hexdigest(),
    )
    assert (record.rows_read, record.rows_invalid, record.rows_new) == (1, 1, 0)
    assert record.message == "Nothing was imported: 1 of 1 rows is invalid."
    assert record.problems == [
        {
            "line": 2,
            "column": "timezone",
            "message": "'Mars/Olympus' is not an IANA time zone name (for example America/New_York or Europe/Berlin).",
        }
    ]
    assert record.finished_at is not None


def test_a_dry_run_saves_nothing_and_records_nothing_when_the_file_is_fine(sunbelt):
    outcome = import_file("farms", f"{FARMS_HEADER}\nF1,sunbelt,One,UTC,40,-105\n", dry_run=True)
    assert outcome.ok and outcome.status == "previewed"
    assert outcome.message == "Ready to import farms: 1 new, 0 updated, 0 unchanged."
    assert not Farm.objects.exists() and not ImportRecord.objects.exists()


def test_a_date_column_reads_excel_dates(sunbelt):
    MeterFactory(portfolio=sunbelt, name="Office", meter_type="gas")
    data = xlsx(
        [
            ["portfolio", "meter", "start_date", "end_date", "quantity", "unit"],
            ["sunbelt", "Office", datetime(2026, 1, 1), datetime(2026, 2, 1), 350, "Therm"],
        ]
    )
    outcome = import_file("bill-readings", data, file_name="bills.xlsx")
    assert outcome.ok, problems(outcome)
    bill = BillReading.objects.get()
    assert (bill.start_date, bill.end_date, bill.unit) == (date(2026, 1, 1), date(2026, 2, 1), "therm")


def test_a_meter_row_with_an_incomplete_address_is_refused_naming_each_missing_part(sunbelt):
    header = "portfolio,name,meter_type,street,city,state,postal_code,country,address,latitude,longitude"
    outcome = import_file("meters", f"{header}\nsunbelt,Main,electricity,1 Main St,Ames,,,,,,\n")
    assert [problem.split(": An address")[0] for problem in problems(outcome)] == [
        "row 2, state",
        "row 2, postal_code",
        "row 2, country",
    ]
    assert "needs all five parts" in problems(outcome)[0]
    assert not Meter.objects.exists()


def test_the_missing_columns_message_reads_as_english_for_every_resource(sunbelt):
    outcome = import_file("interval-readings", "portfolio,meter\nsunbelt,Main\n")
    [message] = problems(outcome)
    assert "An interval-readings file has the columns portfolio, meter, start, end, quantity" in message
