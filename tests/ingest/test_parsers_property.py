"""Property: whatever a file holds, the readings import answers with a result or its own error.

Random cells, rows and bytes go to the cell parsers and to whole imports; anything other than
``ReadingsFileError`` (a ValueError, a KeyError, a database error) would reach a user as a crash.
"""

import csv
import io
import tempfile
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.choices import EquipmentType, SensorType
from portfolio.ingest import ReadingsFileError, import_readings
from portfolio.ingest.formats import LONG_HEADERS_BY_ID, LONG_HEADERS_BY_TYPE, RAPTOR_HEADERS
from portfolio.ingest.parsing import parse_datetime, parse_float, parse_zone, to_utc
from portfolio.models import Observation, Sensor
from tests.factories import SensorFactory

# Cells that are sometimes right, so that random rows get past the first check now and then.
PLAUSIBLE = {
    "farm_id": st.sampled_from(["F-1", "F-2", "", " "]),
    "timezone": st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Nowhere/City", ""]),
    "commissioning date": st.sampled_from(["2020-01-01 00:00:00", "2020-02-30 00:00:00", ""]),
    "farm_latitude": st.sampled_from(["40.1", "-91", "", "nan"]),
    "farm_longitude": st.sampled_from(["-74", "181", ""]),
    "equipment_type": st.sampled_from([*EquipmentType.values, "Weather Station/Pyranometer", "pump", ""]),
    "sensor_type": st.sampled_from([*SensorType.values, "power", ""]),
    "observation_time": st.sampled_from(["2024-06-01 00:00:00", "2024-03-10 02:30:00", "2024-11-03 01:30:00"]),
    "observed_at": st.sampled_from(["2024-06-01T00:00:00+02:00", "2024-06-01 00:00:00", "yesterday"]),
    "measured_value": st.sampled_from(["1.5", "-0", "1e308", "1e309", "NaN", "1,5", "0x10"]),
    "value": st.sampled_from(["1.5", "inf", ""]),
}
ANY_TEXT = st.text(max_size=30)


def cell(header):
    plausible = PLAUSIBLE.get(header)
    return ANY_TEXT if plausible is None else st.one_of(plausible, ANY_TEXT)


def rows_for(headers):
    exact = st.tuples(*(cell(header) for header in headers)).map(list)
    ragged = st.lists(ANY_TEXT, max_size=len(headers) + 2)
    return st.lists(st.one_of(exact, exact, ragged), min_size=0, max_size=8)


@given(ANY_TEXT)
def test_parse_float_returns_a_finite_float_or_says_why(text):
    try:
        value = parse_float(text, "value")
    except ReadingsFileError as error:
        assert error.problems[0].column == "value" and error.problems[0].message
    else:
        assert value - value == 0.0


