"""The readings import on real files and the real database: what it loads, and what it refuses."""

import csv
from datetime import UTC, datetime

import pytest

from portfolio.ingest import ReadingsFileError, import_readings
from portfolio.ingest.jobs import summary
from portfolio.models import Equipment, Farm, Observation, Sensor
from tests.factories import EquipmentFactory, FarmFactory, ObservationFactory, PortfolioFactory, SensorFactory
from tests.ingest.files import (
    FARM,
    LONG_HEADERS_BY_ID,
    LONG_HEADERS_BY_TYPE,
    RAPTOR_HEADERS,
    csv_text,
    raptor_row,
    write_file,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio():
    return PortfolioFactory(slug="main")


def stored():
    return sorted(
        (str(o.sensor), o.observed_at, o.value) for o in Observation.objects.select_related("sensor__equipment__farm")
    )


def refused(path, **options):
    """Import and expect a refusal; return its problems as strings."""
    before = (stored(), Farm.objects.count(), Equipment.objects.count(), Sensor.objects.count())
    with pytest.raises(ReadingsFileError) as caught:
        import_readings(path, **options)
    after = (stored(), Farm.objects.count(), Equipment.objects.count(), Sensor.objects.count())
    assert after == before, "a refused file changed the database"
    return [str(problem) for problem in caught.value.problems]


def at(*args):
    return datetime(*args, tzinfo=UTC)


# --- what a good file does -------------------------------------------------------------------------


def test_raptor_file_creates_its_farm_equipment_and_sensors(tmp_path, portfolio):
    rows = [
        raptor_row("2024-06-01 00:00:00", "1.5"),
        raptor_row("2024-06-01 00:15:00", "2.25"),
        raptor_row("2024-06-01 00:00:00", "640.5", sensor=("S-1", "Plane of array", "irradiance_poa"),
                   equipment=("WS-1", "Weather station", "Weather Station/Pyranometer")),
    ]  # fmt: skip
    result = import_readings(write_file(tmp_path, csv_text(rows)))

    assert (result.file_format, result.rows_read, result.rows_new) == ("Raptor Maps CSV", 3, 3)
    assert (result.farms_created, result.equipment_created, result.sensors_created) == (1, 2, 2)
    farm = Farm.objects.get(farm_id="F-1")
    assert (farm.portfolio, farm.name, farm.timezone) == (portfolio, "Farm one", "America/New_York")
    assert farm.commissioned_at == at(2020, 5, 1, 4)  # local midnight, EDT
    assert (farm.latitude, farm.longitude) == (40.7, -74.0)
    assert Equipment.objects.get(equipment_id="WS-1").equipment_type == "weather_station"
    # Local times (EDT, UTC-4) stored in UTC.
    assert stored() == [
        ("F-1/INV-1/ac_power", at(2024, 6, 1, 4, 0), 1.5),
        ("F-1/INV-1/ac_power", at(2024, 6, 1, 4, 15), 2.25),
        ("F-1/WS-1/S-1", at(2024, 6, 1, 4, 0), 640.5),
    ]


def test_utc_time_basis_reads_times_as_utc(tmp_path, portfolio):
    import_readings(write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "1")])), time_basis="utc")
    assert stored() == [("F-1/INV-1/ac_power", at(2024, 6, 1), 1.0)]


def test_reimport_changes_nothing_and_a_new_value_replaces_the_old(tmp_path, portfolio):
    rows = [raptor_row("2024-06-01 00:00:00", "1"), raptor_row("2024-06-01 00:15:00", "2")]
    path = write_file(tmp_path, csv_text(rows))
    import_readings(path)
    first_ingested = dict(Observation.objects.values_list("observed_at", "ingested_at"))

    again = import_readings(path)
    assert (again.rows_new, again.rows_updated, again.rows_unchanged) == (0, 0, 2)
    assert (again.farms_created, again.sensors_created, again.catalog_updated) == (0, 0, 0)
    assert Observation.objects.count() == 2

    changed = write_file(
        tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "1"), raptor_row("2024-06-01 00:15:00", "5")])
    )
    result = import_readings(changed)
    assert (result.rows_new, result.rows_updated, result.rows_unchanged) == (0, 1, 1)
    assert [value for *_, value in stored()] == [1.0, 5.0]
    ingested = dict(Observation.objects.values_list("observed_at", "ingested_at"))
    # Only the changed reading counts as newly ingested (it must be sent on again; the other not).
    assert ingested[at(2024, 6, 1, 4)] == first_ingested[at(2024, 6, 1, 4)]
    assert ingested[at(2024, 6, 1, 4, 15)] > first_ingested[at(2024, 6, 1, 4, 15)]


