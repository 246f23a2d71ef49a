"""What every spreadsheet resource shares: natural keys, strict columns, one row numbering.

A resource is django-import-export's ``ModelResource`` with these rules on top:

- Rows are found by their natural key (``key_columns``), never by database id.
- Headers are matched by name (case and surrounding spaces ignored), in any order. Required
  columns must be there; a column the resource does not know refuses the file.
- Model validation (``full_clean``) checks every row, so the messages are the model's own.
- A key that appears twice in one file is an error on the later row, naming the earlier one.
- Times without a UTC offset are read in the site's time zone (``row_zone``) and exported
  in it with the offset (``instance_zone``).
- Problems name the spreadsheet row (header = row 1) and the column.
"""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from import_export import resources, widgets
from import_export.fields import Field

from portfolio.resources.problems import Problem, SpreadsheetError
from portfolio.resources.widgets import (
    REQUIRED,
    ChoiceWidget,
    DateWidget,
    NumberWidget,
    SiteTimeWidget,
    TextWidget,
    WholeNumberWidget,
    YesNoWidget,
    cell_text,
    is_blank,
)
from portfolio.text import with_article

__all__ = ["SpreadsheetResource"]


class SpreadsheetResource(resources.ModelResource):
    resource_name = ""  # how files, commands and import records name it: "farms"
    key_columns = ()  # the natural key: which columns identify a row
    required_columns = ()  # columns a file must have (the key among them); their cells must be filled
    on_row = None  # called as each row is imported or exported, for a command's progress; None: nobody watches
    may_be_blank = ()  # required columns whose cells may be empty
    export_related = ()  # select_related for exports
    export_prefetch = ()  # prefetch_related for exports
    portfolio_path = ""  # lookup from the model to its portfolio's slug, to export one portfolio

    WIDGETS_MAP = {
        **resources.ModelResource.WIDGETS_MAP,
        "CharField": TextWidget,
        "FloatField": NumberWidget,
        "IntegerField": WholeNumberWidget,
        "PositiveIntegerField": WholeNumberWidget,
        "PositiveSmallIntegerField": WholeNumberWidget,
        "BooleanField": YesNoWidget,
        "DateField": DateWidget,
        "DateTimeField": SiteTimeWidget,
    }

    class Meta:
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    @classmethod
    def widget_from_django_field(cls, f, default=widgets.Widget):
        if f.choices:
            noun = with_article(str(f.verbose_name))
            return lambda **kwargs: ChoiceWidget(f.choices, noun)
        return super().widget_from_django_field(f, default)

    @classmethod
    def get_display_name(cls):
        return cls.resource_name

    # Columns.

    @property
    def columns(self):
        return [field.column_name for field in self.get_import_fields()]

    def column_of(self, key):
        """The column a validation error's key (a model field or resource attribute) is about."""
        if key == NON_FIELD_ERRORS:
            return None
        for field in self.get_import_fields():
            if key in (field.attribute, field.column_name):
                return field.column_name
        return key

    def prepare(self, dataset):
        """Match the file's headers to the columns; raise SpreadsheetError when they do not fit."""
        by_folded = {column.casefold(): column for column in self.columns}
        found = [str(header or "").strip() for header in dataset.headers or []]
        named = [by_folded.get(header.casefold(), header) for header in found]
        unknown = [header for header in found if header.casefold() not in by_folded]
        missing = [column for column in self.required_columns if column not in named]
        repeated = sorted({column for column in named if named.count(column) > 1})
        if unknown or missing or repeated:
            parts = []
            if missing:
                parts.append(f"Missing columns: {', '.join(missing)}.")
            if unknown:
                parts.append(f"Unknown columns: {', '.join(unknown)}.")
            if repeated:
                parts.append(f"Columns given twice: {', '.join(repeated)}.")
            optional = [column for column in self.columns if column not in self.required_columns]
            parts.append(
                f"{with_article(self.resource_name).capitalize()} file has the columns "
                + ", ".join(self.required_columns)
                + (f" and optionally {', '.join(optional)}" if optional else "")
                + f"; this one has {', '.join(found) or 'none'}."
            )
            header_row = getattr(dataset, "header_row", 1)
            raise SpreadsheetError(Problem(header_row, None, " ".join(parts)))
        dataset.headers = named

    # Row numbers and duplicate keys.

    def sheet_row(self, row_number):
        """The spreadsheet row of data row ``row_number`` (1-based, as django-import-export counts)."""
        if self._row_numbers and row_number <= len(self._row_numbers):
            return self._row_numbers[row_number - 1]
        return row_number + 1  # a plain Dataset: the header is row 1, data follows

    def before_import(self, dataset, **kwargs):
        self.prepare(dataset)
        self._row_numbers = getattr(dataset, "row_numbers", None)
        self._rows_by_key = {}
        self._rows_by_pk = {}

    def row_key(self, row):
        return tuple(map(cell_text, map(row.get, self.key_columns)))

    def _repeated_key(self, earlier_row, row):
        shown = ", ".join(f"{column} {cell_text(row.get(column))!r}" for column in self.key_columns if row.get(column))
        noun = self._meta.model._meta.verbose_name
        raise ValidationError(
            {
                ", ".join(self.key_columns): (
                    f"The same {noun} as row {earlier_row} ({shown}); each {noun} may appear only once in a file."
                )
            }
        )

    def before_import_row(self, row, row_number=None, **kwargs):
        if self.on_row is not None:
            self.on_row()
        key = self.row_key(row)
        if any(key):
            earlier = self._rows_by_key.setdefault(key, self.sheet_row(row_number))
            if earlier != self.sheet_row(row_number):
                self._repeated_key(earlier, row)

    def after_init_instance(self, instance, new, row, row_number=None, **kwargs):
        # Different spellings of one key (a time with another offset) find the same object.
        if not new and instance.pk in self._rows_by_pk:
            self._repeated_key(self._rows_by_pk[instance.pk], row)

    def after_import_row(self, row, row_result, row_number=None, **kwargs):
        if row_result.object_id is not None:
            self._rows_by_pk.setdefault(row_result.object_id, self.sheet_row(row_number))

    # Finding and filling instances.

    def row_zone(self, row):
        """(IANA zone, None) for naive times of this row, or (None, why there is none)."""
        return None, "there is no site time zone for this row"

    def instance_zone(self, instance):
        """The zone this object's times are exported in; None for UTC."""
        return None

    def _clean_kwargs(self, row):
        return {"site_zone": lambda: self.row_zone(row)}

    def lookup(self, row):
        """The natural key of the row as model lookups, or None when a key cell does not resolve."""
        lookup = {}
        for name in self.get_import_id_fields():
            field = self.fields[name]
            try:
                value = field.clean(row, **self._clean_kwargs(row))
            except (ValueError, ValidationError):
                return None  # import_instance reports the cell
            if value in (None, ""):
                return None
            lookup[field.attribute] = value
        return lookup

    def get_instance(self, instance_loader, row):
        lookup = self.lookup(row)
        if lookup is None:
            return None
        return self._meta.model._default_manager.filter(**lookup).first()

    def import_instance(self, instance, row, **kwargs):
        """Set every column's value on the instance, collecting each cell's problem by column."""
        kwargs.update(self._clean_kwargs(row))
        errors = {}
        for field in self.get_import_fields():
            if field.column_name not in row:
                continue
            required = field.column_name in self.required_columns and field.column_name not in self.may_be_blank
            if required and is_blank(row[field.column_name]):
                errors[field.attribute] = ValidationError(REQUIRED)
                continue
            try:
                if isinstance(field.widget, widgets.ManyToManyWidget):
                    field.clean(row, **kwargs)  # checked now, linked after the save
                else:
                    self.import_field(field, instance, row, **kwargs)
            except ValueError as exc:
                errors[field.attribute] = ValidationError(str(exc))
        if errors:
            raise ValidationError(errors)

    def get_queryset(self):
        return self.filter_export(self._meta.model._default_manager.all())

    def filter_export(self, queryset, **kwargs):
        # What the columns read, in a few queries whatever the number of rows.
        return queryset.select_related(*self.export_related).prefetch_related(*self.export_prefetch)

    def after_import(self, dataset, result, **kwargs):
        # ModelResource resets the table's id sequence here, for files that carry ids. Ours
        # never do, and the reset could set the sequence back under a concurrent insert.
        pass

    def export_resource(self, instance, selected_fields=None, **kwargs):
        row = super().export_resource(instance, selected_fields, **kwargs)
        if self.on_row is not None:
            self.on_row()
        return row

    def after_export(self, queryset, dataset, **kwargs):
        dataset.title = self.resource_name  # the sheet's name in a workbook

    def export_field(self, field, instance, **kwargs):
        if isinstance(field.widget, SiteTimeWidget):
            kwargs["site_zone"] = self.instance_zone(instance)
        return super().export_field(field, instance, **kwargs)

    # Problems.

    def problems(self, result):
        """Every problem of an import result, by spreadsheet row and column."""
        problems = []
        for error in result.base_errors:
            if isinstance(error.error, SpreadsheetError):
                problems += error.error.problems
            else:
                problems.append(Problem(None, None, f"The import stopped: {error.error}"))
        for invalid in result.invalid_rows:
            row = self.sheet_row(invalid.number)
            for key, messages in invalid.error_dict.items():
                problems += [Problem(row, self.column_of(key), message) for message in messages]
        for error_row in result.error_rows:
            row = self.sheet_row(error_row.number)
            problems += [Problem(row, None, f"The database refused this row: {err.error}") for err in error_row.errors]
        return sorted(problems, key=lambda problem: problem.row or 0)


def related(attribute, column, widget, **kwargs):
    """A column holding a related object's natural key."""
    return Field(attribute=attribute, column_name=column, widget=widget, **kwargs)


def shown(attribute, column):
    """A column that is exported for reading and for the key, but not imported into the object."""
    return Field(attribute=attribute, column_name=column, widget=TextWidget(), readonly=True)
