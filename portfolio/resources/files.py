"""Spreadsheet files in and out: CSV and XLSX, read strictly and written safely.

Reading turns the bytes of an upload into a ``Sheet``: a tablib Dataset that also knows
each row's number as a spreadsheet program shows it (the header is row 1). The format is
found from the content, not the file name. Anything that is not a usable table is refused
with a ``SpreadsheetError`` naming the row and column.

Writing escapes formulae: a text cell starting with = + - @ (or tab or CR) could run as a
formula when the file is opened. In CSV such a cell gets a leading apostrophe, which
reading strips again (exactly one, from every cell, so a value that itself starts with an
apostrophe is written with two); numbers, and text that is a plain number such as "-5.2",
are never escaped. In XLSX such a cell is written as a text cell, which spreadsheet
programs never evaluate. Every CSV the application writes for people goes through
``escape_text`` or ``escape_formula`` (the readings errors files).
"""

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime

import openpyxl
import tablib
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from portfolio.resources.problems import Problem, SpreadsheetError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A number written as text ("-5.2", "+1e3"): a spreadsheet reads it as the number, never a formula.
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
CSV_ESCAPE = "'"
ZIP_SIGNATURE = b"PK\x03\x04"
MAX_SHAPE_PROBLEMS = 20
# Other files people upload by mistake, by their first bytes.
KNOWN_BINARIES = {
    b"\xd0\xcf\x11\xe0": "an Excel 97-2003 workbook (.xls); save it as .xlsx or CSV",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
}
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class ExportedDate(str):
    """A date as exported: YYYY-MM-DD text (CSV, previews), and a date cell in XLSX."""

    def __new__(cls, value):
        exported = super().__new__(cls, value.isoformat())
        exported.date = value
        return exported


class ExportedTime(str):
    """A time as exported: ISO 8601 text with its offset in ``zone`` (UTC when None); in XLSX a date cell
    of the local time in ``zone`` when there is one (the importer reads a time without an offset in it)."""

    def __new__(cls, moment, zone):
        local = moment.astimezone(zone or UTC)
        exported = super().__new__(cls, local.isoformat())
        exported.local, exported.zone = local, zone
        return exported


class Sheet(tablib.Dataset):
    """A Dataset read from a file; ``row_numbers[i]`` is the spreadsheet row of data row i."""

    def __init__(self, *args, row_numbers=(), file_format="", **kwargs):
        super().__init__(*args, **kwargs)
        self.row_numbers = list(row_numbers)
        self.file_format = file_format


def read_sheet(data, sheet_name=None):
    """The table in ``data`` (the bytes of a CSV or XLSX file) as a Sheet."""
    if not data.strip():
        raise SpreadsheetError.about_file("The file is empty.")
    if data.startswith(ZIP_SIGNATURE):
        return read_xlsx(data, sheet_name)
    for signature, what in KNOWN_BINARIES.items():
        if data.startswith(signature):
            raise SpreadsheetError.about_file(f"This file is not a spreadsheet: it is {what}. Upload CSV or XLSX.")
    return read_csv(decode(data))


