"""`manage.py import_observations`: files in, readings and import records out, problems on stderr."""

import io

import pytest
from django.core.management import CommandError, call_command

from portfolio.console import ConsoleProgress
from portfolio.ingest import Progress
from portfolio.models import ImportRecord, Observation
from tests.factories import PortfolioFactory
from tests.ingest.files import csv_text, raptor_row, write_file

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_observations", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def portfolio():
    return PortfolioFactory(slug="main")


def test_imports_files_and_records_each(tmp_path, portfolio):
    first = write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "1")]), name="a.csv")
    second = write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:15:00", "2")]), name="b.csv")

    out, err = run(str(first), str(second), "--portfolio", "main")

    assert (
        "a.csv: 1 row (Raptor Maps CSV): 1 new, 0 updated, 0 unchanged; created 1 farm, 1 piece of equipment, 1 sensor."
        in out
    )
    assert "b.csv: 1 row (Raptor Maps CSV): 1 new, 0 updated, 0 unchanged." in out
    assert Observation.objects.count() == 2
    records = list(ImportRecord.objects.order_by("id"))
    assert [(r.file_name, r.status, r.source, r.rows_new) for r in records] == [
        ("a.csv", "imported", "command", 1),
        ("b.csv", "imported", "command", 1),
    ]
    assert records[0].sha256 and records[0].file_size == first.stat().st_size
    assert records[0].options == {"portfolio": "main", "time_basis": "local", "skip_invalid": False}
    # Not a terminal: plain progress lines, not a redrawn bar.
    assert "a.csv: done (1 rows read in" in err and "\r" not in err


def test_a_refused_file_is_listed_and_the_command_fails_after_the_others(tmp_path, portfolio):
    bad = write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "NaN")]), name="bad.csv")
    good = write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:15:00", "2")]), name="good.csv")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"1 of 2 files was refused \(nothing from it was imported\): bad.csv"):
        call_command("import_observations", str(bad), str(good), stdout=out, stderr=err)
    assert "bad.csv: refused, nothing imported. line 2, measured_value: 'NaN' is not a finite number" in err.getvalue()
    assert Observation.objects.count() == 1
    refused = ImportRecord.objects.get(file_name="bad.csv")
    assert (refused.status, refused.rows_invalid) == ("refused", 1)
    assert refused.problems == [{"line": 2, "column": "measured_value", "message": "'NaN' is not a finite number"}]


def test_a_single_refused_file_says_so_in_one_sentence(tmp_path, portfolio):
    bad = write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "NaN")]), name="bad.csv")
    with pytest.raises(CommandError) as caught:
        call_command("import_observations", str(bad), stdout=io.StringIO(), stderr=io.StringIO())
    assert str(caught.value) == "bad.csv was refused; nothing was imported from it."


def test_skip_invalid_reports_the_errors_file(tmp_path, portfolio):
    path = write_file(
        tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "1"), raptor_row("2024-06-01 00:15:00", "x")])
    )
    out, _ = run(str(path), "--skip-invalid")
    assert "1 invalid skipped (listed in the errors file)" in out
    assert f"rejected rows and reasons written to {tmp_path / 'readings.errors.csv'}" in out
    record = ImportRecord.objects.get()
    assert (record.rows_new, record.rows_skipped) == (1, 1)
    assert record.errors_file.read().decode().startswith("line,column,error,farm_id")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv"], "No such file: missing.csv"),
        (["{file}", "--portfolio", "nope"], "No portfolio with slug 'nope' (known: main)."),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_read(tmp_path, portfolio, args, message):
    path = write_file(tmp_path, csv_text([raptor_row("2024-06-01 00:00:00", "1")]))
    with pytest.raises(CommandError) as caught:
        run(*(arg.format(file=path) for arg in args))
    assert str(caught.value) == message
    assert not ImportRecord.objects.exists()


def test_progress_on_a_terminal_is_one_redrawn_line():
    stream = io.StringIO()
    progress = ConsoleProgress(stream, "big.csv", is_terminal=True)
    progress(Progress("reading", 500, 50, 100))
    progress(Progress("reading", 1000, 100, 100))
    progress.close()
    text = stream.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "big.csv [############------------]  50%  500 rows" in text
    assert "rows/s  ETA" in text
