"""Spreadsheet files are bounded before they are read: a workbook cannot expand into gigabytes.

An XLSX file is a ZIP archive. Its central directory (the index at the end of the file)
gives every entry's compressed and uncompressed size without inflating anything, so a
"zip bomb" (a few hundred kilobytes that inflate to gigabytes of sheet XML) is refused in
milliseconds. The declared sizes are a true upper bound: Python's ``zipfile`` (which
openpyxl reads through) never yields more bytes than an entry declares, and a lying entry
fails its CRC check instead.

Rows are counted without parsing: CSV line ends in one streamed pass, XLSX ``<row``
elements inflated a chunk at a time. Counting stops at the limit the caller asks about, so a
large file costs no more than a small one. Both counts are upper bounds: a quoted CSV cell
may span lines, and every part of a workbook is scanned (a workbook may keep its sheets
under any name; what openpyxl reads is among them).

Limits and their settings (README, docs/security.md):

- ``SPREADSHEET_UPLOAD_MAX_BYTES``: the file itself;
- ``SPREADSHEET_MAX_UNCOMPRESSED_BYTES``: all entries of an XLSX together, inflated;
- ``SPREADSHEET_MAX_COMPRESSION_RATIO``: uncompressed / compressed size of any entry
  above ``RATIO_CHECKED_FROM`` bytes, and of the archive as a whole;
- ``SPREADSHEET_MAX_ZIP_ENTRIES``: entries in an XLSX;
- ``SPREADSHEET_INTERACTIVE_MAX_ROWS``: above it, the admin imports in a worker.
"""

import io
import re
import zipfile

from django.conf import settings
from django.template.defaultfilters import filesizeformat

from portfolio.resources.problems import SpreadsheetError

__all__ = ["check_archive", "check_size", "count_rows", "is_zip", "rows_above"]

ZIP_SIGNATURE = b"PK\x03\x04"
# Small entries (styles, a short sheet) may compress very well without being a danger.
RATIO_CHECKED_FROM = 1024 * 1024
# Inflate and scan sheet XML this much at a time: memory stays flat whatever the sheet.
CHUNK_SIZE = 256 * 1024
# A row element, with or without a namespace prefix (<row r="2">, <x:row>, <row/>);
# not <rowBreaks> or <rows>.
ROW_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
# Long enough to hold a split "<prefix:row " across two chunks.
OVERLAP = 64


def _size(size):
    human = filesizeformat(size).replace("\xa0", " ")
    return human if size < 1024 else f"{human} ({size:,} bytes)"


def is_zip(data):
    return data[:4] == ZIP_SIGNATURE


def check_size(size):
    """Refuse a file larger than ``SPREADSHEET_UPLOAD_MAX_BYTES``."""
    limit = settings.SPREADSHEET_UPLOAD_MAX_BYTES
    if size > limit:
        raise SpreadsheetError.about_file(
            f"The file is {_size(size)}; the limit is {_size(limit)} (setting SPREADSHEET_UPLOAD_MAX_BYTES). "
            "Split it into smaller files."
        )


def _open_zip(data):
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise SpreadsheetError.about_file(
            "This file is not a spreadsheet: it is a ZIP archive but not an XLSX workbook. Upload CSV or XLSX."
        ) from None


def check_archive(data):
    """Refuse an XLSX whose entries are too many, too large or too compressed, from the central directory alone.

    Nothing is inflated. ``data`` is the whole file (bytes); a file that is not a ZIP passes.
    """
    if not is_zip(data):
        return
    with _open_zip(data) as archive:
        entries = archive.infolist()
    most = settings.SPREADSHEET_MAX_ZIP_ENTRIES
    if len(entries) > most:
        raise SpreadsheetError.about_file(
            f"The workbook holds {len(entries):,} files; the limit is {most:,} (setting SPREADSHEET_MAX_ZIP_ENTRIES). "
            "This is not a workbook a spreadsheet program saves."
        )
    total = sum(entry.file_size for entry in entries)
    limit = settings.SPREADSHEET_MAX_UNCOMPRESSED_BYTES
    if total > limit:
        raise SpreadsheetError.about_file(
            f"The workbook expands to {_size(total)} when unpacked; the limit is {_size(limit)} "
            "(setting SPREADSHEET_MAX_UNCOMPRESSED_BYTES). Split it into smaller files."
        )
    ratio_limit = settings.SPREADSHEET_MAX_COMPRESSION_RATIO
    packed = sum(entry.compress_size for entry in entries)
    suspects = [entry for entry in entries if entry.file_size >= RATIO_CHECKED_FROM]
    if total >= RATIO_CHECKED_FROM:
        suspects.append(zipfile.ZipInfo("the workbook as a whole"))
        suspects[-1].file_size, suspects[-1].compress_size = total, packed
    for entry in suspects:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if ratio > ratio_limit:
            raise SpreadsheetError.about_file(
                f"The workbook's part {entry.filename} is compressed {ratio:,.0f} to 1 ({_size(entry.compress_size)} "
                f"expanding to {_size(entry.file_size)}); the limit is {ratio_limit:,} to 1 "
                "(setting SPREADSHEET_MAX_COMPRESSION_RATIO). Spreadsheet programs never compress this much: "
                "the file is refused as a possible zip bomb."
            )


def _count_matches(chunks, pattern, stop_after):
    """Occurrences of ``pattern`` in a stream of byte chunks, up to ``stop_after`` + 1."""
    count = 0
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        # A match is counted once: only those that end past the carried-over tail. Most
        # chunks of other parts (strings, styles, images) hold no "row" at all.
        if b"row" in window:
            count += sum(1 for match in pattern.finditer(window) if match.end() > len(tail))
        if stop_after is not None and count > stop_after:
            return count
        tail = window[-OVERLAP:]
    return count


def _chunks(stream):
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


def _xlsx_rows(data, stop_after):
    count = 0
    with _open_zip(data) as archive:
        for entry in archive.infolist():
            left = None if stop_after is None else stop_after - count
            try:
                with archive.open(entry) as stream:
                    count += _count_matches(_chunks(stream), ROW_ELEMENT, left)
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, RuntimeError):
                raise SpreadsheetError.about_file(
                    f"The workbook's part {entry.filename} cannot be unpacked; the file is damaged."
                ) from None
            if stop_after is not None and count > stop_after:
                break
    return count


def _csv_lines(data, stop_after):
    # LF and CRLF files end lines with "\n", old Mac files with "\r" alone: the larger count.
    feeds = returns = 0
    for start in range(0, len(data), CHUNK_SIZE):
        feeds += data.count(b"\n", start, start + CHUNK_SIZE)
        returns += data.count(b"\r", start, start + CHUNK_SIZE)
        if stop_after is not None and max(feeds, returns) > stop_after:
            return max(feeds, returns)
    count = max(feeds, returns)
    if data and not data.endswith((b"\n", b"\r")):
        count += 1  # a last line without a line end
    return count


def count_rows(data, stop_after=None):
    """Rows in a CSV or XLSX file (the header among them), counted without parsing: an upper bound.

    Counting stops once it passes ``stop_after``. Call ``check_archive`` first: only the
    archive check bounds what an XLSX inflates to.
    """
    return _xlsx_rows(data, stop_after) if is_zip(data) else _csv_lines(data, stop_after)


def rows_above(data, limit):
    """True when the file has more than ``limit`` data rows (besides its header row)."""
    return count_rows(data, stop_after=limit + 1) > limit + 1
