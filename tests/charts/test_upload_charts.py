"""The uploads' charts: a meter's intervals next to what was sent, upload volume, calls by outcome."""

from datetime import UTC, datetime, timedelta

import pytest

from portfolio.models import IntervalReading, Meter
from tests.charts.helpers import chart, chart_url, series, viewer
from tests.factories import MeterFactory
from tests.uploads.accounts import make_account
from tests.uploads.admin_helpers import make_attempt, make_run, token_integration
from uploads.models import Attempt, AttemptOutcome, UploadPart, UploadRun, WattCarbonMeterLink

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)


def ms(moment):
    return int(moment.timestamp() * 1000)


def test_a_meter_shows_its_intervals_and_those_sent_up_to_the_watermark():
    meter = MeterFactory()
    first_stamp, second_stamp = T0 + 10 * HOUR, T0 + 20 * HOUR
    readings = IntervalReading.objects.bulk_create(
        IntervalReading(
            meter=meter,
            start=T0 + n * HOUR,
            end=T0 + (n + 1) * HOUR,
            quantity=float(n + 1),
            ingested_at=first_stamp if n < 3 else second_stamp,
        )
        for n in range(5)
    )
    synced = make_account(name="Synced", portfolio=meter.portfolio)
    never = make_account(name="Never synced", portfolio=meter.portfolio, account_id="other")
    third = IntervalReading.objects.get(pk=readings[2].pk)
    WattCarbonMeterLink.objects.create(
        account=synced, meter=meter, remote_id=7, intervals_through_at=first_stamp, intervals_through_id=third.pk
    )
    WattCarbonMeterLink.objects.create(account=never, meter=meter)

    data = chart(viewer(), chart_url(Meter, "intervals", meter.pk), range="24h", end="2026-03-03")
    hours = [ms(T0 + n * HOUR) for n in range(5)]
    assert series(data, "intervals, kWh per hour")["points"] == [[t, float(n + 1)] for n, t in enumerate(hours)]
    assert series(data, "sent to WattCarbon (Synced)")["points"] == [[t, float(n + 1)] for n, t in enumerate(hours[:3])]
    assert series(data, "sent to WattCarbon (Never synced)")["points"] == []
    assert "Nothing sent to Never synced yet" in " ".join(data["notes"])


def test_a_meter_without_intervals_in_range_is_empty():
    meter = MeterFactory()
    data = chart(viewer(), chart_url(Meter, "intervals", meter.pk))
    assert data["empty"] is True
    assert "No WattCarbon account has synced this meter" in data["notes"][0]


def test_upload_volume_counts_uploaded_parts_per_day():
    run = make_run(token_integration())

    def part(number, rows, size, when, status=UploadPart.Status.UPLOADED):
        UploadPart.objects.create(
            run=run, number=number, rows=rows, bytes=size, sha256="0" * 64, status=status, uploaded_at=when
        )

    part(1, 100, 2_000_000, T0 + 10 * HOUR)
    part(2, 50, 1_000_000, T0 + 23 * HOUR + timedelta(minutes=59))
    part(3, 10, 500_000, T0 + 2 * 24 * HOUR)
    part(4, 999, 9_000_000, T0 + HOUR, status=UploadPart.Status.WRITTEN)  # a dry run: nothing uploaded
    part(5, 999, 9_000_000, T0 + HOUR, status=UploadPart.Status.FAILED)
    part(6, 999, 9_000_000, T0 + 5 * 24 * HOUR)  # after the range

    data = chart(viewer(), chart_url(UploadRun, "volume"), **{"from": "2026-03-01", "to": "2026-03-05"})
    assert data["labels"] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert series(data, "CSV rows uploaded per day")["values"] == [0, 150, 0, 10, 0]
    assert series(data, "MB uploaded per day")["values"] == [0, 3.0, 0, 0.5, 0]
    assert series(data, "MB uploaded")["axis"] == "right"


def test_calls_are_counted_by_outcome_per_hour_for_a_day_and_per_day_for_longer():
    integration = token_integration()
    for minutes, outcome in [(5, "ok"), (10, "ok"), (20, "retry"), (70, "gave_up"), (24 * 60 + 1, "ok")]:
        make_attempt(integration, started_at=T0 + timedelta(minutes=minutes), outcome=outcome)

    hourly = chart(viewer(), chart_url(Attempt, "outcomes"), range="24h", end="2026-03-03")
    assert hourly["stacked"] is True
    assert len(hourly["labels"]) == 24 and hourly["labels"][1] == "2026-03-02 01:00"
    assert series(hourly, "ok")["values"][:2] == [2, 0]
    assert series(hourly, "will retry")["values"][:2] == [1, 0]
    assert series(hourly, "gave up")["values"][:2] == [0, 1]
    assert [s["tone"] for s in hourly["series"]] == ["ok", "warning", "error"]

    daily = chart(viewer(), chart_url(Attempt, "outcomes"), range="7d", end="2026-03-04")
    assert daily["labels"][-2:] == ["2026-03-02", "2026-03-03"]
    assert series(daily, "ok")["values"][-2:] == [2, 1]
    assert [s["label"] for s in daily["series"]] == [o.label for o in AttemptOutcome]


def test_no_calls_in_range_is_empty():
    data = chart(viewer(), chart_url(Attempt, "outcomes"))
    assert data["empty"] is True
    assert all(value == 0 for s in data["series"] for value in s["values"])
