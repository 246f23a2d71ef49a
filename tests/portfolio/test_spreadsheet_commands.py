"""export_spreadsheet and import_spreadsheet: the admin's rules and messages on the command line."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import openpyxl
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from portfolio.demo import load_demo_portfolio
from portfolio.models import Equipment, Farm, ImportRecord, Portfolio, Sensor
from portfolio.resources import RESOURCES
from tests.factories import PortfolioFactory
from tests.portfolio.test_resources import database

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    load_demo_portfolio(now=datetime(2026, 3, 8, 18, tzinfo=UTC), reading_span=timedelta(hours=2))


def run(*args):
    """Run a command without its progress lines (test_progress.py has those); return what it printed."""
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, verbosity=0)
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_then_import_of_every_resource_changes_nothing(demo, tmp_path, file_format):
    before = database()
    for name in RESOURCES:
        path = tmp_path / f"{name}.{file_format}"
        assert f"to {path}" in run("export_spreadsheet", name, "--output", str(path))
        printed = run("import_spreadsheet", name, str(path))
        assert printed.startswith(f"Imported {name}: 0 new, 0 updated, ")
    assert database() == before
    assert ImportRecord.objects.filter(source="command", status="imported").count() == len(RESOURCES)


def test_a_hand_made_file_imports_and_is_recorded_with_the_user(tmp_path):
    PortfolioFactory(slug="sunbelt")
    user = User.objects.create_user("ops")
    path = tmp_path / "farms.csv"
    path.write_text("farm_id,portfolio,name,timezone\nF1,sunbelt,Mesa,America/Denver\n")
    assert run("import_spreadsheet", "farms", str(path), "--user", "ops") == (
        "Imported farms: 1 new, 0 updated, 0 unchanged.\n"
    )
    assert Farm.objects.get().name == "Mesa"
    record = ImportRecord.objects.get()
    assert (record.user, record.source, record.file_name, record.status) == (user, "command", "farms.csv", "imported")


def test_a_dry_run_saves_nothing(tmp_path):
    PortfolioFactory(slug="sunbelt")
    path = tmp_path / "farms.csv"
    path.write_text("farm_id,portfolio,name,timezone\nF1,sunbelt,Mesa,America/Denver\n")
    printed = run("import_spreadsheet", "farms", str(path), "--dry-run")
    assert printed == "Ready to import farms: 1 new, 0 updated, 0 unchanged. (dry run: nothing was saved)\n"
    assert not Farm.objects.exists() and not ImportRecord.objects.exists()


def test_a_refused_file_exits_non_zero_with_its_problems(tmp_path):
    PortfolioFactory(slug="sunbelt")
    path = tmp_path / "farms.csv"
    path.write_text("farm_id,portfolio,name,timezone,dc_capacity_kw\nF1,sunbelt,Mesa,UTC,NaN\nF2,nowhere,Ridge,UTC,1\n")
    with pytest.raises(CommandError) as refused:
        run("import_spreadsheet", "farms", str(path))
    assert str(refused.value) == (
        "Nothing was imported: 2 of 2 rows are invalid.\n"
        "  row 2, dc_capacity_kw: 'NaN' is not a finite number; enter a number or leave the cell empty.\n"
        "  row 3, portfolio: There is no portfolio with the slug 'nowhere'."
    )
    assert not Farm.objects.exists()
    assert ImportRecord.objects.get().status == "refused"


def test_a_file_with_one_problem_says_it_once(tmp_path):
    path = tmp_path / "farms.csv"
    path.write_text("farm_id,name\nF1,Mesa\n")
    with pytest.raises(CommandError) as refused:
        run("import_spreadsheet", "farms", str(path))
    message = str(refused.value)
    assert message.startswith("Nothing was imported: row 1: Missing columns: portfolio, timezone.")
    assert message.count("Missing columns") == 1


def test_unknown_user_and_missing_file_are_refused(tmp_path):
    with pytest.raises(CommandError, match=r"There is no user 'ghost'\."):
        run("import_spreadsheet", "farms", str(tmp_path / "x.csv"), "--user", "ghost")
    with pytest.raises(CommandError, match=r"Cannot read .*x\.csv: No such file or directory\."):
        run("import_spreadsheet", "farms", str(tmp_path / "x.csv"))


def test_export_of_one_portfolio(demo, tmp_path):
    PortfolioFactory(slug="other", name="Other")
    path = tmp_path / "portfolios.csv"
    run("export_spreadsheet", "portfolios", "--portfolio", "sunbelt", "--output", str(path))
    assert path.read_text(encoding="utf-8-sig").splitlines() == ["slug,name", "sunbelt,Sunbelt Renewables"]
    with pytest.raises(CommandError, match=r"There is no portfolio with the slug 'nope'\."):
        run("export_spreadsheet", "farms", "--portfolio", "nope")


def test_a_whole_portfolio_workbook_round_trips_and_loads_an_empty_database(demo, tmp_path):
    path = tmp_path / "sunbelt.xlsx"
    run("export_spreadsheet", "portfolio", "--output", str(path))
    assert openpyxl.load_workbook(path).sheetnames == list(RESOURCES)
    before = database()
    assert run("import_spreadsheet", "portfolio", str(path)).startswith("Imported portfolio: 0 new, 0 updated, ")
    assert database() == before

    # Into an empty database: every sheet in dependency order, in one transaction.
    for model in (Sensor, Equipment):
        model.objects.all().delete()
    printed = run("import_spreadsheet", "portfolio", str(path))
    assert "Imported portfolio: 57 new," in printed
    assert Sensor.objects.count() == 42 and Portfolio.objects.count() == 1


def test_a_workbook_with_one_bad_sheet_imports_nothing(demo, tmp_path):
    path = tmp_path / "sunbelt.xlsx"
    run("export_spreadsheet", "portfolio", "--output", str(path))
    book = openpyxl.load_workbook(path)
    book["equipment"]["D2"] = "transformer"
    book["farms"]["C2"] = "Renamed farm"
    book.save(path)
    before = database()
    with pytest.raises(CommandError) as refused:
        run("import_spreadsheet", "portfolio", str(path))
    assert "  sheet equipment, row 2, equipment_type: 'transformer' is not an equipment type;" in str(refused.value)
    assert database() == before


class Terminal(StringIO):
    """What a command sees when its stderr is a terminal."""

    def isatty(self):
        return True


def progress_of(*args, stderr=None):
    """A command's progress, as its stderr shows it (the results go to stdout)."""
    err = stderr or StringIO()
    call_command(*args, stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_a_workbook_export_then_import_show_their_rows_in_a_pipe(demo, tmp_path):
    path = tmp_path / "sunbelt.xlsx"
    rows = sum(RESOURCES[name]().get_queryset().count() for name in RESOURCES)
    lines = progress_of("export_spreadsheet", "portfolio", "--output", str(path)).splitlines()
    assert lines[0].startswith(f"sunbelt.xlsx: exporting rows:   0%  0 of {rows} rows")
    assert f"sunbelt.xlsx: exporting rows: 100%  {rows} of {rows} rows" in "\n".join(lines)
    assert lines[-1] == f"Wrote {rows} rows to {path}."
    assert any(line.startswith(f"sunbelt.xlsx: done ({rows} rows, ") for line in lines)

    lines = progress_of("import_spreadsheet", "portfolio", str(path)).splitlines()
    assert lines[0].startswith("sunbelt.xlsx: reading the file (") and "KB in " in lines[0]
    assert lines[1].startswith(f"sunbelt.xlsx: checking rows:   0%  0 of {rows} rows  {len(RESOURCES)} sheets")
    assert lines[-1].startswith(f"sunbelt.xlsx: checking rows: 100%  {rows} of {rows} rows  sheet ")
    assert "\r" not in "\n".join(lines)


def test_an_export_on_a_terminal_redraws_its_line_for_every_row(demo, tmp_path):
    path = tmp_path / "farms.csv"
    farms = Farm.objects.count()
    text = progress_of("export_spreadsheet", "farms", "--output", str(path), stderr=Terminal())
    redraws = text.split("\r\x1b[2K")[1:]
    # 0 rows, each row, writing the file, done; then the line ends and the result follows.
    assert len(redraws) == farms + 3
    assert redraws[farms].startswith(f"farms.csv [########################] 100%  {farms} of {farms} rows")
    assert text.endswith(f"\nWrote {farms} rows to {path}.\n")


def test_verbosity_0_shows_no_progress(demo, tmp_path):
    path = tmp_path / "farms.csv"
    err = StringIO()
    call_command("export_spreadsheet", "farms", "--output", str(path), stdout=StringIO(), stderr=err, verbosity=0)
    assert err.getvalue() == f"Wrote {Farm.objects.count()} rows to {path}.\n"
