"""Spreadsheets are bounded before they are read: zip bombs, oversized workbooks and row counts.

The bombs are real XLSX files (a sheet of repeated rows deflated to a few hundred kilobytes);
each would be inflated and parsed whole without the checks in portfolio/resources/bounds.py.
"""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portfolio.models import Farm, ImportRecord, SpreadsheetPreview
from portfolio.resources import RESOURCES, bounds
from portfolio.resources.files import read_sheet
from portfolio.resources.importing import Upload, import_spreadsheet
from portfolio.resources.problems import SpreadsheetError
from tests.factories import PortfolioFactory
from tests.portfolio.spreadsheet_files import (
    SHEET,
    farms_csv,
    farms_xlsx,
    many_entries_zip,
    zip_bomb_xlsx,
)

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def big_bomb():
    """120 MiB of sheet XML in a few hundred KB: over the 50 MiB default of what a workbook may unpack to."""
    return zip_bomb_xlsx(120 * MiB)


@pytest.fixture(scope="module")
def small_bomb():
    """24 MiB of sheet XML: under the size limit, but compressed far beyond any spreadsheet program."""
    return zip_bomb_xlsx(24 * MiB)


def sizes(data):
    entry = zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET)
    return entry.compress_size, entry.file_size


def refusal(data, name="farms.xlsx"):
    outcome = import_spreadsheet(
        RESOURCES["farms"](), Upload.from_bytes(name, data), source=ImportRecord.Source.COMMAND, dry_run=True
    )
    assert not outcome.ok
    return [str(problem) for problem in outcome.problems]


# --- the archive, from its central directory --------------------------------------------------


@pytest.mark.django_db
def test_a_zip_bomb_is_refused_by_what_it_unpacks_to_naming_the_limit_and_its_setting(big_bomb):
    packed, unpacked = sizes(big_bomb)
    assert packed < 1 * MiB and unpacked > 50 * MiB, "a real bomb: a few hundred KB that unpack past the limit"
    [problem] = refusal(big_bomb)
    total = sum(entry.file_size for entry in zipfile.ZipFile(io.BytesIO(big_bomb)).infolist())
    assert problem.startswith(f"The workbook expands to {total / MiB:.1f} MB ({total:,} bytes) when unpacked; ")
    assert "the limit is 50.0 MB (52,428,800 bytes) (setting SPREADSHEET_MAX_UNCOMPRESSED_BYTES)" in problem
    record = ImportRecord.objects.get()
    assert (record.status, record.rows_read) == ("refused", 0)
    assert not Farm.objects.exists()


@pytest.mark.django_db
def test_a_bomb_under_the_size_limit_is_refused_by_its_compression_ratio(small_bomb):
    packed, unpacked = sizes(small_bomb)
    assert unpacked < 50 * MiB and unpacked / packed > 100
    [problem] = refusal(small_bomb)
    assert problem.startswith(f"The workbook's part {SHEET} is compressed ")
    assert "the limit is 100 to 1 (setting SPREADSHEET_MAX_COMPRESSION_RATIO)" in problem
    assert "zip bomb" in problem


@pytest.mark.django_db
def test_the_limits_are_settings(settings, small_bomb):
    settings.SPREADSHEET_MAX_COMPRESSION_RATIO = 10_000
    settings.SPREADSHEET_MAX_UNCOMPRESSED_BYTES = 10 * MiB
    [problem] = refusal(small_bomb)
    assert "the limit is 10.0 MB (10,485,760 bytes) (setting SPREADSHEET_MAX_UNCOMPRESSED_BYTES)" in problem


