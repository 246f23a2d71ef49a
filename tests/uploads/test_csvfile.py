"""The Raptor Maps CSV: real readings in the database, real part files, read back with the csv module
and checked value by value against roll-ups computed here (tests/uploads/readings.py).

The suite runs once on SQLite and once on PostgreSQL; the golden-file test at the end pins the exact
bytes, so both databases' paths must write the same file.
"""

import hashlib
import itertools
import random
from datetime import timedelta

import pytest

from portfolio.models import Farm
from tests.uploads.readings import (
    MINUTE,
    UNTIL,
    at,
    by_sensor_and_time,
    data_rows,
    keyed,
    make_farm,
    make_sensor,
    part_lines,
    record,
    rollup,
)
from uploads.raptormaps.csvfile import PartTooSmall, build_parts, plain_decimal

pytestmark = pytest.mark.django_db

HEADERS = [
    "farm_id", "farm_name", "timezone", "commissioning date", "farm_latitude", "farm_longitude", "equipment_id",
    "equipment_name", "equipment_type", "sensor_id", "sensor_name", "sensor_type", "observation_time",
    "measured_value",
]  # fmt: skip
HEADER_LINE = (",".join(HEADERS) + "\n").encode()
NO_CAP = 5_000_000_000
FIVE_MINUTES = timedelta(minutes=5)


def build(tmp_path, farms, *, since=None, until=UNTIL, basis="local", cap=NO_CAP, name="parts"):
    directory = tmp_path / name
    directory.mkdir()
    return build_parts(farms, since=since or {}, until=until, time_basis=basis, part_bytes=cap, directory=directory)


def times_of(build_result, sensor_type):
    return [row["observation_time"] for row in data_rows(build_result) if row["sensor_type"] == sensor_type]


def local_day(day, *clock_times):
    return [f"{day} {clock}:00" for clock in clock_times]


def quarters(first_hour, last_hour):
    return [f"{hour:02d}:{minute:02d}" for hour in range(first_hour, last_hour + 1) for minute in (0, 15, 30, 45)]


def wavy(count, seed):
    """Readings that are not round numbers, so that sums round."""
    rng = random.Random(seed)
    return [rng.uniform(0, 1000) for _ in range(count)]


# --- headers, values, intervals ---------------------------------------------------------------------


def test_every_part_has_exactly_the_contracts_headers_in_order(tmp_path):
    farm = make_farm()
    record(make_sensor(farm), at(2024, 6, 1), FIVE_MINUTES, range(24))

    result = build(tmp_path, [farm], cap=600)

    assert len(result.parts) > 1
    for part, lines in zip(result.parts, part_lines(result), strict=True):
        assert lines[0] == HEADERS
        assert part.path.read_bytes().startswith(HEADER_LINE)


def test_five_minute_readings_roll_up_to_local_quarter_hours_value_by_value(tmp_path):
    farm = make_farm(
        farm_id="DE-1",
        name="Rhein Solar",
        timezone="Europe/Berlin",
        commissioned_at=at(2023, 5, 1, 10, 30, 45, 999_999),
        latitude=51.5,
        longitude=7.25,
    )
    readings = []
    for n, sensor_type in enumerate(["dc_voltage", "dc_current_amp", "ac_power", "dc_power"]):
        sensor = make_sensor(farm, sensor_type, name=f"{sensor_type} sensor")
        readings += record(sensor, at(2024, 6, 1, 10), FIVE_MINUTES, wavy(36, seed=n))
    poa = make_sensor(farm, "irradiance_poa", equipment_id="WS-1", equipment_name="Weather station")
    readings += record(poa, at(2024, 6, 1, 10, 2, 30), FIVE_MINUTES, wavy(36, seed=9))

    result = build(tmp_path, [farm])

    expected = rollup(readings)
    assert by_sensor_and_time(result) == keyed(expected)
    assert (result.rows, result.readings) == (len(expected), len(readings)) == (60, 180)
    assert times_of(result, "irradiance_poa") == local_day("2024-06-01", *quarters(12, 14))
    first = data_rows(result)[0]
    assert first == {
        "farm_id": "DE-1",
        "farm_name": "Rhein Solar",
        "timezone": "Europe/Berlin",
        "commissioning date": "2023-05-01 12:30:45",
        "farm_latitude": "51.5",
        "farm_longitude": "7.25",
        "equipment_id": "INV-1",
        "equipment_name": "Equipment INV-1",
        "equipment_type": "inverter",
        "sensor_id": "ac_power",
        "sensor_name": "ac_power sensor",
        "sensor_type": "ac_power",
        "observation_time": "2024-06-01 12:00:00",
        "measured_value": first["measured_value"],
    }
    assert float(first["measured_value"]) == sum(r.value for r in readings[72:75]) / 3