def test_raptor_file_updates_names_of_known_farms_and_equipment(tmp_path, portfolio):
    farm = FarmFactory(farm_id="F-1", portfolio=portfolio, name="Old name", timezone="America/New_York")
    EquipmentFactory(farm=farm, equipment_id="INV-1", name="Old inverter")
    result = import_readings(write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "1")])))
    assert (result.farms_created, result.equipment_created, result.catalog_updated) == (0, 0, 2)
    assert Farm.objects.get().name == "Farm one"
    assert Equipment.objects.get().name == "Inverter 1"


def test_identical_repeats_are_loaded_once(tmp_path, portfolio):
    row = raptor_row("2024-06-01 00:00:00", "1")
    result = import_readings(write_file(tmp_path, csv_text([row, row])))
    assert (result.rows_read, result.rows_new) == (2, 1)
    assert Observation.objects.count() == 1


def test_long_format_by_sensor_id_with_offsets_and_local_times(tmp_path):
    sensor = SensorFactory(sensor_id="S-9", equipment__farm__farm_id="F-9", equipment__equipment_id="INV-9",
                           equipment__farm__timezone="Europe/Berlin")  # fmt: skip
    rows = [
        ["F-9", "INV-9", "S-9", "2024-06-01T12:00:00+00:00", "10"],
        ["F-9", "INV-9", "S-9", "2024-06-01T12:15:00Z", "11"],
        ["F-9", "INV-9", "S-9", "2024-06-01 14:30:00", "12"],  # Berlin summer time: 12:30 UTC
    ]
    result = import_readings(write_file(tmp_path, csv_text(rows, header=LONG_HEADERS_BY_ID)))
    assert (result.file_format, result.rows_new) == ("long format, by sensor ID", 3)
    assert list(sensor.observations.order_by("observed_at").values_list("observed_at", "value")) == [
        (at(2024, 6, 1, 12), 10.0),
        (at(2024, 6, 1, 12, 15), 11.0),
        (at(2024, 6, 1, 12, 30), 12.0),
    ]


def test_long_format_by_sensor_type(tmp_path):
    sensor = SensorFactory(sensor_id="", sensor_type="dc_power", equipment__farm__farm_id="F-9",
                           equipment__equipment_id="INV-9", equipment__farm__timezone="UTC")  # fmt: skip
    path = write_file(
        tmp_path, csv_text([["F-9", "INV-9", "dc_power", "2024-06-01 00:00:00", "3"]], LONG_HEADERS_BY_TYPE)
    )
    import_readings(path)
    assert list(sensor.observations.values_list("value", flat=True)) == [3.0]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (
            "\ufeff" + csv_text([raptor_row("2024-06-01 00:00:00", "1", farm=("F-1", "Énergie du Sud", *FARM[2:]))]),
            "utf-8",
        ),
        (csv_text([raptor_row("2024-06-01 00:00:00", "1", farm=("F-1", "Énergie du Sud", *FARM[2:]))]), "latin-1"),
        (csv_text([raptor_row("2024-06-01 00:00:00", "1", farm=("F-1", "Énergie du Sud", *FARM[2:]))]), "cp1252"),
        (
            csv_text(
                [raptor_row("2024-06-01 00:00:00", "1", farm=("F-1", "Énergie du Sud", *FARM[2:]))], line_end="\r\n"
            ),
            "utf-8",
        ),
    ],
    ids=["utf-8 with BOM", "latin-1", "windows-1252", "CRLF line ends"],
)
def test_encodings_and_line_ends_read_correctly(tmp_path, portfolio, data, encoding):
    import_readings(write_file(tmp_path, data, encoding=encoding))
    assert Farm.objects.get().name == "Énergie du Sud"
    assert Observation.objects.count() == 1


