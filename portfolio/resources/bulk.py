"""Readings files on the bulk path: the same checks and messages as a row-by-row import, at table speed.

django-import-export imports a row at a time: a query to find it, ``full_clean`` with a query
for overlaps, a save with its own audit entry. For a meter export of 100,000 readings that is
minutes. ``BulkReadings`` keeps the resource's columns, widgets and row numbering but reads the
whole sheet in Python first and writes once:

1. every row's cells are cleaned by the resource's own fields (the same messages, by column);
2. the stored readings the file can touch are read in one query, and each row is checked in
   file order against them and the rows before it, as the row-by-row import would have seen
   the table: a key given twice, the model's checks (end after start, length, unit for the
   meter, overlap) with the model's own messages; unchanged rows are counted and left alone;
3. when no row is refused, new and changed readings are written with ``bulk_create`` (an
   upsert on the reading's key), in batches, inside the import's transaction.

The result is django-import-export's ``Result``, so counts, problems and the preview's diffs
read as before. Not the same: no audit entry per reading (save signals do not run); the
import's ``ImportRecord`` is its record, as for observations (docs/security.md, "Audit trail").
"""

from bisect import bisect_left, bisect_right, insort
from datetime import date
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from import_export.results import Error, Result, RowResult

from portfolio.choices import UNITS_BY_METER_TYPE, EnergyUnit
from portfolio.resources.collector import collector_paused
from portfolio.resources.problems import SpreadsheetError
from portfolio.resources.widgets import REQUIRED, ChoiceWidget, RelatedByKey, SiteTimeWidget, is_blank

__all__ = ["BulkReadings"]

BATCH = 2000
STAGING = "spreadsheet_readings_staging"
UNITS = frozenset(EnergyUnit.values)
# How many changed rows get a diff for the preview (as many as it lists).
DIFF_ROWS = 200


