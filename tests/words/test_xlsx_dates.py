"""XLSX exports carry dates and times as Excel dates, in the site's zone (the header's note says so),
numbers as numbers; the file imports back unchanged. CSV keeps ISO text with the offset."""

import csv
import io
from datetime import UTC, date, datetime

import openpyxl
import pytest
from django.urls import reverse

from portfolio.models import DemandResponseEvent, Farm
from portfolio.resources import RESOURCES
from portfolio.resources.files import read_sheet
from tests.factories import AssetFactory, DemandResponseEventFactory, FarmFactory, PortfolioFactory

pytestmark = pytest.mark.django_db


def export(client, model_name, resource_name, file_format):
    resource = RESOURCES[resource_name]
    fields = {f"{resource.__name__.lower()}_{column}": "on" for column in resource().get_export_order()}
    response = client.post(
        reverse(f"admin:portfolio_{model_name}_export"),
        {"format": {"csv": "0", "xlsx": "1"}[file_format], "resource": "0", **fields},
    )
    assert response.status_code == 200
    return response.content


def sheet_of(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows())
    headers = [cell.value for cell in rows[0]]
    return {header: (rows[0][index], [row[index] for row in rows[1:]]) for index, header in enumerate(headers)}


def test_a_farms_commissioning_is_an_excel_date_in_the_farms_zone_and_its_numbers_stay_numbers(admin_client):
    FarmFactory(
        portfolio=PortfolioFactory(slug="main"),
        farm_id="AZ-1",
        timezone="America/Phoenix",
        commissioned_at=datetime(2021, 4, 1, 15, 0, tzinfo=UTC),
        dc_capacity_kw=10257.484999999999,
        longitude=-112.7,
    )
    columns = sheet_of(export(admin_client, "farm", "farms", "xlsx"))
    header, (commissioned,) = columns["commissioned_at"]
    assert commissioned.is_date and commissioned.data_type == "d"
    assert commissioned.value == datetime(2021, 4, 1, 8, 0)  # 15:00 UTC is 08:00 in Phoenix (MST, no DST)
    assert "America/Phoenix" in header.comment.text
    _, (capacity,) = columns["dc_capacity_kw"]
    assert capacity.data_type == "n" and capacity.value == 10257.484999999999
    _, (longitude,) = columns["longitude"]
    assert longitude.data_type == "n" and longitude.value == -112.7
    _, (farm_id,) = columns["farm_id"]
    assert farm_id.data_type == "s" and not farm_id.is_date


def test_events_are_excel_dates_in_the_assets_zone_across_a_dst_change(admin_client):
    asset = AssetFactory(demand_response=True, custom_id="DR-1", timezone="America/Chicago")
    # 2026-03-08 is the spring-forward day in Chicago: 07:30 UTC is 01:30 CST, 09:30 UTC is 04:30 CDT.
    DemandResponseEventFactory(
        asset=asset, start=datetime(2026, 3, 8, 7, 30, tzinfo=UTC), end=datetime(2026, 3, 8, 9, 30, tzinfo=UTC)
    )
    columns = sheet_of(export(admin_client, "demandresponseevent", "events", "xlsx"))
    header, (start,) = columns["start"]
    _, (end,) = columns["end"]
    assert start.is_date and end.is_date
    assert (start.value, end.value) == (datetime(2026, 3, 8, 1, 30), datetime(2026, 3, 8, 4, 30))
    assert "America/Chicago" in header.comment.text


def test_an_asset_date_is_an_excel_date(admin_client):
    AssetFactory(commenced_operation_date=date(2020, 6, 30))
    _, (commenced,) = sheet_of(export(admin_client, "asset", "assets", "xlsx"))["commenced_operation_date"]
    assert commenced.is_date and commenced.value == datetime(2020, 6, 30)
    assert commenced.number_format == "yyyy-mm-dd"


def test_csv_keeps_iso_text_with_the_offset(admin_client):
    FarmFactory(
        portfolio=PortfolioFactory(slug="main"),
        timezone="America/Phoenix",
        commissioned_at=datetime(2021, 4, 1, 15, 0, tzinfo=UTC),
    )
    header, row = list(csv.reader(io.StringIO(export(admin_client, "farm", "farms", "csv").decode("utf-8-sig"))))
    assert row[header.index("commissioned_at")] == "2021-04-01T08:00:00-07:00"


def test_an_exported_xlsx_imports_back_to_the_same_times(admin_client):
    asset = AssetFactory(demand_response=True, custom_id="DR-1", timezone="America/Chicago")
    start = datetime(2026, 3, 8, 9, 30, tzinfo=UTC)
    DemandResponseEventFactory(asset=asset, start=start, end=datetime(2026, 3, 8, 11, 30, tzinfo=UTC))
    farm = FarmFactory(portfolio=PortfolioFactory(slug="main"), timezone="America/Phoenix")
    farm.commissioned_at = datetime(2021, 4, 1, 15, 0, tzinfo=UTC)
    farm.save()
    for model_name, resource_name in [("farm", "farms"), ("demandresponseevent", "events")]:
        content = export(admin_client, model_name, resource_name, "xlsx")
        resource = RESOURCES[resource_name]()
        result = resource.import_data(read_sheet(content), dry_run=True)
        assert not result.has_errors() and not result.has_validation_errors()
        assert {row.import_type for row in result.rows} == {"skip"}, resource_name
    assert Farm.objects.get().commissioned_at == datetime(2021, 4, 1, 15, 0, tzinfo=UTC)
    assert DemandResponseEvent.objects.get().start == start
