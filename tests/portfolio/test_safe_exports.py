"""Spreadsheet files the admin writes are safe to open: formula-like text is escaped, numbers stay numbers
(OWASP CSV injection), in CSV and XLSX alike, for every list that has an Export button."""

import csv
import io

import openpyxl
import pytest
import tablib
from django.contrib import admin
from django.urls import reverse

from portfolio.resources import RESOURCES
from portfolio.resources.files import escape_formula, escape_text
from tests.factories import FarmFactory, PortfolioFactory, SensorFactory

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://x")'
SUM = "@SUM(1)"


def export(client, model_name, resource_name, file_format):
    fields = {
        f"{RESOURCES[resource_name].__name__.lower()}_{c}": "on" for c in RESOURCES[resource_name]().get_export_order()
    }
    index = {"csv": "0", "xlsx": "1"}[file_format]
    response = client.post(
        reverse(f"admin:portfolio_{model_name}_export"), {"format": index, "resource": "0", **fields}
    )
    assert response.status_code == 200
    return response.content


def csv_rows(content):
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_cells(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]


@pytest.fixture
def hostile():
    """A farm and a sensor whose names and IDs are formulas, at a negative longitude."""
    farm = FarmFactory(portfolio=PortfolioFactory(slug="main"), farm_id=SUM, name=HYPERLINK, longitude=-5.2)
    return SensorFactory(equipment__farm=farm, sensor_id=HYPERLINK, name=SUM)


def test_admin_csv_exports_escape_formulae_and_keep_negative_numbers(admin_client, hostile):
    (_, farm) = csv_rows(export(admin_client, "farm", "farms", "csv"))
    assert farm[:3] == ["'" + SUM, "main", "'" + HYPERLINK]
    assert farm[6] == "-5.2"  # longitude: a number, not escaped
    sensors = csv_rows(export(admin_client, "sensor", "sensors", "csv"))
    assert sensors[1][0] == "'" + SUM and sensors[1][2] == "'" + HYPERLINK and sensors[1][4] == "'" + SUM


@pytest.mark.parametrize(("model_name", "resource_name"), [("farm", "farms"), ("sensor", "sensors")])
def test_admin_xlsx_exports_write_formulae_as_text_cells_and_numbers_as_numbers(
    admin_client, hostile, model_name, resource_name
):
    cells = xlsx_cells(export(admin_client, model_name, resource_name, "xlsx"))
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    by_value = {cell.value: cell for cell in cells}
    assert by_value[HYPERLINK].data_type == "s" and by_value[SUM].data_type == "s"
    if model_name == "farm":
        assert by_value[-5.2].data_type == "n"


EXPORT_ADMINS = [
    model_admin
    for model_admin in admin.site._registry.values()
    if hasattr(model_admin, "get_export_formats")  # django-import-export's Export button
]


@pytest.mark.parametrize("model_admin", EXPORT_ADMINS, ids=[type(a).__name__ for a in EXPORT_ADMINS])
def test_every_admin_export_format_escapes(model_admin):
    """Any list with an Export button writes through our escaping writers, whichever formats it offers."""
    dataset = tablib.Dataset([HYPERLINK, SUM, "-5.2", -5.2, "\t=1"], headers=["a", "b", "c", "d", "e"])
    formats = model_admin.get_export_formats()
    assert formats
    for file_format in formats:
        data = file_format().export_data(dataset)
        if file_format().get_extension() == "csv":
            assert csv_rows(data.encode() if isinstance(data, str) else data)[1] == [
                "'" + HYPERLINK, "'" + SUM, "-5.2", "-5.2", "'\t=1"
            ]  # fmt: skip
        else:
            assert file_format().get_extension() == "xlsx"
            cells = xlsx_cells(data)
            assert [(c.value, c.data_type) for c in cells[5:]] == [
                (HYPERLINK, "s"), (SUM, "s"), ("-5.2", "s"), (-5.2, "n"), ("\t=1", "s")
            ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        (SUM, "'" + SUM),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5.2", "-5.2"),
        ("+1e3", "+1e3"),
        ("-.5", "-.5"),
        ("-\u0661", "'-\u0661"),  # digits of another script are not a plain number
        ("-inf", "'-inf"),
        ("plain", "plain"),
        (-5.2, -5.2),
        (None, None),
    ],
)
def test_escape_formula_leaves_plain_numbers_and_escapes_the_rest(text, escaped):
    assert escape_formula(text) == escaped
    assert escape_text(text) == escaped


def test_escape_text_doubles_a_leading_apostrophe_so_reading_back_is_exact():
    assert escape_text("'quoted") == "''quoted"
    assert escape_formula("'quoted") == "'quoted"  # errors files are opened, not imported again