@pytest.mark.django_db
def test_a_workbook_of_too_many_parts_is_refused(settings):
    settings.SPREADSHEET_MAX_ZIP_ENTRIES = 50
    data = many_entries_zip(60)
    with pytest.raises(SpreadsheetError) as refused:
        bounds.check_archive(data)
    entries = len(zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert str(refused.value) == (
        f"The workbook holds {entries:,} files; the limit is 50 (setting SPREADSHEET_MAX_ZIP_ENTRIES). "
        "This is not a workbook a spreadsheet program saves."
    )


def test_honest_workbooks_and_csv_pass_the_archive_check():
    bounds.check_archive(farms_xlsx(5000))  # about 10 to 1, as spreadsheet programs compress
    bounds.check_archive(farms_csv(5000))  # not a ZIP: nothing to check


def test_a_damaged_zip_is_refused_as_not_a_workbook():
    data = farms_xlsx(10)
    with pytest.raises(SpreadsheetError, match="it is a ZIP archive but not an XLSX workbook"):
        bounds.check_archive(data[: len(data) // 2])


# --- counting rows without parsing ---------------------------------------------------------------


@pytest.mark.parametrize("make", [farms_csv, farms_xlsx])
def test_rows_are_counted_exactly_across_chunks_header_included(make):
    data = make(5000)  # the XLSX sheet is 1.6 MB: several chunks
    assert bounds.count_rows(data) == 5001
    assert bounds.rows_above(data, 4999) and not bounds.rows_above(data, 5000)


@pytest.mark.parametrize("make", [farms_csv, farms_xlsx])
def test_counting_stops_past_the_limit(make):
    data = make(30_000)  # several chunks of CSV, and of sheet XML
    assert 100 < bounds.count_rows(data, stop_after=100) < 30_001


def test_row_elements_are_counted_with_a_prefix_and_not_confused_with_similar_names():
    sheet = (
        b'<x:worksheet xmlns:x="urn:s"><x:sheetData><x:row r="1"/><x:row r="2"><x:c/></x:row>'
        b"<row>a</row></x:sheetData><rowBreaks count='1'/><rows/><arrow/></x:worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(SHEET, sheet)
    assert bounds.count_rows(out.getvalue()) == 3


def test_rows_of_a_sheet_kept_under_another_name_are_counted():
    # The workbook's relations may point anywhere; a count of xl/worksheets/ alone would miss it.
    honest = zipfile.ZipFile(io.BytesIO(farms_xlsx(300)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as moved:
        for entry in honest.infolist():
            name = "custom/data.bin" if entry.filename == SHEET else entry.filename
            content = honest.read(entry.filename).replace(b"/xl/worksheets/sheet1.xml", b"/custom/data.bin")
            moved.writestr(name, content)
    assert len(read_sheet(out.getvalue())) == 300, "openpyxl finds the sheet there"
    assert bounds.count_rows(out.getvalue()) == 301


def test_a_csv_without_a_last_line_end_counts_its_last_line():
    assert bounds.count_rows(b"a,b\n1,2") == 2


def test_a_csv_with_carriage_returns_alone_is_counted_by_them():
    assert bounds.count_rows(farms_csv(3000).replace(b"\r\n", b"\r")) == 3001


# --- in the admin ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_refuses_a_bomb_at_the_preview_keeps_nothing_and_queues_nothing(
    admin_client, big_bomb, queued_tasks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    response = admin_client.post(
        reverse("admin:portfolio_farm_import"), {"import_file": SimpleUploadedFile("farms.xlsx", big_bomb)}
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "setting SPREADSHEET_MAX_UNCOMPRESSED_BYTES" in text
    assert "Confirm import" not in text
    assert ImportRecord.objects.get().status == "refused"
    assert not SpreadsheetPreview.objects.exists()
    assert queued_tasks() == {}
    assert not settings.MEDIA_ROOT.exists() or not any(path.is_file() for path in settings.MEDIA_ROOT.rglob("*"))


@pytest.mark.django_db
def test_an_honest_large_workbook_is_not_refused_but_goes_to_a_worker(admin_client, queued_tasks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    PortfolioFactory(slug="sunbelt")
    data = farms_xlsx(settings.SPREADSHEET_INTERACTIVE_MAX_ROWS + 1)
    response = admin_client.post(
        reverse("admin:portfolio_farm_import"), {"import_file": SimpleUploadedFile("farms.xlsx", data)}
    )
    record = ImportRecord.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:portfolio_importrecord_change", args=[record.pk])
    assert (record.status, record.kind, record.target) == ("queued", "spreadsheet", "farms")
    assert record.file_size == len(data)
    assert [task["args"] for task in queued_tasks().values()] == [(record.pk,)]
    assert not Farm.objects.exists()
