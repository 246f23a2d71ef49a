"""Who may read the charts, and the pages that show them."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from portfolio.models import Farm, Meter, Sensor
from tests.charts.helpers import chart_url, client_for, viewer
from tests.factories import FarmFactory, MeterFactory, SensorFactory
from uploads.models import Attempt, UploadRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects():
    return {"sensor": SensorFactory(), "farm": FarmFactory(), "meter": MeterFactory()}


@pytest.fixture
def urls(objects):
    sensor, farm, meter = objects["sensor"], objects["farm"], objects["meter"]
    return {
        "sensor readings": chart_url(Sensor, "readings", sensor.pk),
        "farm production": chart_url(Farm, "production", farm.pk),
        "meter intervals": chart_url(Meter, "intervals", meter.pk),
        "upload volume": chart_url(UploadRun, "volume"),
        "calls by outcome": chart_url(Attempt, "outcomes"),
    }


def test_a_viewer_reads_every_chart(urls):
    client = viewer()
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, name
        assert response["Content-Type"] == "application/json", name


def test_anonymous_visitors_are_sent_to_log_in(urls):
    for name, url in urls.items():
        response = Client().get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith("/admin/login/"), name


def test_staff_without_the_view_permission_get_the_styled_refusal(urls):
    client = client_for(None)
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 403, name
        text = response.content.decode()
        assert re.search(r'<div id="site-name">.*needs the viewer role\.', text, re.S), name


def test_a_chart_of_an_object_that_does_not_exist_is_a_404_in_words():
    response = viewer().get(chart_url(Sensor, "readings", 999_999))
    assert response.status_code == 404
    assert response.json() == {"error": "No sensor with this ID."}


def test_pages_carry_their_charts_and_the_scripts_to_draw_them(objects, urls):
    client = viewer()
    sensor, farm, meter = objects["sensor"], objects["farm"], objects["meter"]
    pages = {
        reverse("admin:portfolio_sensor_change", args=[sensor.pk]): urls["sensor readings"],
        reverse("admin:portfolio_farm_change", args=[farm.pk]): urls["farm production"],
        reverse("admin:portfolio_meter_change", args=[meter.pk]): urls["meter intervals"],
        reverse("admin:uploads_uploadrun_changelist"): urls["upload volume"],
        reverse("admin:uploads_attempt_changelist"): urls["calls by outcome"],
    }
    for page, url in pages.items():
        response = client.get(page)
        assert response.status_code == 200, page
        text = response.content.decode()
        assert f'data-url="{url}"' in text, page
        assert "vendor/chartjs/chart.umd.min.js" in text, page
        assert "portfolio/charts.js" in text, page


def test_the_add_page_has_no_chart():
    response = client_for("administrator").get(reverse("admin:portfolio_sensor_add"))
    assert response.status_code == 200
    assert 'class="chart module"' not in response.content.decode()