def test_one_second_readings_average_900_readings_a_row(tmp_path):
    farm = make_farm(timezone="America/Denver")
    sensor = make_sensor(farm, "dc_current_amp")
    readings = record(sensor, at(2024, 7, 4, 18), timedelta(seconds=1), wavy(1800, seed=3))

    result = build(tmp_path, [farm])

    assert by_sensor_and_time(result) == keyed(rollup(readings))
    assert times_of(result, "dc_current_amp") == ["2024-07-04 12:00:00", "2024-07-04 12:15:00"]
    assert result.readings == 1800


def test_the_energy_register_rolls_up_by_maximum_other_types_by_average(tmp_path):
    farm = make_farm(timezone="UTC")
    energy = make_sensor(farm, "production_meter_energy", equipment_id="M-1")
    power = make_sensor(farm, "production_meter_power", equipment_id="M-1")
    record(energy, at(2024, 6, 1), FIVE_MINUTES, [5.0, 9.0, 7.0, 10.0, 2.0, 3.0])
    record(power, at(2024, 6, 1), FIVE_MINUTES, [5.0, 9.0, 7.0, 10.0, 2.0, 3.0])

    values = by_sensor_and_time(build(tmp_path, [farm]))

    assert values == {
        ("M-1", "production_meter_energy", "production_meter_energy", "2024-06-01 00:00:00"): 9.0,
        ("M-1", "production_meter_energy", "production_meter_energy", "2024-06-01 00:15:00"): 10.0,
        ("M-1", "production_meter_power", "production_meter_power", "2024-06-01 00:00:00"): 7.0,
        ("M-1", "production_meter_power", "production_meter_power", "2024-06-01 00:15:00"): 5.0,
    }


# --- daylight saving and zones ----------------------------------------------------------------------


@pytest.fixture
def hudson_valley():
    return make_farm(
        farm_id="HV-1", name="Hudson Valley Solar", timezone="America/New_York", commissioned_at=at(2020, 1, 15, 17)
    )


def power_and_energy(farm, start, count):
    readings = record(make_sensor(farm, "ac_power"), start, FIVE_MINUTES, wavy(count, seed=1))
    energy = make_sensor(farm, "production_meter_energy", equipment_id="M-1")
    readings += record(energy, start, FIVE_MINUTES, [1000.0 + (n * 37) % 50 for n in range(count)])
    return readings


def test_when_dst_ends_the_repeated_hour_rolls_into_one_row_per_quarter_and_is_noted(tmp_path, hudson_valley):
    # 00:00 EDT to 02:55 EST: 01:00-01:59 happens twice, 04:00-07:55 UTC.
    readings = power_and_energy(hudson_valley, at(2024, 11, 3, 4), 48)

    result = build(tmp_path, [hudson_valley])

    values = by_sensor_and_time(result)  # fails on a repeated (sensor, time)
    expected = rollup(readings)
    assert values == keyed(expected)
    assert times_of(result, "ac_power") == local_day("2024-11-03", *quarters(0, 2))
    assert times_of(result, "production_meter_energy") == local_day("2024-11-03", *quarters(0, 2))
    merged = {key: count for key, (_, count) in expected.items() if "01:" in key[1]}
    assert set(merged.values()) == {6}  # three readings from each occurrence
    first_0100 = [r.value for r in readings[:48] if r.observed_at in (at(2024, 11, 3, 5, m) for m in (0, 5, 10))]
    second_0100 = [r.value for r in readings[:48] if r.observed_at in (at(2024, 11, 3, 6, m) for m in (0, 5, 10))]
    assert values["INV-1", "ac_power", "ac_power", "2024-11-03 01:00:00"] == sum(first_0100 + second_0100) / 6
    assert result.notes == [
        "Hudson Valley Solar (America/New_York): 2024-11-03 01:00–02:00 occurs twice in local time; "  # noqa: RUF001
        "8 rows roll both occurrences up"
    ]
    assert (result.rows, result.readings) == (24, 96)