def test_progress_is_reported_while_reading(tmp_path, portfolio, monkeypatch):
    monkeypatch.setattr("portfolio.ingest.importer.PROGRESS_SECONDS", 0)
    monkeypatch.setattr("portfolio.ingest.importer.PROGRESS_EVERY_ROWS", 10)
    rows = [
        raptor_row(f"2024-06-01 {hour:02d}:{minute:02d}:00", "1") for hour in range(10) for minute in (0, 15, 30, 45)
    ]
    path = write_file(tmp_path, csv_text(rows))
    seen = []
    import_readings(path, progress=seen.append)
    phases = [update.phase for update in seen]
    assert phases[0] == "reading" and phases[-1] == "done" and "writing" in phases
    reading = [update for update in seen if update.phase == "reading"]
    assert [update.rows_read for update in reading] == sorted(update.rows_read for update in reading)
    assert seen[-1].rows_read == 40 and seen[-1].bytes_total == path.stat().st_size


# --- what a bad file gets ------------------------------------------------------------------------


def expected_header_message(found):
    return (
        "line 1: The header row is not one this import reads (%s).\n"
        f"    expected (Raptor Maps CSV): {','.join(RAPTOR_HEADERS)}\n"
        f"    found: {','.join(found)}\n"
    )


@pytest.mark.parametrize(
    ("header", "difference"),
    [
        ([h for h in RAPTOR_HEADERS if h != "sensor_type"], "missing: sensor_type"),
        ([*RAPTOR_HEADERS, "notes"], "not expected: 'notes'"),
        ([h.replace("commissioning date", "commissioning_date") for h in RAPTOR_HEADERS],
         "missing: commissioning date; not expected: 'commissioning_date'"),
        ([*RAPTOR_HEADERS[:12], RAPTOR_HEADERS[13], RAPTOR_HEADERS[12]], "the same columns in a different order"),
    ],
    ids=["missing", "extra", "misspelled", "reordered"],
)  # fmt: skip
def test_a_header_that_does_not_match_is_shown_against_the_expected_one(tmp_path, portfolio, header, difference):
    rows = [raptor_row("2024-06-01 00:00:00", "1")[: len(header)]]
    (problem,) = refused(write_file(tmp_path, csv_text(rows, header=header)))
    assert problem.startswith(expected_header_message(header) % difference)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (csv_text([]).encode(), "The file has a header row but no readings."),
        (b"\n\n", "The file has no header row: the first line is blank."),
        (b"PK\x03\x04\x14\x00\x06\x00rest of a workbook",
         "This is not a CSV file: it is an XLSX workbook or ZIP archive; save the sheet as CSV (UTF-8)."),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "This is not a CSV file: it is a PNG image."),
        (b"farm_id\x00\x01\x02\x03", "This is not a CSV text file: it holds binary data (a zero byte at byte 7)."),
    ],
    ids=["empty", "header only", "blank first line", "xlsx", "png", "binary"],
)  # fmt: skip
def test_files_that_are_not_readings_are_refused_with_what_they_are(tmp_path, portfolio, data, message):
    assert refused(write_file(tmp_path, data)) == [message]


def test_a_file_that_stops_being_utf8_names_the_line(tmp_path, portfolio):
    good = csv_text([raptor_row("2024-06-01 00:00:00", "1")] * 3000).encode()  # over the 64 KB sniffed
    bad = ",".join(raptor_row("2024-06-02 00:00:00", "1", farm=("F-1", "Farm \xe9", *FARM[2:]))).encode("latin-1")
    problems = refused(write_file(tmp_path, good + bad + b"\n"))
    assert problems == ["line 3002: not UTF-8 text, though the start of the file is; save the whole file as UTF-8"]


