"""Spreadsheet files for the bounds tests: honest workbooks and zip bombs, built for real."""

import io
import zipfile

import tablib

from portfolio.resources.files import xlsx_bytes

SHEET = "xl/worksheets/sheet1.xml"
FARM_HEADERS = ["farm_id", "portfolio", "name", "timezone"]
SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_END = b"</sheetData></worksheet>"
BOMB_ROW = b'<row><c t="inlineStr"><is><t>F1</t></is></c><c t="inlineStr"><is><t>sunbelt</t></is></c></row>'


def farms_csv(rows, portfolio="sunbelt"):
    lines = [",".join(FARM_HEADERS)] + [f"F{n:06d},{portfolio},Farm {n},America/Denver" for n in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode()


def farms_xlsx(rows, portfolio="sunbelt"):
    """An honest workbook as the export writes it: one sheet of ``rows`` farms."""
    dataset = tablib.Dataset(headers=FARM_HEADERS)
    for n in range(rows):
        dataset.append([f"F{n:06d}", portfolio, f"Farm {n}", "America/Denver"])
    return xlsx_bytes([("farms", dataset)])


def zip_bomb_xlsx(uncompressed_bytes):
    """A real XLSX whose first sheet is ``uncompressed_bytes`` of repeated rows, deflated at level 9.

    The other parts come from an honest workbook, so only the sizes give it away. The sheet
    is written a megabyte at a time: building it never holds the whole sheet in memory.
    """
    honest = zipfile.ZipFile(io.BytesIO(farms_xlsx(1)))
    out = io.BytesIO()
    block = BOMB_ROW * (1024 * 1024 // len(BOMB_ROW))
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for entry in honest.infolist():
            if entry.filename != SHEET:
                bomb.writestr(entry.filename, honest.read(entry.filename))
        with bomb.open(SHEET, "w", force_zip64=uncompressed_bytes > 2**31) as sheet:
            sheet.write(SHEET_START)
            written = len(SHEET_START)
            while written < uncompressed_bytes:
                sheet.write(block)
                written += len(block)
            sheet.write(SHEET_END)
    return out.getvalue()


def many_entries_zip(entries):
    out = io.BytesIO()
    honest = zipfile.ZipFile(io.BytesIO(farms_xlsx(1)))
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in honest.infolist():
            archive.writestr(entry.filename, honest.read(entry.filename))
        for number in range(entries):
            archive.writestr(f"xl/media/extra{number}.bin", b"x")
    return out.getvalue()