def decode(data):
    """CSV text: UTF-8 (with or without a BOM), UTF-16 with a BOM, or Windows-1252/Latin-1 as Excel saves it."""
    encodings = ["utf-16"] if data.startswith(UTF16_BOMS) else ["utf-8-sig", "cp1252"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if CONTROL_CHARACTERS.search(text):
            break
        return text
    raise SpreadsheetError.about_file(
        "This file is not a spreadsheet: it is neither an XLSX workbook nor CSV text. Upload CSV or XLSX."
    )


def _delimiter(text):
    """Comma, semicolon (Excel in many European locales) or tab, whichever the header row uses most."""
    header = text.lstrip("\r\n").split("\n", 1)[0]
    return max([",", ";", "\t"], key=header.count)


def _unescape(cell):
    return cell[1:] if cell.startswith(CSV_ESCAPE) else cell


def read_csv(text):
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    records = []
    escaped = CSV_ESCAPE in text  # most files have no escaped cell: skip looking at each one
    try:
        for record in reader:
            records.append([_unescape(cell) for cell in record] if escaped else record)
    except csv.Error as exc:
        row = len(records) + 1
        if "end of data" in str(exc) or "unexpected end" in str(exc):
            message = "The file ends inside a quoted cell (a quote is not closed); it may be cut short."
        else:
            message = f"This row cannot be read as CSV ({exc})."
        raise SpreadsheetError(Problem(row, None, message)) from None
    return _sheet([(number, record) for number, record in enumerate(records, start=1)], "CSV")


def read_xlsx(data, sheet_name=None):
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise SpreadsheetError.about_file(
            "This file is not a spreadsheet: it is a ZIP archive but not an XLSX workbook. Upload CSV or XLSX."
        ) from None
    try:
        if sheet_name is None:
            sheet = book.worksheets[0]
        elif sheet_name in book.sheetnames:
            sheet = book[sheet_name]
        else:
            return None
        # Some programs write a wrong size into the file; read every row there is.
        sheet.reset_dimensions()
        rows = [(number, list(cells)) for number, cells in enumerate(sheet.iter_rows(min_row=1), start=1)]
    finally:
        book.close()
    header_cells = next((cells for _number, cells in rows if any(_cell_value(cell) != "" for cell in cells)), [])
    headers = [str(_cell_value(cell)).strip() for cell in header_cells]
    problems = []
    records = []
    for number, cells in rows:
        record = []
        for index, cell in enumerate(cells):
            kind, value = cell.data_type, cell.value
            if kind == "f" or kind == "e":
                column = headers[index] if index < len(headers) and headers[index] else get_column_letter(index + 1)
                if kind == "f":
                    message = f"Formulas are not imported; enter the value (found {value})."
                else:
                    message = f"The cell holds the error {value}; enter a value."
                problems.append(Problem(number, column, message))
            record.append("" if value is None else value)
        records.append((number, record))
    if problems:
        raise SpreadsheetError(problems)
    return _sheet(records, "XLSX")


def _cell_value(cell):
    value = getattr(cell, "value", None)
    return "" if value is None else value


def _is_blank_record(record):
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in record)


def _sheet(records, file_format):
    """Header and data rows, blank rows left out; refuse rows that do not fit the header."""
    records = [(number, record) for number, record in records if not _is_blank_record(record)]
    if not records:
        raise SpreadsheetError.about_file("The file is empty.")
    (header_number, header), data = records[0], records[1:]
    headers = [str(cell).strip() for cell in header]
    while headers and not headers[-1]:
        headers.pop()  # empty cells after the last heading
    nameless = [index for index, name in enumerate(headers, start=1) if not name]
    if nameless:
        columns = ", ".join(get_column_letter(index) for index in nameless)
        raise SpreadsheetError(Problem(header_number, None, f"Column {columns} has no heading."))
    width = len(headers)
    problems = []
    rows = []
    for position, (number, record) in enumerate(data):
        extra = record[width:]
        if any(not (cell is None or (isinstance(cell, str) and not cell.strip())) for cell in extra):
            problems.append(Problem(number, None, f"This row has {len(record)} cells, but the header has {width}."))
            continue
        record = list(record[:width])
        if len(record) < width:
            if file_format == "XLSX":
                record += [""] * (width - len(record))  # XLSX leaves out empty cells at a row's end
            else:
                last = position == len(data) - 1
                hint = "; the file looks cut short" if last else ""
                problems.append(Problem(number, None, f"This row has {len(record)} of the {width} columns{hint}."))
                continue
        rows.append((number, record))
    if problems:
        raise SpreadsheetError(problems[:MAX_SHAPE_PROBLEMS])
    sheet = Sheet(
        *[record for _number, record in rows],
        headers=headers,
        row_numbers=[number for number, _record in rows],
        file_format=file_format,
    )
    sheet.header_row = header_number
    return sheet