class BulkReadings:
    """A mixin for a readings resource, before SpreadsheetResource. The subclass names its period:

    ``start_field``/``end_field`` (the key is meter and start), ``longest`` (the longest period
    the model allows, which bounds the overlap search; None: the longest one stored).
    """

    bulk = True  # False: django-import-export's row-by-row import (for comparison)
    start_field = "start"
    end_field = "end"
    longest = None

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        if not self.bulk:
            return super().import_data(dataset, dry_run=dry_run, raise_errors=raise_errors, **kwargs)
        result = Result()
        result.diff_headers = self.get_diff_headers()
        result.total_rows = len(dataset)
        try:
            with collector_paused():
                self.before_import(dataset)
                result.add_dataset_headers(dataset.headers)
                rows = self._clean_rows(dataset)
                writes = self._check_rows(rows, result)
                if not result.invalid_rows:
                    self._write(writes)
        except (SpreadsheetError, DatabaseError) as exc:  # the header row; the table refusing a batch
            result.append_base_error(Error(exc))
        return result

    # 1. Cells.

    def _clean_rows(self, dataset):
        """(row number, row, cleaned values by attribute, errors by attribute) for each data row."""
        fields = [field for field in self.get_import_fields() if field.column_name in dataset.headers]
        required = set(self.required_columns) - set(self.may_be_blank)
        times = {}  # start and end: the end of one interval is the start of the next
        checks = [
            (field, field.column_name in required, _memo_key(field), times if _is_time(field) else {})
            for field in fields
            if not field.readonly
        ]
        blank_checks = [field for field in fields if field.readonly and field.column_name in required]
        headers = dataset.headers
        cleaned = []
        for number, record in enumerate(dataset, start=1):
            row = dict(zip(headers, record, strict=False))
            try:
                self.before_import_row(row, row_number=number)  # progress; a key written twice
            except ValidationError as exc:
                cleaned.append((number, row, None, exc))
                continue
            values, errors = {}, {}
            for field in blank_checks:
                if is_blank(row[field.column_name]):
                    errors[field.attribute] = ValidationError(REQUIRED)
            site_zone = self._site_zone(row, values)
            for field, is_required, memo_key, memo in checks:
                raw = row[field.column_name]
                if is_required and is_blank(raw):
                    errors[field.attribute] = ValidationError(REQUIRED)
                    continue
                # The same cells give the same value or message: clean each spelling once.
                key = memo_key(raw, row, values) if memo_key else None
                outcome = memo.get(key) if key is not None else None
                if outcome is None:
                    try:
                        outcome = (True, field.clean(row, site_zone=site_zone))
                    except ValueError as exc:
                        outcome = (False, str(exc))
                    if key is not None:
                        memo[key] = outcome
                ok, value = outcome
                if not ok:
                    errors[field.attribute] = ValidationError(value)
                elif value is not None or field.saves_null_values:
                    values[field.attribute] = value
            cleaned.append((number, row, values, errors))
        return cleaned

    def _site_zone(self, row, values):
        # The row's meter is cleaned before its times: its zone, without cleaning it again.
        def site_zone():
            meter = values.get("meter")
            return self.meter_zone_of(meter) if meter is not None else self.row_zone(row)

        return site_zone

    def meter_zone_of(self, meter):
        """(zone, None) or (None, why) for naive times of a row of this meter (as ``row_zone``)."""
        return None, "there is no site time zone for this row"

    # 2. Rows against the table and each other.

    def _stored(self, rows):
        """The stored readings of the file's meters that its rows can meet, as records by (meter id, start)."""
        model = self._meta.model
        by_id = {values["meter"].pk: values["meter"] for _n, _r, values, _e in rows if values and values.get("meter")}
        starts = [values[self.start_field] for _n, _r, values, _e in rows if values and values.get(self.start_field)]
        ends = [values[self.end_field] for _n, _r, values, _e in rows if values and values.get(self.end_field)]
        queryset = model._default_manager.filter(meter_id__in=by_id)
        if self.longest is not None and starts:
            # An overlapping reading starts at most ``longest`` before a row.
            earliest, latest = min(starts) - self.longest, max([*starts, *ends])
            queryset = queryset.filter(**{f"{self.start_field}__gt": earliest, f"{self.start_field}__lte": latest})
        names = [name for name in self._attributes() if name != "meter"]
        stored = {}
        for pk, meter_id, *values in queryset.values_list("pk", "meter_id", *names).iterator(2000):
            record = {"pk": pk, "meter": by_id[meter_id], **dict(zip(names, values, strict=True))}
            stored[(meter_id, record[self.start_field])] = record
        return stored

    def _attributes(self):
        """The model fields a file sets, the meter and the start first."""
        names = [field.attribute for field in self.get_import_fields() if not field.readonly]
        return ["meter", self.start_field, *(name for name in names if name not in ("meter", self.start_field))]

    def _instance(self, record):
        """A model instance of a record (for the model's own messages, diffs and SQLite's bulk_create)."""
        record = dict(record)
        return self._meta.model(id=record.pop("pk", None), **record)

    def _check_rows(self, rows, result):
        """Count and check every row in file order; the records to write (new and changed)."""
        stored = self._stored(rows) if rows else {}
        by_meter = {}  # meter id -> sorted starts, of the table as the rows before have left it
        for meter_id, start in stored:
            by_meter.setdefault(meter_id, []).append(start)
        self._untidy = set()  # meters with stored periods that overlap (valid rows never add one)
        self._longest_stored = {}
        for meter_id, starts in by_meter.items():
            starts.sort()
            ends = [stored[(meter_id, start)][self.end_field] for start in starts]
            if not all(end <= later for end, later in zip(ends, starts[1:], strict=False)):
                self._untidy.add(meter_id)
            self._longest_stored[meter_id] = max(end - start for start, end in zip(starts, ends, strict=True))
        model = self._meta.model
        defaults = {name: model._meta.get_field(name).get_default() for name in self._attributes()}
        seen = {}  # (meter id, start) -> the sheet row that gave it
        writes = []
        diffs = 0
        for number, row, values, errors in rows:
            row_result = RowResult()
            if values is None:  # the same key as an earlier row, as written
                self._invalid(result, row_result, number, row, errors)
                continue
            meter, start = values.get("meter"), values.get(self.start_field)
            meter_id = meter.pk if meter is not None else None
            key = (meter_id, start) if meter is not None and start is not None else None
            original = stored.get(key) if key else None
            try:
                if key is not None and key in seen:
                    self._repeated_key(seen[key], row)
            except ValidationError as exc:
                self._invalid(result, row_result, number, row, exc)
                continue
            new = original is None
            record = {**(defaults if new else original), **values}
            if not errors and not new and all(record[name] == original[name] for name in values):
                row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            else:
                errors = self._model_errors(record, errors, stored, by_meter)
                if errors:
                    self._invalid(result, row_result, number, row, ValidationError(errors))
                    continue
                row_result.import_type = RowResult.IMPORT_TYPE_NEW if new else RowResult.IMPORT_TYPE_UPDATE
                writes.append(record)
                if new:
                    insort(by_meter.setdefault(meter_id, []), start)
                stored[key] = record
                length = record[self.end_field] - start
                self._longest_stored[meter_id] = max(length, self._longest_stored.get(meter_id, length))
                if diffs < DIFF_ROWS and not self._meta.skip_html_diff:
                    diff = self.get_diff_class()(self, model() if new else self._instance(original), new)
                    diff.compare_with(self, self._instance(record))
                    row_result.diff = diff.as_html()
                    diffs += 1
            seen[key] = self.sheet_row(number)
            result.increment_row_result_total(row_result)
            result.append_row_result(row_result)
        return writes

    def _invalid(self, result, row_result, number, row, error):
        row_result.import_type = RowResult.IMPORT_TYPE_INVALID
        row_result.validation_error = error
        result.increment_row_result_total(row_result)
        result.append_row_result(row_result)
        result.append_invalid_row(number, row, error)

    def _model_errors(self, record, errors, stored, by_meter):
        """What ``full_clean`` would add to the cells' errors, in its order, without its queries."""
        errors = dict(errors)
        exclude = set(errors)
        meter = record.get("meter") if "meter" not in exclude else None
        if record.get("unit") not in UNITS or record.get("quantity") is None:
            # Rare: let the model's own field checks word it.
            try:
                self._instance(record).clean_fields(exclude=exclude)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        try:
            if self.clean_period(SimpleNamespace(**record)) and meter is not None:
                if record["unit"] not in UNITS_BY_METER_TYPE[meter.meter_type]:
                    self._instance(record).clean_unit(meter)
                self._clean_overlap(record, meter, stored, by_meter)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        return errors

    def clean_period(self, reading):
        """The model's clean() before its unit and overlap checks: raise its errors; False where it
        stops there (a time missing). The subclass says it."""
        raise NotImplementedError

    def _clean_overlap(self, record, meter, stored, by_meter):
        start, end = record[self.start_field], record[self.end_field]
        meter_id = meter.pk
        starts = by_meter.get(meter_id, [])
        longest = self.longest or self._longest_stored.get(meter_id)
        if longest is None:
            return
        # As the model's query: a start after (start - longest) and before the end, an end after the start.
        index = bisect_right(starts, start - longest)
        if meter_id not in self._untidy:
            # No two stored periods overlap: those before the last one starting earlier end by then.
            index = max(index, bisect_left(starts, start) - 1)
        for position in range(index, len(starts)):
            other_start = starts[position]
            if other_start >= end:
                break
            if other_start == start:
                continue  # this reading itself
            other = stored[(meter_id, other_start)]
            if other[self.end_field] > start:
                self._instance(record).clean_overlap(meter, _Found(self._instance(other)))

    # 3. The table.

    def _write(self, writes):
        if not writes:
            return
        now = timezone.now()  # what Reading.save sets: the uploads find changed readings by it
        names = self._attributes()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                self._copy_upsert(writes, names, now)
            else:
                self._bulk_upsert(writes, names, now)

    def _bulk_upsert(self, writes, names, now):
        for first in range(0, len(writes), BATCH):
            self._meta.model._default_manager.bulk_create(
                [self._instance({**record, "ingested_at": now}) for record in writes[first : first + BATCH]],
                update_conflicts=True,
                unique_fields=names[:2],
                update_fields=[*names[2:], "ingested_at"],
            )

    def _copy_upsert(self, writes, names, now):
        """PostgreSQL: COPY the rows into a temporary table, then one upsert from it."""
        model = self._meta.model
        fields = [model._meta.get_field(name) for name in [*names, "ingested_at"]]
        quote = connection.ops.quote_name
        table, staging = quote(model._meta.db_table), quote(STAGING)
        columns = ", ".join(quote(field.column) for field in fields)
        definitions = ", ".join(f"{quote(field.column)} {field.db_type(connection)}" for field in fields)
        updates = ", ".join(f"{quote(field.column)} = EXCLUDED.{quote(field.column)}" for field in fields[2:])
        stamp = now.isoformat()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {staging}")
            cursor.execute(f"CREATE TEMPORARY TABLE {staging} ({definitions})")
            with cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
                for first in range(0, len(writes), BATCH):
                    lines = []
                    for record in writes[first : first + BATCH]:
                        cells = [str(record["meter"].pk), *(_copy_text(record[name]) for name in names[1:]), stamp]
                        lines.append("\t".join(cells))
                    copy.write("\n".join(lines) + "\n")
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
                f"ON CONFLICT ({', '.join(quote(field.column) for field in fields[:2])}) DO UPDATE SET {updates}"
            )
            cursor.execute(f"DROP TABLE {staging}")


def _copy_text(value):
    """A value as COPY's text format reads it (units and numbers hold no tab, newline or backslash)."""
    if value is None:
        return "\\N"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _is_time(field):
    return isinstance(field.widget, SiteTimeWidget)


def _memo_key(field):
    """How to know that a cell will clean as an earlier one did; None: clean every cell."""
    widget = field.widget
    if isinstance(widget, RelatedByKey):
        columns = tuple(widget.columns.values())
        return lambda raw, row, values: tuple((type(row.get(c)), row.get(c)) for c in columns)
    if isinstance(widget, SiteTimeWidget):
        # A time without an offset is read in the zone of the row's meter.
        # The meters are the widget's cached objects: one object per meter for the whole import.
        return lambda raw, row, values: (type(raw), raw, id(values["meter"]) if "meter" in values else None)
    if isinstance(widget, ChoiceWidget):
        return lambda raw, row, values: (type(raw), raw)
    return None


class _Found:
    """The clash ``clean_overlap`` asks its queryset for, found in memory."""

    def __init__(self, reading):
        self.reading = reading

    def filter(self, **kwargs):
        return self

    def exclude(self, **kwargs):
        return self

    def first(self):
        return self.reading
