"""The readings import against hostile and broken files: no row is lost without being named, memory stays
bounded, odd values are row errors, and the errors file is safe to open in a spreadsheet."""

import csv
import io
import tracemalloc

import pytest
from django.core.management import call_command

from portfolio.ingest import ReadingsFileError, import_readings, importer
from portfolio.models import Farm, Observation
from tests.factories import SensorFactory
from tests.ingest.files import FARM, LONG_HEADERS_BY_ID, csv_text, raptor_row, write_file

pytestmark = pytest.mark.django_db

TEN_ROWS = [raptor_row(f"2024-06-01 00:{minute:02d}:00", str(minute)) for minute in range(10)]


@pytest.fixture
def portfolio():
    from tests.factories import PortfolioFactory

    return PortfolioFactory(slug="main")


@pytest.fixture
def sensor():
    """F-1/INV-1/S-1, in UTC, for long-format rows."""
    return SensorFactory(
        sensor_id="S-1",
        equipment__farm__farm_id="F-1",
        equipment__equipment_id="INV-1",
        equipment__farm__timezone="UTC",
    )


def with_line(rows, position, bad_line):
    """The CSV text of ``rows`` with ``bad_line`` put in place of data row ``position`` (0-based)."""
    lines = csv_text(rows).splitlines(keepends=True)
    lines[1 + position] = bad_line + "\n"
    return "".join(lines)


def errors_of(result):
    with open(result.errors_path, newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))[1:]


def stored_values():
    return sorted(Observation.objects.values_list("value", flat=True))


# --- a bad line costs that line, never the rest ---------------------------------------------------

BROKEN_LINES = {
    # A quote never closed: csv would swallow every line after it.
    "unclosed quote": 'F-1,"Farm one,America/New_York,2020-05-01 00:00:00,40.7,-74.0,INV-1,Inverter 1,inverter,,,'
    "ac_power,2024-06-01 00:04:00,4",
    # A quoted cell followed by more text: strict CSV refuses it.
    "text after a quote": 'F-1,"Farm" one,America/New_York,2020-05-01 00:00:00,40.7,-74.0,INV-1,Inverter 1,inverter,,,'
    "ac_power,2024-06-01 00:04:00,4",
    "NUL byte": ",".join(raptor_row("2024-06-01 00:04:00", "4", farm=("F-1", "Farm\x00one", *FARM[2:]))),
}


@pytest.mark.parametrize("bad_line", BROKEN_LINES.values(), ids=BROKEN_LINES.keys())
def test_skip_invalid_reads_on_past_a_broken_line_and_names_it(tmp_path, portfolio, bad_line):
    path = write_file(tmp_path, with_line(TEN_ROWS, 4, bad_line))  # line 6: line 1 is the header
    result = import_readings(path, skip_invalid=True)

    assert stored_values() == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert (result.rows_read, result.rows_skipped) == (10, 1)
    ((line, column, message, *cells),) = errors_of(result)
    assert (line, column, cells) == ("6", "", [])
    assert message.startswith(("not valid CSV", "holds a zero byte")), message


@pytest.mark.parametrize("bad_line", BROKEN_LINES.values(), ids=BROKEN_LINES.keys())
def test_without_skip_invalid_a_broken_line_refuses_the_file_naming_the_line(tmp_path, portfolio, bad_line):
    path = write_file(tmp_path, with_line(TEN_ROWS, 4, bad_line))
    with pytest.raises(ReadingsFileError) as caught:
        import_readings(path)
    assert [problem.line for problem in caught.value.problems] == [6]
    assert not Observation.objects.exists() and not Farm.objects.exists()


def test_a_quote_left_open_names_the_setting_and_the_next_rows_still_load(tmp_path, portfolio):
    rows = [raptor_row(f"2024-06-01 {n // 60:02d}:{n % 60:02d}:00", str(n)) for n in range(40)]
    path = write_file(tmp_path, with_line(rows, 2, 'F-1,"Farm one'))  # swallows more than 20 lines
    result = import_readings(path, skip_invalid=True)
    assert len(stored_values()) == 39
    ((line, _, message, *_),) = errors_of(result)
    assert line == "4"
    assert "a quote opened on this line is not closed within 20 lines" in message
    assert "READINGS_MAX_LINE_BYTES" in message


def test_bytes_that_are_not_text_half_way_cost_their_line_only(tmp_path, portfolio):
    rows = [raptor_row(f"2024-06-{1 + n // 96:02d} {n // 4 % 24:02d}:{n % 4 * 15:02d}:00", str(n)) for n in range(800)]
    good = csv_text(rows).encode()
    assert len(good) > 64 * 1024  # past what the encoding is guessed from
    bad = ",".join(raptor_row("2024-07-01 00:00:00", "1", farm=("F-1", "Farm \xe9", *FARM[2:]))).encode("latin-1")
    tail = csv_text([raptor_row("2024-07-02 00:00:00", "2")], header=None).encode()
    result = import_readings(write_file(tmp_path, good + bad + b"\n" + tail), skip_invalid=True)

    assert Observation.objects.count() == 801
    ((line, _, message, *_),) = errors_of(result)
    assert (line, message) == ("802", "not UTF-8 text, though the start of the file is; save the whole file as UTF-8")


