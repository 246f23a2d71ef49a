"""A sensor's chart: its readings as they are, buckets when too many, and the 15-minute roll-up
the uploader sends, against numbers worked out by hand and against the uploader's own CSV."""

import csv
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from portfolio.charts.ranges import MAX_POINTS
from portfolio.choices import EquipmentType, SensorType
from portfolio.models import Observation, Sensor
from tests.charts.helpers import chart, chart_url, series, viewer
from tests.factories import EquipmentFactory, SensorFactory
from uploads.raptormaps.csvfile import build_parts

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def ms(moment):
    return int(moment.timestamp() * 1000)


def read(sensor, *minutes_and_values):
    Observation.objects.bulk_create(
        Observation(sensor=sensor, observed_at=T0 + minute * MINUTE, value=value)
        for minute, value in minutes_and_values
    )


def readings_chart(sensor, **query):
    return chart(viewer(), chart_url(Sensor, "readings", sensor.pk), **query)


def test_few_readings_are_drawn_as_they_are_with_the_average_roll_up():
    sensor = SensorFactory(sensor_type=SensorType.AC_POWER)
    read(sensor, (0, 10.0), (5, 20.0), (10, 30.0), (15, 100.0), (20, 200.0), (35, 7.0), (60, 999.0))
    data = readings_chart(sensor, **{"from": "2026-03-02T00:00", "to": "2026-03-02T01:00"})

    raw = series(data, "readings")
    # The range includes its start and leaves out its end (the reading at 01:00).
    assert raw["points"] == [
        [ms(T0 + m * MINUTE), v] for m, v in [(0, 10), (5, 20), (10, 30), (15, 100), (20, 200), (35, 7)]
    ]
    assert raw["unit"] == "W"
    rollup = series(data, "15-minute roll-up as uploaded (average)")
    assert rollup["points"] == [[ms(T0), 20.0], [ms(T0 + 15 * MINUTE), 150.0], [ms(T0 + 30 * MINUTE), 7.0]]
    assert data["empty"] is False
    assert data["range"]["words"] == "2026-03-02 00:00 to 2026-03-02 01:00 UTC"


def test_a_register_rolls_up_to_its_highest_reading():
    meter = EquipmentFactory(equipment_type=EquipmentType.METER)
    sensor = SensorFactory(equipment=meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    read(sensor, (1, 100.0), (7, 180.0), (14, 150.0), (16, 260.0))
    data = readings_chart(sensor, **{"from": "2026-03-02", "to": "2026-03-02"})
    rollup = series(data, "15-minute roll-up as uploaded (maximum)")
    assert rollup["points"] == [[ms(T0), 180.0], [ms(T0 + 15 * MINUTE), 260.0]]
    assert series(data, "readings")["unit"] == "Wh"


def test_too_many_readings_come_as_buckets_of_lowest_average_and_highest():
    sensor = SensorFactory()
    read(sensor, *((minute, float(minute)) for minute in range(2500)))
    data = readings_chart(sensor, **{"from": "2026-03-02", "to": "2026-03-03"})  # 2 days: 5-minute buckets

    average = series(data, "readings, average per 5 minutes")
    band = series(data, "lowest to highest per 5 minutes")
    assert len(average["points"]) == len(band["points"]) == 500 <= MAX_POINTS
    # Bucket k holds minutes 5k to 5k+4, whose values are the minutes themselves.
    assert average["points"][:2] == [[ms(T0), 2.0], [ms(T0 + 5 * MINUTE), 7.0]]
    assert band["points"][:2] == [[ms(T0), 0.0, 4.0], [ms(T0 + 5 * MINUTE), 5.0, 9.0]]
    assert band["points"][-1] == [ms(T0 + 2495 * MINUTE), 2495.0, 2499.0]
    rollup = series(data, "15-minute roll-up")
    assert len(rollup["points"]) == 2500 // 15 + 1
    assert rollup["points"][1] == [ms(T0 + 15 * MINUTE), 22.0]  # minutes 15..29
    assert any("bucket of 5 minutes" in note for note in data["notes"])


def test_every_series_stays_under_the_cap_on_the_longest_ranges():
    sensor = SensorFactory()
    # A reading every 10 minutes for 30 days: 4,320 readings.
    Observation.objects.bulk_create(
        Observation(sensor=sensor, observed_at=T0 + n * 10 * MINUTE, value=1.0) for n in range(30 * 144)
    )
    for query in ({"range": "1y", "end": "2026-04-01"}, {"range": "30d", "end": "2026-04-01"}):
        data = readings_chart(sensor, **query)
        assert all(len(s["points"]) <= MAX_POINTS for s in data["series"]), query
        assert sum(len(s["points"]) for s in data["series"]) > 0
    # 30 days of quarter hours are more than the cap: the roll-up says so instead of drawing a part.
    assert series(data, "15-minute roll-up")["points"] == []
    assert any("up to 20 days" in note for note in data["notes"])


def test_an_empty_range_says_so_and_knows_the_latest_reading():
    sensor = SensorFactory()
    read(sensor, (0, 1.0), (30, 2.0))
    data = readings_chart(sensor, range="7d", end="2026-06-01T00:00")
    assert data["empty"] is True
    assert all(s["points"] == [] for s in data["series"])
    assert data["latest_ms"] == ms(T0 + 30 * MINUTE)


def test_the_default_range_is_the_last_seven_days():
    sensor = SensorFactory()
    now = timezone.now()
    Observation.objects.create(sensor=sensor, observed_at=now - timedelta(days=6), value=5.0)
    Observation.objects.create(sensor=sensor, observed_at=now - timedelta(days=8), value=9.0)
    data = readings_chart(sensor)
    assert [v for _, v in series(data, "readings")["points"]] == [5.0]


def test_the_roll_up_is_what_the_uploader_writes_in_its_csv(tmp_path):
    sensor = SensorFactory(sensor_type=SensorType.DC_VOLTAGE)
    other = SensorFactory(equipment=sensor.equipment, sensor_type=SensorType.DC_CURRENT_AMP)
    values = [(minute * 3, 600.0 + (minute * 37 % 11) / 3) for minute in range(100)]  # 5 hours, every 3 minutes
    read(sensor, *values)
    read(other, (0, 5.0))
    build = build_parts(
        [sensor.equipment.farm],
        since={},
        until=timezone.now(),
        time_basis="utc",
        part_bytes=10_000_000,
        directory=tmp_path,
    )
    with build.parts[0].path.open(newline="") as file:
        sent = [
            [ms(datetime.fromisoformat(row["observation_time"]).replace(tzinfo=UTC)), float(row["measured_value"])]
            for row in csv.DictReader(file)
            if row["sensor_id"] == sensor.sensor_id
        ]
    data = readings_chart(sensor, **{"from": "2026-03-02", "to": "2026-03-02"})
    drawn = series(data, "15-minute roll-up")["points"]
    assert len(sent) == 20
    # The same bits: both sum in time order (scaling by a power of two rounds nothing).
    assert drawn == sent