def test_when_dst_starts_the_skipped_hour_has_no_rows(tmp_path, hudson_valley):
    # 00:00 EST to 04:55 EDT: the clocks jump from 02:00 to 03:00 at 07:00 UTC.
    readings = power_and_energy(hudson_valley, at(2024, 3, 10, 5), 48)

    result = build(tmp_path, [hudson_valley])

    assert by_sensor_and_time(result) == keyed(rollup(readings))
    assert times_of(result, "ac_power") == local_day("2024-03-10", *quarters(0, 1), *quarters(3, 4))
    assert result.notes == []


@pytest.mark.parametrize(("start", "first_hour"), [(at(2024, 11, 3, 4), 4), (at(2024, 3, 10, 5), 5)])
def test_utc_basis_writes_utc_times_and_zone_on_the_dst_days(tmp_path, hudson_valley, start, first_hour):
    readings = power_and_energy(hudson_valley, start, 48)

    result = build(tmp_path, [hudson_valley], basis="utc")

    assert by_sensor_and_time(result) == keyed(rollup(readings, time_basis="utc"))
    day = f"{start:%Y-%m-%d}"
    assert times_of(result, "ac_power") == local_day(day, *quarters(first_hour, first_hour + 3))
    assert {row["timezone"] for row in data_rows(result)} == {"UTC"}
    assert {row["commissioning date"] for row in data_rows(result)} == {"2020-01-15 17:00:00"}
    assert result.notes == []


def test_a_half_hour_fold_rolls_up_its_two_quarters(tmp_path):
    # Lord Howe Island turns its clocks back half an hour: 02:00 +11:00 becomes 01:30 +10:30.
    farm = make_farm(name="Lord Howe", timezone="Australia/Lord_Howe")
    readings = record(make_sensor(farm, "ac_power"), at(2024, 4, 6, 14), FIVE_MINUTES, wavy(24, 8))

    result = build(tmp_path, [farm])

    assert by_sensor_and_time(result) == keyed(rollup(readings))
    assert times_of(result, "ac_power") == local_day("2024-04-07", *quarters(1, 1), "02:00", "02:15")
    assert result.notes == [
        "Lord Howe (Australia/Lord_Howe): 2024-04-07 01:30–02:00 occurs twice in local time; "  # noqa: RUF001
        "2 rows roll both occurrences up"
    ]


@pytest.mark.parametrize(
    ("zone", "times"),
    [
        ("Asia/Kolkata", ["05:30", "05:45", "06:00", "06:15"]),  # UTC+05:30
        ("Asia/Kathmandu", ["05:45", "06:00", "06:15", "06:30"]),  # UTC+05:45
    ],
)
def test_zones_with_half_and_three_quarter_hour_offsets_align_to_local_quarter_hours(tmp_path, zone, times):
    farm = make_farm(timezone=zone)
    readings = record(make_sensor(farm, "irradiance_ghi", equipment_id="WS-1"), at(2024, 6, 1), MINUTE, wavy(60, 5))

    result = build(tmp_path, [farm])

    assert times_of(result, "irradiance_ghi") == local_day("2024-06-01", *times)
    assert by_sensor_and_time(result) == keyed(rollup(readings))
    assert {count for _, count in rollup(readings).values()} == {15}


# --- what is sent: the watermark --------------------------------------------------------------------

T1, T2, T3, T4 = (at(2025, month, 1) for month in (1, 2, 3, 4))  # ingestion times; until is T3 below


def test_a_watermark_sends_only_the_buckets_touched_since_and_each_complete(tmp_path):
    farm = make_farm(timezone="America/Chicago")
    touched, untouched = make_sensor(farm, "dc_voltage"), make_sensor(farm, "dc_current_amp")
    old = record(touched, at(2024, 6, 1, 15), FIVE_MINUTES, wavy(24, 1), ingested_at=T1)
    record(untouched, at(2024, 6, 1, 15), FIVE_MINUTES, wavy(24, 2), ingested_at=T1)
    late = record(touched, at(2024, 6, 1, 15, 17), timedelta(minutes=30), [1.5, 2.5], ingested_at=T2)

    result = build(tmp_path, [farm], since={farm.pk: T1}, until=T3)

    buckets = {"2024-06-01 10:15:00": old[3:6] + late[:1], "2024-06-01 10:45:00": old[9:12] + late[1:]}
    assert by_sensor_and_time(result) == {
        ("INV-1", "dc_voltage", "dc_voltage", time): sum(r.value for r in sorted(rs, key=lambda r: r.observed_at)) / 4
        for time, rs in buckets.items()
    }
    assert (result.rows, result.readings) == (2, 8)


