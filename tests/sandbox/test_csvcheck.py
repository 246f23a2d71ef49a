"""The strict check of the Raptor Maps CSV, used as a plain function on files (as the upload tests do)."""

import pytest

from sandbox.csvcheck import HEADERS, MAX_PROBLEMS, check_csv_file
from tests.fixtures.sandbox import contract_csv, contract_row

HEADER_LINE = ",".join(HEADERS)
GOOD_FIELDS = [contract_row(observation_time="2024-06-01 01:00:00")[name] for name in HEADERS]


def check(tmp_path, content):
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    return check_csv_file(path)


def problems(tmp_path, content):
    return check(tmp_path, content).messages()


def rows(*rows, **options):
    return contract_csv(rows, **options)


def at(minute, **changes):
    return contract_row(observation_time=f"2024-06-01 00:{minute:02d}:00", **changes)


# --- files the contract accepts ------------------------------------------------------------------


def test_a_good_file_is_valid_and_its_rows_counted(tmp_path):
    report = check(tmp_path, rows(at(0), at(15), at(30)))
    assert (report.valid, report.rows, report.problems, report.problem_count) == (True, 3, (), 0)


def test_optional_columns_may_be_empty(tmp_path):
    empty = dict.fromkeys(
        [
            "timezone",
            "commissioning date",
            "farm_latitude",
            "farm_longitude",
            "equipment_type",
            "sensor_id",
            "sensor_name",
        ],
        "",
    )
    assert problems(tmp_path, rows({**at(0), **empty})) == []


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_either_line_end_and_a_last_line_without_one(tmp_path, line_end):
    content = rows(at(0), at(15), line_end=line_end)
    assert problems(tmp_path, content) == []
    assert problems(tmp_path, content.rstrip(b"\r\n")) == []


def test_quoted_fields_may_hold_commas_quotes_and_line_ends(tmp_path):
    name = 'Acres, "North"\r\nfield'
    content = rows(at(0, farm_name=name), at(15, farm_name=name), at(30, farm_name=name))
    assert b'"Acres, ""North""\r\nfield"' in content
    report = check(tmp_path, content)
    assert (report.messages(), report.rows) == ([], 3)


def test_every_equipment_type_with_each_of_its_sensor_types(tmp_path):
    table = {
        "inverter": ["dc_voltage", "dc_current_amp", "ac_power", "dc_power"],
        "combiner": ["dc_voltage", "dc_current_amp", "ac_power", "dc_power"],
        "meter": ["production_meter_energy", "production_meter_power"],
        "weather_station": ["irradiance_poa", "irradiance_ghi"],
    }
    content = rows(
        *(
            at(0, equipment_id=equipment, equipment_type=equipment, sensor_id="", sensor_type=sensor)
            for equipment, sensors in table.items()
            for sensor in sensors
        )
    )
    assert problems(tmp_path, content) == []


@pytest.mark.parametrize("value", ["0", "-3", "12.5", "-0.25", "1e-05", "1.5E+16", "2e3"])
def test_numbers_plain_or_with_an_exponent_as_repr_writes_them(tmp_path, value):
    assert problems(tmp_path, rows(at(0, measured_value=value))) == []


@pytest.mark.parametrize(("latitude", "longitude"), [("90", "180"), ("-90", "-180"), ("0", "0"), ("45.5e-1", "-1e2")])
def test_coordinates_at_their_limits(tmp_path, latitude, longitude):
    assert problems(tmp_path, rows(at(0, farm_latitude=latitude, farm_longitude=longitude))) == []


def test_a_header_only_file_is_refused(tmp_path):
    report = check(tmp_path, rows())
    assert (report.valid, report.rows) == (False, 0)
    assert report.messages() == ["line 1: the header row only: a file carries at least one row of readings"]


def test_a_sensors_times_may_go_backwards_without_repeating(tmp_path):
    assert problems(tmp_path, rows(at(30), at(0), at(15))) == []


def test_the_same_time_on_different_sensors_is_no_duplicate(tmp_path):
    content = rows(
        at(0), at(0, sensor_id="S-2"), at(0, sensor_id="", sensor_type="dc_power"), at(0, equipment_id="I-2")
    )
    assert problems(tmp_path, content) == []


