"""Interval and bill readings on their way to WattCarbon: which are waiting, and how they are sent.

What waits is what was ingested after the meter's watermark, the ``(ingested_at, id)`` of the
last row WattCarbon accepted, up to a horizon. Both questions (the rows of one meter, and which
meters have any) are index seeks on ``(meter, ingested_at, id)``: a sync with nothing to send
costs one statement per series, whatever the size of the tables.
"""

from django.db.models import Exists, F, OuterRef, Q, Value

from portfolio.models import BillReading, IntervalReading
from uploads.runs.keyset import RowAfter
from uploads.wattcarbon import payloads

__all__ = ["BILLS", "INTERVALS", "SERIES", "Series"]


class Series:
    """One kind of reading: its model, the columns a file is made of, how it is sent, where its watermark is."""

    def __init__(self, name, model, columns, csv, upload, prefix, counter):
        self.name, self.model, self.columns, self.csv = name, model, columns, csv
        self._upload = upload
        self.through_at, self.through_id = f"{prefix}_through_at", f"{prefix}_through_id"
        self.counter = counter  # the SyncRun field that counts its rows

    def _after(self, through_at, through_id):
        return RowAfter([F("ingested_at"), F("id")], [through_at, through_id])

    def pending(self, link, meter, until):
        """The meter's readings ingested after the link's watermark, up to ``until``, in ingestion order."""
        rows = self.model.objects.filter(meter=meter, ingested_at__lte=until)
        through_at = getattr(link, self.through_at)
        if through_at is not None:
            rows = rows.filter(self._after(Value(through_at), Value(getattr(link, self.through_id))))
        return rows.order_by("ingested_at", "id")

    def links_waiting(self, links, until=None):
        """The pks of the meter links among ``links`` (a queryset) whose meter has readings waiting; one statement."""
        rows = self.model.objects.filter(meter_id=OuterRef("meter_id"))
        if until is not None:
            rows = rows.filter(ingested_at__lte=until)
        # Two probes rather than one row comparison: SQLite seeks a row value on its first column
        # only, and would read every row stamped in the watermark's instant (a whole import).
        later = rows.filter(ingested_at__gt=OuterRef(self.through_at))
        same_instant = rows.filter(ingested_at=OuterRef(self.through_at), id__gt=OuterRef(self.through_id))
        never_sent = Q(**{f"{self.through_at}__isnull": True}) & Exists(rows)
        return set(links.filter(never_sent | Exists(later) | Exists(same_instant)).values_list("pk", flat=True))

    def upload(self, api, remote_id, content, meter):
        return getattr(api, self._upload)(remote_id, content, subject=meter)


INTERVALS = Series(
    "interval",
    IntervalReading,
    ("id", "start", "energy_kwh"),
    payloads.intervals_csv,
    "upload_intervals",
    "intervals",
    "interval_rows",
)
BILLS = Series(
    "bill",
    BillReading,
    ("id", "start_date", "end_date", "energy_kwh"),
    payloads.bills_csv,
    "upload_bills",
    "bills",
    "bill_rows",
)
SERIES = (INTERVALS, BILLS)