def test_a_late_reading_resends_its_bucket_with_all_its_readings(tmp_path):
    farm = make_farm(timezone="UTC")
    sensor = make_sensor(farm, "ac_power")
    record(sensor, at(2024, 6, 1, 10), FIVE_MINUTES, [10.0, 20.0], ingested_at=T1)
    first = build(tmp_path, [farm], since={farm.pk: None}, until=T1, name="first")
    record(sensor, at(2024, 6, 1, 10, 10), FIVE_MINUTES, [60.0], ingested_at=T2)

    second = build(tmp_path, [farm], since={farm.pk: T1}, until=T3, name="second")

    key = ("INV-1", "ac_power", "ac_power", "2024-06-01 10:00:00")
    assert by_sensor_and_time(first) == {key: 15.0}
    assert by_sensor_and_time(second) == {key: 30.0}
    assert second.readings == 3


def test_readings_ingested_after_until_count_in_a_touched_bucket_but_touch_none(tmp_path):
    farm = make_farm(timezone="UTC")
    sensor = make_sensor(farm, "ac_power")
    record(sensor, at(2024, 6, 1, 10), FIVE_MINUTES, [10.0], ingested_at=T2)
    record(sensor, at(2024, 6, 1, 10, 5), FIVE_MINUTES, [40.0], ingested_at=T4)  # same bucket, after until
    record(sensor, at(2024, 6, 1, 11), FIVE_MINUTES, [99.0], ingested_at=T4)  # its own bucket, after until

    result = build(tmp_path, [farm], since={farm.pk: T1}, until=T3)

    assert by_sensor_and_time(result) == {("INV-1", "ac_power", "ac_power", "2024-06-01 10:00:00"): 25.0}


def test_without_a_watermark_buckets_ingested_only_after_until_wait_for_the_next_run(tmp_path):
    farm = make_farm(timezone="UTC")
    sensor = make_sensor(farm, "ac_power")
    record(sensor, at(2024, 6, 1, 10), FIVE_MINUTES, [10.0], ingested_at=T1)
    record(sensor, at(2024, 6, 1, 10, 5), FIVE_MINUTES, [40.0], ingested_at=T4)
    record(sensor, at(2024, 6, 1, 11), FIVE_MINUTES, [99.0], ingested_at=T4)

    result = build(tmp_path, [farm], since={farm.pk: None}, until=T3)

    assert by_sensor_and_time(result) == {("INV-1", "ac_power", "ac_power", "2024-06-01 10:00:00"): 25.0}
    assert result.readings == 2


@pytest.mark.parametrize("basis", ["local", "utc"])
def test_a_late_reading_in_the_repeated_hour_resends_both_occurrences(tmp_path, hudson_valley, basis):
    sensor = make_sensor(hudson_valley, "ac_power")
    readings = record(sensor, at(2024, 11, 3, 4), FIVE_MINUTES, wavy(48, 4), ingested_at=T1)
    late = record(sensor, at(2024, 11, 3, 6, 2), FIVE_MINUTES, [500.0], ingested_at=T2)  # 01:02 EST

    result = build(tmp_path, [hudson_valley], since={hudson_valley.pk: T1}, until=T3, basis=basis)

    expected = rollup(readings + late, time_basis=basis)
    time = "2024-11-03 01:00:00" if basis == "local" else "2024-11-03 06:00:00"
    assert by_sensor_and_time(result) == {("INV-1", "ac_power", "ac_power", time): expected[sensor.pk, time][0]}
    assert result.readings == (7 if basis == "local" else 4)
    assert result.notes == (
        [
            "Hudson Valley Solar (America/New_York): 2024-11-03 01:00–02:00 occurs twice in local time; "  # noqa: RUF001
            "1 row rolls both occurrences up"
        ]
        if basis == "local"
        else []
    )