CELL_CASES = [
    # (row changes, the problem)
    ({0: ""}, "line 2, farm_id: blank; this column is required"),
    ({1: " "}, "line 2, farm_name: blank; this column is required"),
    ({11: ""}, "line 2, sensor_type: blank; this column is required"),
    ({13: ""}, "line 2, measured_value: blank; a number is required"),
    ({12: ""}, "line 2, observation_time: blank; a date and time is required (YYYY-MM-DD HH:MM:SS)"),
    ({12: "06/01/2024 00:00"}, "line 2, observation_time: '06/01/2024 00:00' is not a date and time; expected YYYY-MM-DD HH:MM:SS"),
    ({12: "2024-13-01 00:00:00"}, "line 2, observation_time: '2024-13-01 00:00:00' is not a date and time; expected YYYY-MM-DD HH:MM:SS"),
    ({12: "2024-06-01"}, "line 2, observation_time: '2024-06-01' is not a date and time; expected YYYY-MM-DD HH:MM:SS"),
    ({12: "2024-03-10 02:30:00"},
     "line 2, observation_time: '2024-03-10 02:30:00' does not exist in America/New_York (the clocks skip it when daylight saving starts)"),
    ({13: "1,234.5"}, "line 2, measured_value: '1,234.5' is not a number (write numbers without thousands separators, with . as the decimal point)"),
    ({13: "NaN"}, "line 2, measured_value: 'NaN' is not a finite number"),
    ({13: "inf"}, "line 2, measured_value: 'inf' is not a finite number"),
    ({13: "-Infinity"}, "line 2, measured_value: '-Infinity' is not a finite number"),
    ({13: "1e999"}, "line 2, measured_value: '1e999' is not a finite number"),
    ({13: "1_000"}, "line 2, measured_value: '1_000' is not a number"),
    ({13: "twelve"}, "line 2, measured_value: 'twelve' is not a number"),
    ({8: "pump"}, "line 2, equipment_type: 'pump' is not an equipment type; allowed: inverter, combiner, meter, weather_station"),
    ({11: "irradiance"}, "line 2, sensor_type: 'irradiance' is not a sensor type; allowed: dc_voltage, dc_current_amp, ac_power, "
     "dc_power, production_meter_energy, production_meter_power, irradiance_poa, irradiance_ghi"),
    ({11: "irradiance_poa"}, "line 2, sensor_type: 'irradiance_poa' is not a sensor type of an inverter; "
     "allowed: dc_voltage, dc_current_amp, ac_power, dc_power"),
    ({2: "Mars/Olympus"}, "line 2, timezone: 'Mars/Olympus' is not an IANA time zone name (for example America/New_York)"),
    ({2: ""}, "line 2, timezone: blank; farm F-1 is new and needs its time zone"),
    ({4: "91", 5: "0"}, "line 2, farm_latitude: Ensure this value is less than or equal to 90.0"),
    ({4: "40"}, None),  # both coordinates given: fine
    ({8: "", 11: "dc_power"}, "line 2, equipment_type: blank; equipment F-1/INV-1 is new and needs its type (inverter or combiner for dc_power)"),
    ({6: "x" * 101}, "line 2, equipment_id: Ensure this value has at most 100 characters (it has 101)"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "message"), CELL_CASES, ids=[message or "ok" for _, message in CELL_CASES])
def test_a_bad_cell_is_named_by_line_and_column(tmp_path, portfolio, changes, message):
    row = raptor_row("2024-06-01 00:00:00", "1")
    for column, text in changes.items():
        row[column] = text
    path = write_file(tmp_path, csv_text([row]))
    if message is None:
        import_readings(path)
        return
    assert refused(path) == [message]


def test_an_inferred_equipment_type_is_used_when_unambiguous(tmp_path, portfolio):
    row = raptor_row(
        "2024-06-01 00:00:00", "1", equipment=("M-1", "Meter", ""), sensor=("", "", "production_meter_energy")
    )
    import_readings(write_file(tmp_path, csv_text([row])))
    assert Equipment.objects.get().equipment_type == "meter"


def test_the_same_sensor_and_time_with_two_values_is_refused(tmp_path, portfolio):
    rows = [
        raptor_row("2024-06-01 00:00:00", "1"),
        raptor_row("2024-06-01 00:15:00", "2"),
        raptor_row("2024-06-01 00:00:00", "1.5"),
    ]
    assert refused(write_file(tmp_path, csv_text(rows))) == [
        "line 4: sensor F-1/INV-1/ac_power at 2024-06-01 04:00:00 UTC is given twice: 1.5 here and 1.0 on line 2"
    ]