@given(ANY_TEXT, st.sampled_from(["UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]))
def test_parse_datetime_and_to_utc_return_utc_or_say_why(text, zone_name):
    zone = parse_zone(zone_name)
    try:
        moment = to_utc(parse_datetime(text, "observed_at"), zone, "observed_at", text)
    except ReadingsFileError as error:
        assert error.problems[0].column == "observed_at"
    else:
        assert moment.utcoffset().total_seconds() == 0


def _file(rows, headers):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


def _import(data, **options):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "random.csv"
        path.write_bytes(data)
        # Each example in a savepoint that is rolled back: examples stay independent.
        with transaction.atomic():
            try:
                result = import_readings(path, **options)
            except ReadingsFileError as error:
                assert error.problems and all(problem.message for problem in error.problems)
                result = None
            finally:
                transaction.set_rollback(True)
    if result is not None:
        written = result.rows_new + result.rows_updated + result.rows_unchanged
        assert written + result.rows_skipped <= result.rows_read


@pytest.fixture
def catalog():
    """One portfolio (for new farms) and one sensor F-1/E-1/S-1 that long-format rows can name."""
    SensorFactory(sensor_id="S-1", equipment__farm__farm_id="F-1", equipment__equipment_id="E-1")


IMPORT_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.mark.django_db
@IMPORT_SETTINGS
@given(rows=rows_for(RAPTOR_HEADERS), skip_invalid=st.booleans(), time_basis=st.sampled_from(["local", "utc"]))
def test_random_raptor_files_import_or_are_refused_with_reasons(catalog, rows, skip_invalid, time_basis):
    _import(_file(rows, RAPTOR_HEADERS), skip_invalid=skip_invalid, time_basis=time_basis)


@pytest.mark.django_db
@IMPORT_SETTINGS
@given(
    headers=st.sampled_from([LONG_HEADERS_BY_ID, LONG_HEADERS_BY_TYPE]),
    data=st.data(),
    skip_invalid=st.booleans(),
)
def test_random_long_files_import_or_are_refused_with_reasons(catalog, headers, data, skip_invalid):
    _import(_file(data.draw(rows_for(headers)), headers), skip_invalid=skip_invalid)


@pytest.mark.django_db
@IMPORT_SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_are_refused_with_a_reason(catalog, data):
    _import(data)


def _one_line(text):
    return text.replace("\r", "").replace("\n", "")


# Lines no row can be: each must be named by its number in the errors file, and cost no other row.
NO_QUOTE = st.text(st.characters(blacklist_characters='\r\n"'), max_size=20)
BROKEN_LINE = st.one_of(
    NO_QUOTE.map(lambda text: '"' + text),  # a quote left open
    NO_QUOTE.map(lambda text: '"a"b' + text),  # text after a closing quote
    st.tuples(ANY_TEXT, ANY_TEXT).map(lambda parts: _one_line(parts[0]) + "\x00" + _one_line(parts[1])),
    st.text(st.characters(blacklist_characters='\r\n,"'), min_size=1, max_size=30),  # one cell
    st.binary(min_size=1, max_size=10).map(lambda data: b"\xff" + data.translate(None, b'\r\n,"')),  # not UTF-8
)
ODD_TIMES = ["0001-01-01T00:00:00+09:00", "9999-12-31T23:59:59-05:00", "2024-06-01T00:00:00+23:59", "2024-02-30T00:00"]
ODD_VALUES = ["1e-400", "9" * 400, "-nan", "١٢", "0x1p3", "1e308", "-1e309", " 1 ", "+.5", "\u00a0"]


@pytest.mark.django_db
@IMPORT_SETTINGS
@given(
    broken=st.lists(st.tuples(st.integers(0, 12), BROKEN_LINE), max_size=5),
    odd=st.lists(st.tuples(st.sampled_from([*ODD_TIMES, "2024-06-01T00:00:00Z"]), st.sampled_from(ODD_VALUES))),
)
def test_every_line_is_stored_or_named_in_the_errors_file(catalog, broken, odd):
    """With skip-invalid, whatever lines a file holds, each row is stored or named, never lost, never a crash."""
    good = [["F-1", "E-1", "S-1", f"2024-06-01T{n:02d}:00:00Z", str(n)] for n in range(12)]
    lines = [("good", ",".join(row)) for row in good] + [("odd", ",".join(["F-1", "E-1", "S-2", *o])) for o in odd]
    for position, text in sorted(broken, key=lambda item: item[0], reverse=True):
        lines.insert(position, ("broken", text))
    encoded = [text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass") for _, text in lines]
    data = b"\n".join([",".join(LONG_HEADERS_BY_ID).encode(), *encoded]) + b"\n"
    with tempfile.TemporaryDirectory() as directory, transaction.atomic():
        SensorFactory(sensor_id="S-2", equipment=Sensor.objects.get(sensor_id="S-1").equipment)
        path = Path(directory) / "broken.csv"
        path.write_bytes(data)
        result = import_readings(path, skip_invalid=True)
        stored = {
            sensor_id: sorted(values)
            for sensor_id in ("S-1", "S-2")
            for values in [Observation.objects.filter(sensor__sensor_id=sensor_id).values_list("value", flat=True)]
        }
        named = []
        if result.errors_path is not None:
            with open(result.errors_path, newline="", encoding="utf-8") as stream:
                named = [int(row[0]) for row in list(csv.reader(stream))[1:]]
        transaction.set_rollback(True)
    kinds = {number: kind for number, (kind, _) in enumerate(lines, start=2)}
    assert stored["S-1"] == [float(n) for n in range(12)]
    assert {number for number, kind in kinds.items() if kind == "broken"} <= set(named)
    assert not [number for number in named if kinds[number] == "good"]
    odd_lines = [number for number, kind in kinds.items() if kind == "odd"]
    assert len(stored["S-2"]) <= len(odd_lines) - len([number for number in named if kinds[number] == "odd"])
    assert result.rows_skipped == len(named) == len(set(named))