def test_farms_with_and_without_a_watermark_in_one_build(tmp_path):
    new_farm, old_farm = make_farm(farm_id="A-NEW", timezone="UTC"), make_farm(farm_id="B-OLD", timezone="UTC")
    record(make_sensor(new_farm), at(2024, 6, 1), FIVE_MINUTES, [1.0, 2.0, 3.0, 4.0], ingested_at=T1)
    old = make_sensor(old_farm)
    record(old, at(2024, 6, 1), FIVE_MINUTES, [1.0, 2.0, 3.0, 4.0], ingested_at=T1)
    record(old, at(2024, 6, 1, 0, 20), FIVE_MINUTES, [8.0], ingested_at=T2)

    result = build(tmp_path, Farm.objects.all(), since={new_farm.pk: None, old_farm.pk: T1}, until=T3)

    assert [(r["farm_id"], r["observation_time"], r["measured_value"]) for r in data_rows(result)] == [
        ("A-NEW", "2024-06-01 00:00:00", "2.0"),
        ("A-NEW", "2024-06-01 00:15:00", "4.0"),
        ("B-OLD", "2024-06-01 00:15:00", "6.0"),
    ]


@pytest.mark.django_db(transaction=True)
def test_builds_outside_a_transaction_clean_up_after_themselves(tmp_path):
    farm = make_farm(timezone="America/New_York")
    sensor = make_sensor(farm, "ac_power")
    record(sensor, at(2024, 11, 3, 4), FIVE_MINUTES, wavy(48, 6), ingested_at=T1)
    record(sensor, at(2024, 11, 3, 5, 2), timedelta(hours=1), [7.0, 8.0], ingested_at=T2)

    first, second = (build(tmp_path, [farm], since={farm.pk: T1}, until=T3, name=name) for name in ("a", "b"))

    assert first.parts[0].path.read_bytes() == second.parts[0].path.read_bytes()
    assert (first.rows, first.readings) == (1, 8)


def test_nothing_to_send_writes_no_parts(tmp_path):
    farm = make_farm()
    record(make_sensor(farm), at(2024, 6, 1), FIVE_MINUTES, [1.0], ingested_at=T1)
    make_sensor(make_farm(), "dc_power")  # a farm with a sensor and no readings

    result = build(tmp_path, Farm.objects.all(), since={farm.pk: T1}, until=T3)

    assert (result.parts, result.rows, result.bytes, result.readings, result.notes) == ([], 0, 0, 0, [])
    assert list((tmp_path / "parts").iterdir()) == []


# --- parts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cap", [300, 400, 1_000])
def test_parts_are_cut_on_row_boundaries_under_the_cap(tmp_path, cap):
    farm = make_farm(farm_id="F-1", name="Farm", timezone="UTC", latitude=None, longitude=None)
    record(make_sensor(farm, "ac_power", sensor_id="S-1"), at(2024, 6, 1), FIVE_MINUTES, wavy(60, 1))
    record(make_sensor(farm, "dc_power", sensor_id="S-2"), at(2024, 6, 1), FIVE_MINUTES, wavy(60, 2))
    whole = build(tmp_path, [farm], name="whole")

    capped = build(tmp_path, [farm], cap=cap, name="capped")

    assert len(whole.parts) == 1 and len(capped.parts) > 1
    contents = [part.path.read_bytes() for part in capped.parts]
    assert [part.number for part in capped.parts] == list(range(1, len(capped.parts) + 1))
    assert [part.path.name for part in capped.parts] == [f"raptormaps-{n:04d}.csv" for n in range(1, len(contents) + 1)]
    assert sorted(path.name for path in (tmp_path / "capped").iterdir()) == [p.path.name for p in capped.parts]
    for part, content in zip(capped.parts, contents, strict=True):
        assert content.startswith(HEADER_LINE) and content.endswith(b"\n")
        assert part.bytes == len(content) <= cap
        assert part.rows == content.count(b"\n") - 1 > 0
        assert part.sha256 == hashlib.sha256(content).hexdigest()
    for content, following in itertools.pairwise(contents):
        next_row = following[len(HEADER_LINE) :].split(b"\n")[0] + b"\n"
        assert len(content) + len(next_row) > cap, "a part was closed while the next row still fitted"
    data = b"".join(content[len(HEADER_LINE) :] for content in contents)
    assert data == whole.parts[0].path.read_bytes()[len(HEADER_LINE) :]
    assert (capped.rows, capped.bytes, capped.readings) == (whole.rows, sum(map(len, contents)), whole.readings)