def test_a_line_over_the_limit_is_a_row_error_read_with_bounded_memory(tmp_path, portfolio, settings):
    settings.READINGS_MAX_LINE_BYTES = 64 * 1024
    huge = "x," * (4 * 1024 * 1024)  # 8 MiB of short cells on one line
    path = write_file(tmp_path, with_line(TEN_ROWS, 4, huge))
    tracemalloc.start()
    try:
        result = import_readings(path, skip_invalid=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored_values() == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert errors_of(result) == [["6", "", "longer than 65,536 bytes (READINGS_MAX_LINE_BYTES); the line was not read"]]
    assert peak < len(huge) / 3, f"peak {peak:,} bytes for a line of {len(huge):,}"


def test_a_line_over_the_limit_in_multibyte_text_is_measured_in_bytes(tmp_path, portfolio, settings):
    settings.READINGS_MAX_LINE_BYTES = 300
    long_name = "é" * 200  # 200 characters, 400 bytes in UTF-8
    path = write_file(
        tmp_path,
        with_line(TEN_ROWS, 0, ",".join(raptor_row("2024-06-01 00:00:00", "0", farm=("F-1", long_name, *FARM[2:])))),
    )
    with pytest.raises(ReadingsFileError) as caught:
        import_readings(path)
    assert [str(problem) for problem in caught.value.problems] == [
        "line 2: longer than 300 bytes (READINGS_MAX_LINE_BYTES); the line was not read"
    ]


# --- odd values are row errors with their line ------------------------------------------------------

ODD_RAPTOR = [
    # (row changes, farm time zone, the problem)
    ({12: "0001-01-01 00:00:00"}, "line 2, observation_time: '0001-01-01 00:00:00' is not in the years 1900 to 2099"),
    ({12: "9999-12-31 23:00:00"}, "line 2, observation_time: '9999-12-31 23:00:00' is not in the years 1900 to 2099"),
    ({3: "0001-01-01 00:00:00", 2: "Asia/Tokyo"},
     "line 2, commissioning date: '0001-01-01 00:00:00' is not in the years 1900 to 2099"),
    ({13: "9" * 400}, "line 2, measured_value: '" + "9" * 400 + "' is not a finite number"),
    ({13: "-nan"}, "line 2, measured_value: '-nan' is not a finite number"),
    ({13: "١٢"}, None),  # float() reads Arabic-Indic digits: stored as 12
    ({13: "1e-400"}, None),  # 0.0 to Python; PostgreSQL's COPY calls the text out of range
]  # fmt: skip


@pytest.mark.parametrize(("changes", "message"), ODD_RAPTOR, ids=[str(changes) for changes, _ in ODD_RAPTOR])
def test_odd_values_are_row_errors_or_stored_never_a_crash(tmp_path, portfolio, changes, message):
    row = raptor_row("2024-06-01 00:00:00", "1")
    for column, text in changes.items():
        row[column] = text
    path = write_file(tmp_path, csv_text([row]))
    if message is None:
        import_readings(path)
        assert Observation.objects.count() == 1
        return
    with pytest.raises(ReadingsFileError) as caught:
        import_readings(path)
    assert [str(problem) for problem in caught.value.problems] == [message]


@pytest.mark.parametrize("time", ["0001-01-01T00:00:00+09:00", "9999-12-31T23:59:59-05:00", "1899-12-31T23:59:59Z"])
def test_times_with_offsets_out_of_range_are_row_errors(tmp_path, sensor, time):
    path = write_file(tmp_path, csv_text([["F-1", "INV-1", "S-1", time, "1"]], header=LONG_HEADERS_BY_ID))
    with pytest.raises(ReadingsFileError) as caught:
        import_readings(path)
    assert [str(problem) for problem in caught.value.problems] == [
        f"line 2, observed_at: {time!r} is not in the years 1900 to 2099"
    ]


# --- hundreds of thousands of unknown sensors --------------------------------------------------------


def unknown_sensor_rows(count, repeat=1):
    return [["F-1", "INV-1", f"X-{n:04d}", "2024-06-01T00:00:00Z", "1"] for n in range(count) for _ in range(repeat)]


def test_unknown_sensors_are_counted_the_first_200_listed_and_every_row_in_the_errors_file(tmp_path, sensor):
    rows = [["F-1", "INV-1", "S-1", "2024-06-01T00:00:00Z", "1"], *unknown_sensor_rows(250, repeat=2)]
    rows.append(["F-9", "INV-1", "S-1", "2024-06-01T00:00:00Z", "1"])  # an unknown farm counts too
    path = write_file(tmp_path, csv_text(rows, header=LONG_HEADERS_BY_ID))
    result = import_readings(path, skip_invalid=True)

    assert (result.rows_new, result.rows_skipped, result.unknown_sensor_rows) == (1, 501, 501)
    assert result.unknown_sensors == [f"F-1/INV-1/X-{n:04d}" for n in range(200)]
    errors = errors_of(result)
    assert [int(line) for line, *_ in errors] == list(range(3, 504))
    assert errors[-1][:3] == ["503", "farm_id", "there is no farm with farm ID 'F-9'"]

    out = io.StringIO()
    call_command("import_observations", str(path), "--skip-invalid", stdout=out, stderr=io.StringIO())
    assert (
        "readings.csv: 501 rows name a farm, equipment or sensor that does not exist; the first 200: "
        "F-1/INV-1/X-0000, F-1/INV-1/X-0001, " in out.getvalue()
    )
    assert "F-1/INV-1/X-0199\n" in out.getvalue() and "X-0200" not in out.getvalue()


def test_a_refusal_counts_and_lists_the_unknown_sensors(tmp_path, sensor):
    path = write_file(tmp_path, csv_text(unknown_sensor_rows(3), header=LONG_HEADERS_BY_ID))
    with pytest.raises(ReadingsFileError) as caught:
        import_readings(path)
    assert str(caught.value).endswith(
        "\n3 rows name a farm, equipment or sensor that does not exist: "
        "F-1/INV-1/X-0000, F-1/INV-1/X-0001, F-1/INV-1/X-0002"
    )


def test_past_the_remembered_refusals_every_row_is_still_checked_and_written(tmp_path, sensor, monkeypatch):
    monkeypatch.setattr(importer, "MAX_REMEMBERED_REFUSALS", 10)
    monkeypatch.setattr("portfolio.ingest.catalog.MAX_REMEMBERED_FAILURES", 5)
    rows = unknown_sensor_rows(30, repeat=2) + [
        [f"F-X{n}", "INV-1", "S-1", "2024-06-01T00:00:00Z", "1"] for n in range(20)
    ]
    rows.append(["F-1", "INV-1", "S-1", "2024-06-01T00:00:00Z", "7"])
    result = import_readings(write_file(tmp_path, csv_text(rows, header=LONG_HEADERS_BY_ID)), skip_invalid=True)
    assert (result.rows_new, result.rows_skipped, result.unknown_sensor_rows) == (1, 80, 80)
    assert len(errors_of(result)) == 80


# --- the errors file is safe to open --------------------------------------------------------------------

FORMULAE = ['=HYPERLINK("http://x")', "@SUM(1)", "+1+2", "-2+3", "\t=1", "\r=1"]


def test_the_errors_file_escapes_formulae_and_keeps_numbers(tmp_path, portfolio):
    rows = [  # each refused for its sensor type, and written to the errors file as it was
        raptor_row("2024-06-01 00:00:00", "-5.2", farm=(f"F-{n}", formula, *FARM[2:]), sensor=(formula, "", "pump"))
        for n, formula in enumerate(FORMULAE)
    ]
    rows.append([FORMULAE[1], "-5.2"])  # too few columns: written as well
    # CRLF line ends: csv quotes the cell with a lone CR then, and it stays in its cell.
    result = import_readings(write_file(tmp_path, csv_text(rows, line_end="\r\n")), skip_invalid=True)
    errors = errors_of(result)

    assert len(errors) == len(FORMULAE) + 1
    for (_, _, _, *cells), formula in zip(errors, FORMULAE, strict=False):
        assert cells[1] == cells[9] == "'" + formula  # farm_name, sensor_id
        assert cells[5] == "-74.0" and cells[13] == "-5.2"  # negative numbers stay numbers
    assert errors[-1][3:] == ["'@SUM(1)", "-5.2"]
    for row in errors:
        assert not [cell for cell in row if cell.startswith(("=", "+", "@", "\t", "\r"))], row
        assert not [cell for cell in row if cell.startswith("-") and cell not in ("-5.2", "-74.0")], row


def test_an_invalid_value_at_a_time_given_twice_is_named_once(tmp_path, sensor):
    rows = [["F-1", "INV-1", "S-1", "2024-06-01T00:00:00Z", value] for value in ("1", "9" * 400, "2")]
    result = import_readings(write_file(tmp_path, csv_text(rows, header=LONG_HEADERS_BY_ID)), skip_invalid=True)
    assert sorted(int(line) for line, *_ in errors_of(result)) == [2, 3, 4]
    assert result.rows_skipped == 3 and not Observation.objects.exists()
