"""Spreadsheets in the admin, end to end: upload, preview with counts, confirm, and the record."""

import hashlib
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portfolio.demo import load_demo_portfolio
from portfolio.models import Asset, Equipment, Farm, ImportRecord, Sensor
from portfolio.resources import RESOURCES
from tests.factories import EquipmentFactory, FarmFactory, PortfolioFactory

pytestmark = pytest.mark.django_db

MODELS = {
    "portfolios": "portfolio",
    "farms": "farm",
    "equipment": "equipment",
    "sensors": "sensor",
    "meters": "meter",
    "interval-readings": "intervalreading",
    "bill-readings": "billreading",
    "assets": "asset",
    "events": "demandresponseevent",
}
FARMS = b"farm_id,portfolio,name,timezone\r\nF1,sunbelt,Mesa,America/Denver\r\nF2,sunbelt,Ridge,America/Denver\r\n"


def url(model_name, view):
    return reverse(f"admin:portfolio_{model_name}_{view}")


def upload(client, model_name, name, content):
    return client.post(url(model_name, "import"), {"import_file": SimpleUploadedFile(name, content)})


def confirm(client, model_name, preview):
    form = preview.context["confirm_form"]
    return client.post(url(model_name, "process_import"), {name: form[name].value() or "" for name in form.fields})


def problems_on(response):
    return [str(problem) for problem in response.context["outcome"].problems]


@pytest.fixture
def sunbelt():
    return PortfolioFactory(slug="sunbelt")


@pytest.mark.parametrize("name", list(MODELS))
def test_every_list_has_import_and_export_and_an_upload_page(admin_client, name):
    changelist = admin_client.get(url(MODELS[name], "changelist"))
    assert url(MODELS[name], "import").encode() in changelist.content
    assert url(MODELS[name], "export").encode() in changelist.content
    page = admin_client.get(url(MODELS[name], "import"))
    assert page.status_code == 200
    text = page.content.decode()
    assert f"A {name} file, CSV or XLSX" in text
    assert "the header is row 1" in text
    for column in RESOURCES[name].required_columns:
        assert f"<code>{column}</code>" in text


def test_upload_preview_confirm_imports_the_rows_and_records_who_and_what(admin_client, admin_user, sunbelt):
    preview = upload(admin_client, "farm", "farms.csv", FARMS)
    assert preview.status_code == 200
    text = preview.content.decode()
    assert "Ready to import farms: 2 new, 0 updated, 0 unchanged." in text
    assert '<td id="rows-new">2</td>' in text and '<td id="rows-invalid">0</td>' in text
    assert "Confirm import" in text and "Mesa" in text
    assert not Farm.objects.exists() and not ImportRecord.objects.exists()

    done = confirm(admin_client, "farm", preview)
    assert done.status_code == 302 and done.url == url("farm", "changelist")
    assert sorted(Farm.objects.values_list("farm_id", "name")) == [("F1", "Mesa"), ("F2", "Ridge")]
    record = ImportRecord.objects.get()
    assert (record.kind, record.target, record.source, record.status) == ("spreadsheet", "farms", "admin", "imported")
    assert (record.user, record.file_name, record.file_size) == (admin_user, "farms.csv", len(FARMS))
    assert record.sha256 == hashlib.sha256(FARMS).hexdigest()
    assert (record.rows_new, record.rows_updated, record.rows_unchanged, record.rows_invalid) == (2, 0, 0, 0)
    assert record.message == "Imported farms: 2 new, 0 updated, 0 unchanged."
    followed = admin_client.get(done.url)
    assert "Imported farms: 2 new, 0 updated, 0 unchanged." in followed.content.decode()


def test_a_file_with_an_invalid_row_is_refused_at_the_preview_and_recorded(admin_client, admin_user):
    farm = FarmFactory(farm_id="AZ-01")
    EquipmentFactory(farm=farm, equipment_id="INV-01", equipment_type="inverter")
    content = (
        b"farm_id,equipment_id,sensor_type\nAZ-01,INV-01,ac_power\nAZ-01,INV-01,dc_power\nAZ-01,INV-01,irradiance_poa\n"
    )
    preview = upload(admin_client, "sensor", "sensors.csv", content)
    text = preview.content.decode()
    assert "Nothing was imported: 1 of 3 rows is invalid." in text
    assert '<td id="rows-new">2</td>' in text and '<td id="rows-invalid" class="invalid">1</td>' in text
    assert problems_on(preview) == [
        "row 4, sensor_type: 'irradiance_poa' is not a sensor type of an inverter; allowed: dc_voltage, "
        "dc_current_amp, ac_power, dc_power."
    ]
    assert "row 4, sensor_type: &#x27;irradiance_poa&#x27; is not a sensor type of an inverter" in text
    assert "Confirm import" not in text
    assert not Sensor.objects.exists()
    record = ImportRecord.objects.get()
    assert (record.status, record.user, record.rows_invalid, record.options) == (
        "refused",
        admin_user,
        1,
        {"dry_run": True},
    )
    assert record.problems[0]["line"] == 4 and record.problems[0]["column"] == "sensor_type"