# --- what it refuses, with the exact messages ---------------------------------------------------------

BAD_ROWS = [
    ("farm_id empty", {"farm_id": ""}, "line 2, column 1 (farm_id): required, but empty"),
    ("farm_name blank", {"farm_name": "  "}, "line 2, column 2 (farm_name): required, but empty"),
    ("equipment_id empty", {"equipment_id": ""}, "line 2, column 7 (equipment_id): required, but empty"),
    ("equipment_name empty", {"equipment_name": ""}, "line 2, column 8 (equipment_name): required, but empty"),
    ("sensor_type empty", {"sensor_type": ""}, "line 2, column 12 (sensor_type): required, but empty"),
    ("time empty", {"observation_time": ""}, "line 2, column 13 (observation_time): required, but empty"),
    ("value empty", {"measured_value": ""}, "line 2, column 14 (measured_value): required, but empty"),
    (
        "time with T",
        {"observation_time": "2024-06-01T00:00:00"},
        'line 2, column 13 (observation_time): "2024-06-01T00:00:00" is not a date and time as YYYY-MM-DD HH:MM:SS',
    ),
    (
        "time without seconds",
        {"observation_time": "2024-06-01 00:00"},
        'line 2, column 13 (observation_time): "2024-06-01 00:00" is not a date and time as YYYY-MM-DD HH:MM:SS',
    ),
    (
        "time with an offset",
        {"observation_time": "2024-06-01 00:00:00+00:00"},
        'line 2, column 13 (observation_time): "2024-06-01 00:00:00+00:00" is not a date and time as '
        "YYYY-MM-DD HH:MM:SS",
    ),
    (
        "no such day",
        {"observation_time": "2024-02-30 00:00:00"},
        'line 2, column 13 (observation_time): "2024-02-30 00:00:00" is not a date and time as YYYY-MM-DD HH:MM:SS',
    ),
    (
        "commissioning date as a date",
        {"commissioning date": "2020-05-01"},
        'line 2, column 4 (commissioning date): "2020-05-01" is not a date and time as YYYY-MM-DD HH:MM:SS',
    ),
    ("NaN", {"measured_value": "NaN"}, 'line 2, column 14 (measured_value): "NaN" is not a plain decimal number'),
    ("inf", {"measured_value": "inf"}, 'line 2, column 14 (measured_value): "inf" is not a plain decimal number'),
    ("comma", {"measured_value": "1,5"}, 'line 2, column 14 (measured_value): "1,5" is not a plain decimal number'),
    ("space", {"measured_value": " 1.5"}, 'line 2, column 14 (measured_value): " 1.5" is not a plain decimal number'),
    (
        "underscore",
        {"measured_value": "1_000"},
        'line 2, column 14 (measured_value): "1_000" is not a plain decimal number',
    ),
    ("plus", {"measured_value": "+1.5"}, 'line 2, column 14 (measured_value): "+1.5" is not a plain decimal number'),
    (
        "bare fraction",
        {"measured_value": ".5"},
        'line 2, column 14 (measured_value): ".5" is not a plain decimal number',
    ),
    ("overflow", {"measured_value": "1e999"}, 'line 2, column 14 (measured_value): "1e999" is not a finite number'),
    ("latitude", {"farm_latitude": "90.5"}, 'line 2, column 5 (farm_latitude): "90.5" is out of range (-90 to 90)'),
    (
        "longitude",
        {"farm_longitude": "-181"},
        'line 2, column 6 (farm_longitude): "-181" is out of range (-180 to 180)',
    ),
    (
        "latitude text",
        {"farm_latitude": "north"},
        'line 2, column 5 (farm_latitude): "north" is not a plain decimal number',
    ),
    (
        "time zone",
        {"timezone": "Mars/Olympus_Mons"},
        'line 2, column 3 (timezone): "Mars/Olympus_Mons" is not an IANA time zone name',
    ),
    (
        "time zone offset",
        {"timezone": "+02:00"},
        'line 2, column 3 (timezone): "+02:00" is not an IANA time zone name',
    ),
    (
        "equipment type label",
        {"equipment_type": "Inverter"},
        'line 2, column 9 (equipment_type): "Inverter" is not an equipment type (inverter, combiner, meter, '
        "weather_station)",
    ),
    (
        "sensor type",
        {"sensor_type": "ac_powr"},
        'line 2, column 12 (sensor_type): "ac_powr" is not a sensor type (dc_voltage, dc_current_amp, ac_power, '
        "dc_power, production_meter_energy, production_meter_power, irradiance_poa, irradiance_ghi)",
    ),
    (
        "sensor type on the wrong equipment",
        {"equipment_type": "meter", "sensor_type": "irradiance_poa"},
        'line 2, column 12 (sensor_type): sensor type "irradiance_poa" is not allowed on equipment type "meter" '
        "(allowed: production_meter_energy, production_meter_power)",
    ),
    (
        "power on a weather station",
        {"equipment_type": "weather_station", "sensor_type": "ac_power"},
        'line 2, column 12 (sensor_type): sensor type "ac_power" is not allowed on equipment type "weather_station" '
        "(allowed: irradiance_poa, irradiance_ghi)",
    ),
]