def test_a_build_of_megabytes_streams_in_chunks_and_cuts_parts_inside_them(tmp_path):
    farm = make_farm(farm_id="F-1", name="Farm " + "long name " * 19, timezone="Europe/Paris")
    readings = []
    for number in range(8):
        sensor = make_sensor(farm, "dc_power", equipment_id=f"INV-{number}", equipment_name="Inverter " * 10)
        readings += record(sensor, at(2024, 1, 1), timedelta(minutes=15), wavy(600, number))
    whole = build(tmp_path, [farm], name="whole")

    capped = build(tmp_path, [farm], cap=100_000, name="capped")

    assert whole.bytes > 1_500_000 and len(capped.parts) > 15
    assert all(part.bytes <= 100_000 for part in capped.parts)
    data = b"".join(part.path.read_bytes()[len(HEADER_LINE) :] for part in capped.parts)
    assert data == whole.parts[0].path.read_bytes()[len(HEADER_LINE) :]
    assert by_sensor_and_time(capped) == keyed(rollup(readings))


def test_a_cap_that_cannot_hold_the_header_and_a_row_is_refused_and_leaves_no_files(tmp_path):
    farm = make_farm(farm_id="F-1", name="Farm", timezone="UTC")
    record(make_sensor(farm, "ac_power", sensor_id="S-1"), at(2024, 6, 1), FIVE_MINUTES, [1.5])
    row = build(tmp_path, [farm], name="whole").parts[0].path.read_bytes()[len(HEADER_LINE) :]

    with pytest.raises(PartTooSmall) as refused:
        build(tmp_path, [farm], cap=250, name="capped")

    assert str(refused.value) == (
        f"A part of at most 250 bytes cannot hold the header row (184 bytes) and a {len(row)}-byte row; "
        f"the part size must be at least {184 + len(row)} bytes."
    )
    assert list((tmp_path / "capped").iterdir()) == []
    assert Farm.objects.count() == 1  # the connection is still usable


def test_a_part_that_holds_exactly_the_header_and_one_row_is_enough(tmp_path):
    farm = make_farm(farm_id="F-1", name="Farm", timezone="UTC")
    record(make_sensor(farm, "ac_power", sensor_id="S-1"), at(2024, 6, 1), FIVE_MINUTES, [1.5, 2.5, 3.5, 4.5])
    rows = build(tmp_path, [farm], name="whole").parts[0].path.read_bytes().splitlines(keepends=True)[1:]
    assert len(rows[0]) == len(rows[1])

    result = build(tmp_path, [farm], cap=len(HEADER_LINE) + len(rows[0]), name="capped")

    assert [part.rows for part in result.parts] == [1, 1]


# --- numbers and text -------------------------------------------------------------------------------

HALFWAY = 3092535278770144000.0  # repr's digits are exactly halfway to the next float; PostgreSQL's are not
EDGE_VALUES = [
    (0.1 + 0.2, "0.30000000000000004"),
    (1e-05, "0.00001"),
    (-1.5e-07, "-0.00000015"),
    (1e20, "100000000000000000000.0"),
    (-0.0, "0.0"),
    (0.0, "0.0"),
    (123456.789, "123456.789"),
    (2.0**53, "9007199254740992.0"),
    (1e16, "10000000000000000.0"),
    (-123456789012345678.0, "-123456789012345680.0"),
    (HALFWAY, "3092535278770144300.0"),
    (5e-324, "0." + "0" * 323 + "5"),
    (1.7976931348623157e308, "17976931348623157" + "0" * 292 + ".0"),
]


@pytest.mark.parametrize(("value", "text"), EDGE_VALUES)
def test_plain_decimal(value, text):
    assert plain_decimal(value) == text
    assert float(text) == value