def test_a_farm_described_two_ways_is_refused(tmp_path, portfolio):
    rows = [
        raptor_row("2024-06-01 00:00:00", "1"),
        raptor_row("2024-06-01 00:15:00", "1", farm=("F-1", "Farm 1", *FARM[2:])),
    ]
    assert refused(write_file(tmp_path, csv_text(rows))) == [
        "line 3, farm_name: 'Farm 1' differs from 'Farm one' given for farm F-1 on line 2"
    ]


def test_equipment_of_another_type_than_the_file_says_is_refused(tmp_path, portfolio):
    EquipmentFactory(
        farm=FarmFactory(farm_id="F-1", portfolio=portfolio), equipment_id="INV-1", equipment_type="combiner"
    )
    assert refused(write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "1")]))) == [
        "line 2, equipment_type: 'inverter', but equipment F-1/INV-1 is Combiner; change its type in the admin first"
    ]


def test_new_farms_need_a_portfolio_when_there_are_several(tmp_path, portfolio):
    PortfolioFactory(slug="other")
    path = write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "1")]))
    assert refused(path) == [
        "line 2, farm_id: farm F-1 is new, and there is more than one portfolio; choose the portfolio for new farms"
    ]
    import_readings(path, portfolio=portfolio)
    assert Farm.objects.get().portfolio == portfolio


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["NOPE", "INV-9", "S-9", "2024-06-01 00:00:00", "1"], "line 2, farm_id: there is no farm with farm ID 'NOPE'"),
        (["F-9", "NOPE", "S-9", "2024-06-01 00:00:00", "1"],
         "line 2, equipment_id: farm F-9 has no equipment with equipment ID 'NOPE'"),
        (["F-9", "INV-9", "NOPE", "2024-06-01 00:00:00", "1"],
         "line 2, sensor_id: equipment F-9/INV-9 has no sensor with sensor ID 'NOPE'"),
    ],
)  # fmt: skip
def test_long_format_names_what_does_not_exist(tmp_path, row, message):
    SensorFactory(sensor_id="S-9", equipment__farm__farm_id="F-9", equipment__equipment_id="INV-9")
    assert refused(write_file(tmp_path, csv_text([row], header=LONG_HEADERS_BY_ID))) == [message]


def test_a_truncated_last_line_is_named(tmp_path, portfolio):
    text = csv_text([raptor_row("2024-06-01 00:00:00", "1"), raptor_row("2024-06-01 00:15:00", "2")])
    cut = text[: text.rindex("inverter") + 3]  # the download stopped in the middle of line 3
    assert refused(write_file(tmp_path, cut)) == ["line 3: 9 columns, expected 14 (is the last line cut short?)"]


def test_an_unclosed_quote_at_the_end_is_named(tmp_path, portfolio):
    text = csv_text([raptor_row("2024-06-01 00:00:00", "1")]) + 'F-1,"Farm one'
    (problem,) = refused(write_file(tmp_path, text))
    assert problem.startswith("line 3: not valid CSV (") and problem.endswith("is the file cut short?")


def test_the_first_hundred_problems_are_listed_and_all_are_counted(tmp_path, portfolio):
    rows = [raptor_row(f"2024-06-01 00:{minute:02d}:00", "x") for minute in range(60)] * 3
    with pytest.raises(ReadingsFileError) as caught:
        import_readings(write_file(tmp_path, csv_text(rows)))
    assert caught.value.problem_count == 180
    assert len(caught.value.problems) == 100
    assert caught.value.problems[0].line == 2 and caught.value.problems[-1].line == 101
    assert "180 problems; nothing was imported" in str(caught.value)
    assert "... and 80 more" in str(caught.value)
    assert Observation.objects.count() == 0


# --- skip invalid ---------------------------------------------------------------------------------


