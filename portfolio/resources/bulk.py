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

from bisect import bisect_right, insort
from copy import copy

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from import_export.results import Error, Result, RowResult

from portfolio.choices import EnergyUnit
from portfolio.resources.problems import SpreadsheetError
from portfolio.resources.widgets import REQUIRED, is_blank

__all__ = ["BulkReadings"]

BATCH = 2000
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
        headers = dataset.headers
        cleaned = []
        for number, record in enumerate(dataset, start=1):
            row = dict(zip(headers, record, strict=False))
            try:
                self.before_import_row(row, row_number=number)  # progress; a key written twice
            except ValidationError as exc:
                cleaned.append((number, row, None, exc))
                continue
            kwargs = self._clean_kwargs(row)
            values, errors = {}, {}
            for field in fields:
                if field.column_name in required and is_blank(row[field.column_name]):
                    errors[field.attribute] = ValidationError(REQUIRED)
                    continue
                if field.readonly:
                    continue
                try:
                    value = field.clean(row, **kwargs)
                except ValueError as exc:
                    errors[field.attribute] = ValidationError(str(exc))
                    continue
                if value is not None or field.saves_null_values:
                    values[field.attribute] = value
            cleaned.append((number, row, values, errors))
        return cleaned

    # 2. Rows against the table and each other.

    def _stored(self, rows):
        """The stored readings of the file's meters that its rows can meet, by (meter id, start)."""
        model = self._meta.model
        by_id = {values["meter"].pk: values["meter"] for _n, _r, values, _e in rows if values and values.get("meter")}
        starts = [values[self.start_field] for _n, _r, values, _e in rows if values and values.get(self.start_field)]
        ends = [values[self.end_field] for _n, _r, values, _e in rows if values and values.get(self.end_field)]
        queryset = model._default_manager.filter(meter_id__in=by_id)
        if self.longest is not None and starts:
            # An overlapping reading starts at most ``longest`` before a row.
            earliest, latest = min(starts) - self.longest, max([*starts, *ends])
            queryset = queryset.filter(**{f"{self.start_field}__gt": earliest, f"{self.start_field}__lte": latest})
        stored = {}
        for reading in queryset.iterator(2000):
            reading.meter = by_id[reading.meter_id]  # the meter the row names: no query per reading
            stored[(reading.meter_id, getattr(reading, self.start_field))] = reading
        return stored

    def _check_rows(self, rows, result):
        """Count and check every row in file order; the readings to write (new and changed)."""
        stored = self._stored(rows) if rows else {}
        by_meter = {}  # meter id -> sorted starts, of the table as the rows before have left it
        for meter_id, start in stored:
            by_meter.setdefault(meter_id, []).append(start)
        for starts in by_meter.values():
            starts.sort()
        self._longest_stored = {}
        for reading in stored.values():
            length = getattr(reading, self.end_field) - getattr(reading, self.start_field)
            self._longest_stored[reading.meter_id] = max(length, self._longest_stored.get(reading.meter_id, length))
        seen = {}  # (meter id, start) -> the sheet row that gave it
        writes = []
        now = timezone.now()
        import_fields = [field for field in self.get_import_fields() if not field.readonly]
        diffs = 0
        for number, row, values, errors in rows:
            row_result = RowResult()
            if values is None:  # the same key as an earlier row, as written
                self._invalid(result, row_result, number, row, errors)
                continue
            meter, start = values.get("meter"), values.get(self.start_field)
            key = (meter.pk, start) if meter is not None and start is not None else None
            original = stored.get(key) if key else None
            try:
                if key is not None and key in seen:
                    self._repeated_key(seen[key], row)
            except ValidationError as exc:
                self._invalid(result, row_result, number, row, exc)
                continue
            new = original is None
            instance = self._meta.model() if new else copy(original)
            for attribute, value in values.items():
                setattr(instance, attribute, value)
            if (
                not errors
                and not new
                and all(field.get_value(instance) == field.get_value(original) for field in import_fields)
            ):
                row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            else:
                errors = self._model_errors(instance, errors, stored, by_meter)
                if errors:
                    self._invalid(result, row_result, number, row, ValidationError(errors))
                    continue
                row_result.import_type = RowResult.IMPORT_TYPE_NEW if new else RowResult.IMPORT_TYPE_UPDATE
                instance.ingested_at = now
                writes.append(instance)
                if new:
                    insort(by_meter.setdefault(meter.pk, []), start)
                stored[key] = instance
                length = getattr(instance, self.end_field) - start
                self._longest_stored[meter.pk] = max(length, self._longest_stored.get(meter.pk, length))
                if diffs < DIFF_ROWS and not self._meta.skip_html_diff:
                    diff = self.get_diff_class()(self, self._meta.model() if new else original, new)
                    diff.compare_with(self, instance)
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

    def _model_errors(self, instance, errors, stored, by_meter):
        """What ``full_clean`` would add to the cells' errors, in its order, without its queries."""
        errors = dict(errors)
        exclude = set(errors)
        meter = getattr(instance, "meter", None) if "meter" not in exclude else None
        unit_known = instance.unit in EnergyUnit.values
        if not unit_known or instance.quantity is None:
            # Rare: let the model's own field checks word it.
            try:
                instance.clean_fields(exclude=exclude)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        try:
            if self.clean_period(instance) and meter is not None:
                instance.clean_unit(meter)
                self._clean_overlap(instance, meter, stored, by_meter)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        return errors

    def clean_period(self, instance):
        """The model's clean() before its unit and overlap checks: raise its errors; False where it
        stops there (a time missing). The subclass says it."""
        raise NotImplementedError

    def _clean_overlap(self, instance, meter, stored, by_meter):
        start, end = getattr(instance, self.start_field), getattr(instance, self.end_field)
        if start is None or end is None:
            return
        starts = by_meter.get(meter.pk, [])
        longest = self.longest or self._longest_stored.get(meter.pk)
        if longest is None:
            return
        # As the model's query: a start after (start - longest) and before the end, an end after the start.
        index = bisect_right(starts, start - longest)
        for other_start in starts[index:]:
            if other_start >= end:
                break
            if other_start == start:
                continue  # this reading itself
            other = stored[(meter.pk, other_start)]
            if getattr(other, self.end_field) > start:
                instance.clean_overlap(meter, _Found(other))

    # 3. The table.

    def _write(self, writes):
        model = self._meta.model
        updated = [field.attribute for field in self.get_import_fields() if not field.readonly]
        updated = [name for name in updated if name not in ("meter", self.start_field)] + ["ingested_at"]
        with transaction.atomic():
            for first in range(0, len(writes), BATCH):
                model._default_manager.bulk_create(
                    writes[first : first + BATCH],
                    update_conflicts=True,
                    unique_fields=["meter", self.start_field],
                    update_fields=updated,
                )


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