def test_values_are_written_in_plain_decimal(tmp_path):
    farm = make_farm(timezone="UTC", latitude=-33.8688, longitude=0.0)
    register = make_sensor(farm, "production_meter_energy", equipment_id="M-1")  # a maximum: the value itself
    record(register, at(2024, 6, 1), timedelta(minutes=15), [value for value, _ in EDGE_VALUES])

    rows = data_rows(build(tmp_path, [farm]))

    assert [row["measured_value"] for row in rows] == [text for _, text in EDGE_VALUES]
    assert {(row["farm_latitude"], row["farm_longitude"]) for row in rows} == {("-33.8688", "0.0")}


def test_averages_of_huge_values_are_written_not_overflowed_and_tiny_values_count_as_zero(tmp_path):
    farm = make_farm(timezone="UTC")
    sensor = make_sensor(farm, "ac_power")
    record(sensor, at(2024, 6, 1), FIVE_MINUTES, [2.0**1023, 2.0**1022, 2.0**1023])  # their plain sum overflows
    record(sensor, at(2024, 6, 1, 0, 15), FIVE_MINUTES, [1.7976931348623157e308] * 3)
    record(sensor, at(2024, 6, 1, 0, 30), FIVE_MINUTES, [-1.7976931348623157e308, 1e308])
    record(sensor, at(2024, 6, 1, 0, 45), FIVE_MINUTES, [1e-300, 3e-300])  # under 2**-900: zero in an average

    result = build(tmp_path, [farm])

    assert [float(row["measured_value"]) for row in data_rows(result)] == [
        5 / 3 * 2.0**1022,
        1.7976931348623157e308,
        (-1.7976931348623157e308 + 1e308) / 2,
        0.0,
    ]
    assert result.skipped_nonfinite == 0


def test_names_with_commas_quotes_and_line_breaks_stay_one_row_per_line(tmp_path):
    farm = make_farm(farm_id="F,1", name='Hudson "Valley", North\r\nField', timezone="UTC")
    sensor = make_sensor(farm, "ac_power", equipment_name="Inverter, west\nrow", sensor_id='AC "1"', name="Süd ☀")
    record(sensor, at(2024, 6, 1), FIVE_MINUTES, [1.0, 2.0, 3.0, 4.0])

    result = build(tmp_path, [farm])

    content = result.parts[0].path.read_bytes()
    assert content.startswith(b"farm_id,")  # no byte order mark
    assert b"\r" not in content and content.count(b"\n") == result.rows + 1 == 3
    assert content.decode("utf-8").splitlines()[1] == (
        '"F,1","Hudson ""Valley"", North  Field",UTC,,40.0,-75.0,INV-1,"Inverter, west row",inverter,'
        '"AC ""1""",Süd ☀,ac_power,2024-06-01 00:00:00,2.0'
    )
    first = data_rows(result)[0]
    assert (first["farm_id"], first["farm_name"], first["equipment_name"], first["sensor_id"]) == (
        "F,1",
        'Hudson "Valley", North  Field',
        "Inverter, west row",
        'AC "1"',
    )


def test_empty_optional_fields_are_empty_cells(tmp_path):
    farm = make_farm(farm_id="F-1", name="Farm", timezone="America/New_York", latitude=None, longitude=None)
    record(make_sensor(farm, "ac_power", sensor_id="", name=""), at(2024, 6, 1, 12), FIVE_MINUTES, [1.5])

    result = build(tmp_path, [farm])

    assert result.parts[0].path.read_text().splitlines()[1] == (
        "F-1,Farm,America/New_York,,,,INV-1,Equipment INV-1,inverter,,,ac_power,2024-06-01 08:00:00,1.5"
    )


def test_rows_are_ordered_by_farm_equipment_sensor_and_time(tmp_path):
    second, first = make_farm(farm_id="B", timezone="UTC"), make_farm(farm_id="A", timezone="UTC")
    for farm in (second, first):
        for equipment_id in ("E-2", "E-1"):
            for sensor_type in ("dc_power", "ac_power"):
                sensor = make_sensor(farm, sensor_type, equipment_id=equipment_id)
                record(sensor, at(2024, 6, 1, 1), -timedelta(minutes=15), [1.0, 2.0])

    rows = data_rows(build(tmp_path, [second, first]))

    assert [(r["farm_id"], r["equipment_id"], r["sensor_type"], r["observation_time"][11:16]) for r in rows] == [
        (farm, equipment, sensor_type, time)
        for farm in ("A", "B")
        for equipment in ("E-1", "E-2")
        for sensor_type in ("ac_power", "dc_power")
        for time in ("00:45", "01:00")
    ]