def test_skip_invalid_loads_the_good_rows_and_writes_the_rest_with_reasons(tmp_path, portfolio):
    rows = [
        raptor_row("2024-06-01 00:00:00", "1"),
        raptor_row("2024-06-01 00:15:00", "NaN"),
        raptor_row("2024-06-01 00:30:00", "3", sensor=("", "", "irradiance_ghi")),
        raptor_row("2024-06-01 00:45:00", "4"),
        raptor_row("2024-06-01 01:00:00", "5"),
        raptor_row("2024-06-01 01:00:00", "6"),
    ]
    path = write_file(tmp_path, csv_text(rows))
    result = import_readings(path, skip_invalid=True)

    assert (result.rows_read, result.rows_new, result.rows_skipped) == (6, 2, 4)
    assert result.errors_path == tmp_path / "readings.errors.csv"
    assert [value for *_, value in stored()] == [1.0, 4.0]
    with open(result.errors_path, newline="") as stream:
        errors = list(csv.reader(stream))
    assert errors[0] == ["line", "column", "error", *RAPTOR_HEADERS]
    assert [(line, column, message) for line, column, message, *_ in errors[1:]] == [
        ("3", "measured_value", "'NaN' is not a finite number"),
        ("4", "sensor_type", "'irradiance_ghi' is not a sensor type of an inverter; allowed: dc_voltage, "
         "dc_current_amp, ac_power, dc_power"),
        ("6", "", "sensor F-1/INV-1/ac_power at 2024-06-01 05:00:00 UTC is given more than once with different "
         "values; none of them was imported"),
        ("7", "", "sensor F-1/INV-1/ac_power at 2024-06-01 05:00:00 UTC is given more than once with different "
         "values; none of them was imported"),
    ]  # fmt: skip
    assert errors[1][3:] == rows[1]  # the rejected row as it was


def test_skip_invalid_with_nothing_wrong_writes_no_errors_file(tmp_path, portfolio):
    result = import_readings(
        write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "1")])), skip_invalid=True
    )
    assert result.errors_path is None
    assert not (tmp_path / "readings.errors.csv").exists()


def test_existing_readings_of_other_sensors_are_left_alone(tmp_path, portfolio):
    other = ObservationFactory(value=42.0)
    import_readings(write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "1")])), portfolio=portfolio)
    other.refresh_from_db()
    assert other.value == 42.0
    assert Observation.objects.count() == 2


# --- every row is accounted for ---------------------------------------------------------------------


def accounted(result):
    """new + updated + unchanged + merged + rejected: every row read lands in exactly one."""
    return result.rows_new + result.rows_updated + result.rows_unchanged + result.rows_merged + result.rows_skipped


def test_a_repeated_fall_back_hour_is_merged_and_counted_and_every_row_adds_up(tmp_path, portfolio):
    # New York falls back on 2024-11-03: 01:00-01:45 local comes twice (EDT, then EST). A file in
    # local time cannot tell the two apart; rows that repeat with the same value merge into one.
    hour = [f"2024-11-03 01:{minute:02d}:00" for minute in (0, 15, 30, 45)]
    rows = [
        raptor_row("2024-11-03 00:45:00", "7"),
        *(raptor_row(time, "5") for time in hour),
        *(raptor_row(time, "5") for time in hour),  # the hour again, the same values
        raptor_row("2024-11-03 02:00:00", "NaN"),  # rejected
        raptor_row("2024-11-03 02:15:00", "1"),
        raptor_row("2024-11-03 02:15:00", "2"),  # the same sensor and time, another value: both rejected
    ]
    first = import_readings(write_file(tmp_path, csv_text(rows)), skip_invalid=True)

    assert (first.rows_read, first.rows_new, first.rows_merged, first.rows_skipped) == (12, 5, 4, 3)
    assert accounted(first) == first.rows_read
    assert Observation.objects.count() == 5

    again = import_readings(write_file(tmp_path, csv_text(rows)), skip_invalid=True)
    assert (again.rows_new, again.rows_unchanged, again.rows_merged, again.rows_skipped) == (0, 5, 4, 3)
    assert accounted(again) == again.rows_read


def test_the_import_record_and_its_sentence_say_how_many_rows_merged(tmp_path, portfolio):
    row = raptor_row("2024-06-01 00:00:00", "1")
    result = import_readings(write_file(tmp_path, csv_text([row, row, row])))

    assert summary(result) == (
        "3 rows (Raptor Maps CSV): 1 new, 0 updated, 0 unchanged, "
        "2 merged (a sensor and time given again with the same value); created 1 farm, 1 piece of equipment, 1 sensor."
    )
