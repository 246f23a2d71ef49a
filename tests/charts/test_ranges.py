"""Ranges a chart may be asked for, and the words for those it may not."""

from datetime import UTC, datetime, timedelta

import pytest

from portfolio.charts.ranges import MAX_POINTS, BadRange, bucket_for, chart_range
from portfolio.models import Sensor
from tests.charts.helpers import chart_url, viewer
from tests.factories import SensorFactory

NOW = datetime(2026, 3, 8, 2, 15, tzinfo=UTC)


def test_presets_end_now_or_at_the_end_given():
    shown = chart_range({"range": "24h"}, now=NOW)
    assert (shown.start, shown.end) == (NOW - timedelta(hours=24), NOW)
    shown = chart_range({"range": "1y", "end": "2026-01-01"}, now=NOW)
    assert (shown.start, shown.end) == (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def test_from_and_to_dates_include_the_whole_last_day_and_zones_are_honoured():
    shown = chart_range({"from": "2026-03-01", "to": "2026-03-02"})
    assert (shown.start, shown.end) == (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
    shown = chart_range({"from": "2026-03-01T10:00+02:00", "to": "2026-03-01T11:00"})
    assert (shown.start, shown.end) == (datetime(2026, 3, 1, 8, tzinfo=UTC), datetime(2026, 3, 1, 11, tzinfo=UTC))


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"range": "2w"}, "Unknown range '2w': choose one of 24h, 7d, 30d, 1y"),
        ({"from": "2026-03-01"}, "to is missing"),
        ({"from": "yesterday", "to": "2026-03-01"}, "from must be a date (2026-03-08)"),
        ({"from": "2026-03-01", "to": "2026-02-30"}, "to must be a date"),
        ({"from": "2026-03-02", "to": "2026-03-01T12:00"}, "The end of the range must come after its start."),
        ({"from": "2016-01-01", "to": "2026-01-01"}, "at most 5 years"),
        ({"range": "7d", "end": "soon"}, "end must be a date"),
    ],
)
def test_ranges_that_cannot_be_shown_are_refused_in_words(query, words):
    with pytest.raises(BadRange, match=None) as refused:
        chart_range(query, now=NOW)
    assert words in str(refused.value)


@pytest.mark.django_db
def test_the_endpoint_answers_a_bad_range_with_a_400_in_words():
    sensor = SensorFactory()
    response = viewer().get(chart_url(Sensor, "readings", sensor.pk), {"from": "2026-03-02", "to": "2026-03-01"})
    assert response.status_code == 400
    assert response.json() == {"error": "The end of the range must come after its start."}


def test_buckets_keep_every_preset_under_the_cap():
    for span in (timedelta(hours=24), timedelta(days=7), timedelta(days=30), timedelta(days=365), timedelta(days=1830)):
        size = bucket_for(span)
        assert span.total_seconds() / size <= MAX_POINTS
    assert bucket_for(timedelta(hours=24)) == 60
    assert bucket_for(timedelta(days=30)) == 1800
    assert bucket_for(timedelta(days=365)) == 6 * 3600