def test_arguments_are_checked(tmp_path):
    farm = make_farm()
    with pytest.raises(ValueError, match="time_basis"):
        build_parts([farm], since={}, until=UNTIL, time_basis="wall", part_bytes=NO_CAP, directory=tmp_path)
    with pytest.raises(ValueError, match="until must be an aware datetime"):
        build_parts(
            [farm], since={}, until=UNTIL.replace(tzinfo=None), time_basis="utc", part_bytes=NO_CAP, directory=tmp_path
        )


# --- the same bytes on every database ---------------------------------------------------------------

GOLDEN = """\
farm_id,farm_name,timezone,commissioning date,farm_latitude,farm_longitude,equipment_id,equipment_name,equipment_type,sensor_id,sensor_name,sensor_type,observation_time,measured_value
HV-1,"Hudson ""Valley"", Solar",America/New_York,2021-06-01 12:00:30,41.5,-73.75,INV-1,Inverter 1,inverter,AC-1,AC power west,ac_power,2024-11-03 01:00:00,0.23333333333333336
HV-1,"Hudson ""Valley"", Solar",America/New_York,2021-06-01 12:00:30,41.5,-73.75,INV-1,Inverter 1,inverter,AC-1,AC power west,ac_power,2024-11-03 01:45:00,0.00001
HV-1,"Hudson ""Valley"", Solar",America/New_York,2021-06-01 12:00:30,41.5,-73.75,M-1,Meter,meter,,,production_meter_energy,2024-11-03 01:00:00,100000000000000000000.0
HV-1,"Hudson ""Valley"", Solar",America/New_York,2021-06-01 12:00:30,41.5,-73.75,M-1,Meter,meter,,,production_meter_energy,2024-11-03 02:00:00,3092535278770144300.0
KTM-1,Kathmandu Süd,Asia/Kathmandu,,,,WS-1,Weather station,weather_station,GHI,,irradiance_ghi,2024-06-01 05:45:00,500.875
KTM-1,Kathmandu Süd,Asia/Kathmandu,,,,WS-1,Weather station,weather_station,GHI,,irradiance_ghi,2024-06-01 06:00:00,0.0
"""  # noqa: E501 (rows of the file as they are)


def test_golden_file(tmp_path):
    valley = make_farm(
        farm_id="HV-1",
        name='Hudson "Valley", Solar',
        timezone="America/New_York",
        commissioned_at=at(2021, 6, 1, 16, 0, 30),
        latitude=41.5,
        longitude=-73.75,
    )
    power = make_sensor(valley, "ac_power", equipment_name="Inverter 1", sensor_id="AC-1", name="AC power\nwest")
    for minute, value in [(5, 0.1), (50, 1e-05), (65, 0.2), (70, 0.4)]:  # 01:05 EDT, 01:50 EDT, 01:05 and 01:10 EST
        record(power, at(2024, 11, 3, 5) + minute * MINUTE, MINUTE, [value])
    meter = make_sensor(valley, "production_meter_energy", equipment_id="M-1", equipment_name="Meter", sensor_id="")
    for minute, value in [(0, 1e20), (74, 5.0), (120, HALFWAY)]:
        record(meter, at(2024, 11, 3, 5) + minute * MINUTE, MINUTE, [value])
    kathmandu = make_farm(
        farm_id="KTM-1", name="Kathmandu Süd", timezone="Asia/Kathmandu", latitude=None, longitude=None
    )
    ghi = make_sensor(
        kathmandu, "irradiance_ghi", equipment_id="WS-1", equipment_name="Weather station", sensor_id="GHI"
    )
    record(ghi, at(2024, 6, 1), timedelta(minutes=10), [500.5, 501.25, -0.0])

    result = build(tmp_path, [kathmandu, valley])

    assert result.parts[0].path.read_bytes() == GOLDEN.encode()
    assert result.parts[0].sha256 == hashlib.sha256(GOLDEN.encode()).hexdigest()
    assert (result.rows, result.bytes, result.readings) == (6, len(GOLDEN.encode()), 10)
    assert result.notes == [
        'Hudson "Valley", Solar (America/New_York): 2024-11-03 01:00–02:00 occurs twice in local time; '  # noqa: RUF001
        "2 rows roll both occurrences up"
    ]
