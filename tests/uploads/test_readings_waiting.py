"""Which readings wait for WattCarbon: after a meter's (ingested_at, id) watermark, ties included."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.models import IntervalReading
from tests.factories import BillReadingFactory, MeterFactory
from tests.uploads.accounts import make_account
from uploads.models import WattCarbonMeterLink
from uploads.wattcarbon.readings import BILLS, INTERVALS

pytestmark = pytest.mark.django_db

STAMP = datetime(2025, 3, 1, 12, tzinfo=UTC)
START = datetime(2025, 1, 1, tzinfo=UTC)


def readings(meter, count, ingested_at=STAMP, first_hour=0):
    """``count`` hourly readings, all ingested in the same instant (as one import stamps them)."""
    return IntervalReading.objects.bulk_create(
        IntervalReading(
            meter=meter,
            start=START + timedelta(hours=first_hour + hour),
            end=START + timedelta(hours=first_hour + hour + 1),
            quantity=hour,
            ingested_at=ingested_at,
        )
        for hour in range(count)
    )


def link_for(account, meter, through=None):
    at, pk = (through.ingested_at, through.pk) if through else (None, None)
    return WattCarbonMeterLink.objects.create(
        account=account, meter=meter, remote_id=1000 + meter.pk, intervals_through_at=at, intervals_through_id=pk
    )


def test_rows_ingested_in_the_same_instant_are_split_by_id():
    account = make_account()
    meter = MeterFactory(portfolio=account.portfolio)
    rows = sorted(readings(meter, 5), key=lambda row: row.pk)
    link = link_for(account, meter, through=rows[1])

    waiting = INTERVALS.pending(link, meter, until=STAMP)

    assert list(waiting.values_list("pk", flat=True)) == [row.pk for row in rows[2:]]
    assert not INTERVALS.pending(link, meter, until=STAMP - timedelta(seconds=1)).exists()  # past the horizon


def test_a_link_never_sent_waits_for_everything():
    account = make_account()
    meter = MeterFactory(portfolio=account.portfolio)
    readings(meter, 3)
    link = link_for(account, meter)
    assert INTERVALS.pending(link, meter, until=STAMP).count() == 3


def test_which_links_wait_is_one_statement_whatever_the_number_of_meters():
    account = make_account()
    up_to_date, behind, never_sent, empty = (MeterFactory(portfolio=account.portfolio) for _ in range(4))
    done = readings(up_to_date, 3)
    first = readings(behind, 2)
    readings(behind, 1, ingested_at=STAMP + timedelta(minutes=5), first_hour=10)
    readings(never_sent, 1)
    links = {
        "up to date": link_for(account, up_to_date, through=max(done, key=lambda row: row.pk)),
        "behind": link_for(account, behind, through=max(first, key=lambda row: row.pk)),
        "never sent": link_for(account, never_sent),
        "empty": link_for(account, empty),
    }
    BillReadingFactory(meter=empty)

    with CaptureQueriesContext(connection) as queries:
        waiting = INTERVALS.links_waiting(WattCarbonMeterLink.objects.filter(account=account))
    assert len(queries) == 1
    assert waiting == {links["behind"].pk, links["never sent"].pk}
    assert INTERVALS.links_waiting(WattCarbonMeterLink.objects.all(), until=STAMP) == {links["never sent"].pk}
    assert BILLS.links_waiting(WattCarbonMeterLink.objects.all()) == {links["empty"].pk}