def test_a_file_that_is_not_a_spreadsheet_is_refused_and_recorded(admin_client):
    preview = upload(admin_client, "farm", "farms.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(64))
    assert problems_on(preview) == ["This file is not a spreadsheet: it is a PNG image. Upload CSV or XLSX."]
    assert "This file is not a spreadsheet: it is a PNG image." in preview.content.decode()
    record = ImportRecord.objects.get()
    assert (record.status, record.file_name, record.rows_read) == ("refused", "farms.xlsx", 0)


def test_a_file_over_the_limit_is_refused_with_its_size_and_the_limit(admin_client, settings, sunbelt):
    settings.SPREADSHEET_UPLOAD_MAX_BYTES = 2048
    big = FARMS + b"F3,sunbelt,Filler,UTC\r\n" * 200
    preview = upload(admin_client, "farm", "farms.csv", big)
    message = (
        f"The file is {len(big) / 1024:.1f} KB ({len(big):,} bytes); the limit is 2.0 KB (2,048 bytes) "
        "(setting SPREADSHEET_UPLOAD_MAX_BYTES)."
    )
    assert problems_on(preview) == [f"{message} Split it into smaller files."]
    assert message in preview.content.decode()
    assert "CSV or XLSX, at most 2.0" in preview.content.decode()
    assert not Farm.objects.exists()
    assert ImportRecord.objects.get().status == "refused"


def test_rows_changed_between_preview_and_confirm_are_refused_then(admin_client, sunbelt):
    preview = upload(admin_client, "farm", "farms.csv", FARMS)
    assert preview.context["confirm_form"] is not None
    sunbelt.farms.all().delete()
    sunbelt.delete()  # the file's portfolio is gone by the time it is confirmed
    response = confirm(admin_client, "farm", preview)
    assert response.status_code == 200
    assert problems_on(response) == [
        "row 2, portfolio: There is no portfolio with the slug 'sunbelt'.",
        "row 3, portfolio: There is no portfolio with the slug 'sunbelt'.",
    ]
    assert not Farm.objects.exists()
    assert ImportRecord.objects.get().status == "refused"


def test_the_preview_lists_updated_rows_with_their_changes(admin_client, sunbelt):
    FarmFactory(portfolio=sunbelt, farm_id="F1", name="Old Mesa", timezone="America/Denver")
    preview = upload(admin_client, "farm", "farms.csv", FARMS)
    outcome = preview.context["outcome"]
    assert (outcome.rows_new, outcome.rows_updated) == (1, 1)
    assert [(row, action) for row, action, _cells in outcome.changes] == [(2, "update"), (3, "new")]
    assert "<del" in preview.content.decode() and "Old" in preview.content.decode()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_admin_export_uploaded_again_changes_nothing(admin_client, file_format):
    load_demo_portfolio(now=datetime(2026, 3, 8, 18, tzinfo=UTC), reading_span=timedelta(hours=2))
    fields = {f"assetresource_{column}": "on" for column in RESOURCES["assets"]().get_export_order()}
    index = {"csv": "0", "xlsx": "1"}[file_format]
    exported = admin_client.post(url("asset", "export"), {"format": index, "resource": "0", **fields})
    assert exported.status_code == 200
    assert exported["Content-Disposition"].startswith('attachment; filename="assets-')
    assert exported["Content-Disposition"].endswith(f'.{file_format}"')
    if file_format == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).active
        assert sheet.title == "assets"
        assert [cell.value for cell in next(sheet.iter_rows())][:3] == ["portfolio", "custom_id", "name"]
    else:
        assert exported.content.startswith(b"\xef\xbb\xbfportfolio,custom_id,name,kind,")
    before = list(Asset.objects.order_by("pk").values())
    preview = upload(admin_client, "asset", f"assets.{file_format}", exported.content)
    outcome = preview.context["outcome"]
    assert outcome.ok, problems_on(preview)
    assert (outcome.rows_new, outcome.rows_updated, outcome.rows_unchanged) == (0, 0, 3)
    confirm(admin_client, "asset", preview)
    assert list(Asset.objects.order_by("pk").values()) == before
    assert ImportRecord.objects.get().rows_unchanged == 3


def test_staff_without_the_change_permission_cannot_import(client):
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_equipment"))
    client.force_login(user)
    assert client.get(url("equipment", "import")).status_code == 403
    assert client.get(url("equipment", "export")).status_code == 200
    assert url("equipment", "import").encode() not in client.get(url("equipment", "changelist")).content
    assert not Equipment.objects.exists()