@pytest.mark.parametrize(("changes", "message"), [case[1:] for case in BAD_ROWS], ids=[case[0] for case in BAD_ROWS])
def test_a_bad_value_is_named_by_line_column_and_problem(tmp_path, changes, message):
    report = check(tmp_path, rows(at(0), {**at(15), **changes}, at(30)))
    assert report.messages() == [message.replace("line 2", "line 3")]
    assert (report.valid, report.rows) == (False, 3)


def test_a_byte_order_mark(tmp_path):
    assert problems(tmp_path, b"\xef\xbb\xbf" + rows(at(0))) == [
        "line 1: starts with a byte order mark (BOM); the file must be UTF-8 without one"
    ]


def test_bytes_that_are_not_utf8(tmp_path):
    content = rows(at(0), at(15, farm_name="Caf\u00e9")).replace("Café".encode(), b"Caf\xe9")
    assert problems(tmp_path, content) == ["line 3: not valid UTF-8 (byte 0xe9 at byte 8 of the line)"]


def test_an_empty_file(tmp_path):
    assert problems(tmp_path, b"") == ["line 1: the file is empty; expected the header row"]


def test_a_header_misspelt(tmp_path):
    header = ["commissioning_date" if name == "commissioning date" else name for name in HEADERS]
    report = check(tmp_path, rows(at(0), at(15), header=header))
    assert report.messages() == [
        'line 1, column 4 (commissioning date): expected the header "commissioning date", found "commissioning_date"'
    ]
    assert report.rows == 2


def test_headers_out_of_order(tmp_path):
    header = list(HEADERS)
    header[12], header[13] = header[13], header[12]
    assert problems(tmp_path, rows(at(0), header=header)) == [
        'line 1, column 13 (observation_time): expected the header "observation_time", found "measured_value"'
    ]


def test_a_header_missing_or_extra(tmp_path):
    expected = f"expected 14 headers ({HEADER_LINE})"
    assert problems(tmp_path, (HEADER_LINE.rsplit(",", 1)[0] + "\n").encode()) == [f"line 1: {expected}, found 13"]
    assert problems(tmp_path, (HEADER_LINE + ",notes\n").encode()) == [f"line 1: {expected}, found 15"]


def test_rows_with_too_few_or_too_many_fields_and_blank_lines(tmp_path):
    good = rows(at(0)).decode()
    content = good + "F-1,Sunny Acres\n" + "\n" + ",".join([*GOOD_FIELDS, "extra"]) + "\n"
    assert problems(tmp_path, content.encode()) == [
        "line 3: expected 14 fields, found 2",
        "line 4: blank line",
        "line 5: expected 14 fields, found 15",
    ]


def test_broken_quoting(tmp_path):
    content = rows(at(0)).decode() + '"F-1"x,' + ",".join(GOOD_FIELDS[1:]) + "\n"
    assert problems(tmp_path, content.encode()) == ["line 3: not valid CSV: ',' expected after '\"'"]