def is_formula_like(cell):
    """Text a spreadsheet program could run as a formula (OWASP CSV injection), other than a plain number."""
    return isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(cell)


def escape_formula(cell):
    """A CSV cell that no spreadsheet program will run: formula-like text gets a leading apostrophe.

    For files people open and do not import again (errors files); text such as '-5.2' stays a number.
    """
    return CSV_ESCAPE + cell if is_formula_like(cell) else cell


def escape_text(cell):
    """``escape_formula``, and an apostrophe in front of one already there, so that ``read_csv``
    (which strips one from every cell) reads back exactly what was written."""
    if is_formula_like(cell) or (isinstance(cell, str) and cell.startswith(CSV_ESCAPE)):
        return CSV_ESCAPE + cell
    return cell


def _csv_cell(cell):
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        return repr(cell)
    return escape_text(cell)


def csv_text(dataset):
    """CSV as Excel reads it: UTF-8 with a BOM, CRLF line ends, formulae escaped."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(dataset.headers)
    for row in dataset:
        writer.writerow([_csv_cell(cell) for cell in row])
    return out.getvalue()


def xlsx_bytes(sheets):
    """An XLSX workbook of (title, dataset) sheets; text is always a text cell, never a formula."""
    book = openpyxl.Workbook(write_only=True)
    bold = Font(bold=True)
    for title, dataset in sheets:
        sheet = book.create_sheet(title=title[:31])
        for index, header in enumerate(dataset.headers, start=1):
            sample = [len(str(row[index - 1])) for row in dataset[:200]] if len(dataset) else []
            width = max([len(header), *sample]) + 2
            sheet.column_dimensions[get_column_letter(index)].width = min(width, 60)
        sheet.freeze_panes = "A2"
        notes = _zone_notes(dataset)
        sheet.append(
            [
                _xlsx_cell(sheet, header, font=bold, note=notes.get(index))
                for index, header in enumerate(dataset.headers)
            ]
        )
        for row in dataset:
            sheet.append([_xlsx_cell(sheet, cell) for cell in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zone_notes(dataset):
    """Column index → what the header says of the column's times: in which zone they are."""
    notes = {}
    for index in range(len(dataset.headers or ())):
        zones = {cell.zone.key for cell in dataset.get_col(index) if isinstance(cell, ExportedTime) and cell.zone}
        if zones:
            where = f"in {zones.pop()}" if len(zones) == 1 else "in each row's site time zone"
            notes[index] = f"Local times {where}, as Excel dates (without a UTC offset); UTC where a row has no site."
    return notes


def _xlsx_cell(sheet, value, font=None, note=None):
    if value is None or value == "":
        return None
    if isinstance(value, ExportedTime) and value.zone is not None:
        return _date_cell(sheet, value.local.replace(tzinfo=None), "yyyy-mm-dd hh:mm:ss")
    if isinstance(value, ExportedDate):
        return _date_cell(sheet, value.date, "yyyy-mm-dd")
    if isinstance(value, datetime | date):
        value = value.isoformat()
    cell = WriteOnlyCell(sheet, value=value)
    if note:
        cell.comment = Comment(note, "Solar portfolio")
    if isinstance(value, str):
        # openpyxl makes any text starting with "=" a formula; this keeps it text, and
        # the quote prefix keeps it text when someone edits the cell in Excel.
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    elif isinstance(value, float) and f"{value:.16g}" != repr(value):
        # openpyxl writes numbers with 16 significant digits, and some doubles need 17: the cell
        # keeps its number type but gets Python's shortest exact text, so a round trip is exact.
        cell._value = repr(value)
    if font is not None:
        cell.font = font
    return cell


def _date_cell(sheet, value, number_format):
    """A real Excel date cell, shown ISO style."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = number_format
    return cell