def test_a_quote_never_closed(tmp_path):
    content = rows(at(0)).decode() + '"F-1,' + ",".join(GOOD_FIELDS[1:]) + "\n" + rows(at(30)).decode()
    assert problems(tmp_path, content.encode()) == ["line 3: not valid CSV: unexpected end of data"]


def test_a_carriage_return_that_does_not_end_the_line(tmp_path):
    content = rows(at(0)).decode() + ",".join(GOOD_FIELDS).replace("Sunny Acres", "Sunny\rAcres") + "\n"
    assert problems(tmp_path, content.encode()) == [
        "line 3: a carriage return (\\r) inside the line: lines must end with \\n or \\r\\n"
    ]


def test_duplicate_rows_of_one_sensor(tmp_path):
    content = rows(at(0), at(15), at(30), at(15, measured_value="7"), at(0))
    assert problems(tmp_path, content) == [
        "line 5, column 13 (observation_time): duplicate row: farm F-1, equipment INV-1, sensor S-1 "
        "at 2024-06-01 00:15:00 is on line 3 already",
        "line 6, column 13 (observation_time): duplicate row: farm F-1, equipment INV-1, sensor S-1 "
        "at 2024-06-01 00:00:00 is on line 2 already",
    ]


def test_a_sensor_without_id_is_known_by_its_type(tmp_path):
    content = rows(at(0, sensor_id=""), at(0, sensor_id="", sensor_name="other name"))
    assert problems(tmp_path, content) == [
        "line 3, column 13 (observation_time): duplicate row: farm F-1, equipment INV-1, sensor ac_power "
        "at 2024-06-01 00:00:00 is on line 2 already"
    ]


def test_a_bad_description_is_reported_once_on_its_first_line(tmp_path):
    content = rows(at(0, timezone="Nowhere"), at(15, timezone="Nowhere"), at(30, timezone="Nowhere"))
    assert problems(tmp_path, content) == ['line 2, column 3 (timezone): "Nowhere" is not an IANA time zone name']


def test_problems_are_listed_by_line_and_capped(tmp_path):
    content = rows(
        *(contract_row(observation_time=f"2024-06-{day:02d} 00:00:00", measured_value="x") for day in range(1, 31))
    )
    report = check(tmp_path, content)
    assert report.problem_count == 30
    assert len(report.problems) == MAX_PROBLEMS
    assert [problem.line for problem in report.problems] == list(range(2, 2 + MAX_PROBLEMS))
    assert (report.problems[0].line, report.problems[0].column) == (2, 14)


# --- the seed's stricter rules: 15-minute times, one name per farm ------------------------------------


@pytest.mark.parametrize(
    "time",
    ["2024-06-01 00:10:00", "2024-06-01 00:15:30", "2024-06-01 00:00:01", "2024-06-01 23:59:00"],
)
def test_an_observation_time_off_the_15_minute_grid_is_refused(tmp_path, time):
    assert problems(tmp_path, rows(at(0), contract_row(observation_time=time))) == [
        f'line 3, column 13 (observation_time): "{time}" is not the start of a 15-minute interval '
        "(:00, :15, :30 or :45, seconds 00)"
    ]


def test_every_quarter_hour_of_a_day_is_accepted(tmp_path):
    times = [f"2024-06-01 {hour:02d}:{minute:02d}:00" for hour in range(24) for minute in (0, 15, 30, 45)]
    assert problems(tmp_path, rows(*(contract_row(observation_time=time) for time in times))) == []


def test_one_farm_with_two_names_is_refused(tmp_path):
    content = rows(at(0), at(15, farm_name="Sunny Acres North"), at(30))
    assert problems(tmp_path, content) == [
        'line 3, column 2 (farm_name): farm F-1 is named "Sunny Acres" on line 2, "Sunny Acres North" here'
    ]


def test_two_farms_may_share_a_name(tmp_path):
    assert problems(tmp_path, rows(at(0), at(0, farm_id="F-2"))) == []
