"""Chart endpoints in the admin: JSON that static/portfolio/charts.js draws, one URL per chart.

A ModelAdmin takes ``ChartsAdminMixin`` and names its charts: ``object_charts`` (on an object's
page, ``<id>/chart/<name>/``, a function of the object and the range) and ``list_charts`` (above
its list, ``chart/<name>/``, a function of the range). Each URL is named
``<app>_<model>_chart_<name>``, goes through the admin's login, and needs the model's view
permission (a refusal is the styled 403 page). A range the query string cannot give is a 400
whose JSON ``error`` says why in words. The pages include templates/admin/charts/chart.html.
"""

from functools import partial

from django import forms
from django.contrib.admin.utils import unquote
from django.http import JsonResponse
from django.urls import path

from portfolio.charts.farms import farm_production
from portfolio.charts.ranges import BadRange, chart_range
from portfolio.charts.sensors import sensor_readings
from portfolio.roles import refuse, role_needed

__all__ = ["CHART_MEDIA", "ChartsAdminMixin", "FarmChartsMixin", "SensorChartsMixin"]

CHART_MEDIA = forms.Media(
    js=["vendor/chartjs/chart.umd.min.js", "portfolio/charts.js"],
    css={"all": ["portfolio/charts.css"]},
)


class ChartsAdminMixin:
    object_charts = {}  # name → function(obj, ChartRange) → the chart's JSON
    list_charts = {}  # name → function(ChartRange) → the chart's JSON
    chart_default_range = "7d"

    @property
    def media(self):
        return super().media + CHART_MEDIA

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        urls = [
            path(f"chart/{name}/", view(partial(self.chart_view, name=name)), name="{}_{}_chart_".format(*info) + name)
            for name in self.list_charts
        ]
        urls += [
            path(
                f"<path:object_id>/chart/{name}/",
                view(partial(self.chart_view, name=name)),
                name="{}_{}_chart_".format(*info) + name,
            )
            for name in self.object_charts
        ]
        return [*urls, *super().get_urls()]

    def chart_view(self, request, object_id=None, *, name):
        if not self.has_view_permission(request):
            refuse(
                f"Seeing {self.opts.verbose_name_plural}",
                role_needed(self.opts.app_label, self.opts.model_name, "view"),
            )
        try:
            shown = chart_range(request.GET, default=self.chart_default_range)
        except BadRange as error:
            return JsonResponse({"error": str(error)}, status=400)
        if object_id is None:
            return JsonResponse(self.list_charts[name](shown))
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return JsonResponse({"error": f"No {self.opts.verbose_name} with this ID."}, status=404)
        return JsonResponse(self.object_charts[name](obj, shown))


class SensorChartsMixin(ChartsAdminMixin):
    """A sensor's readings and their 15-minute roll-up (templates/admin/portfolio/sensor/change_form.html)."""

    object_charts = {"readings": sensor_readings}
    chart_default_range = "7d"


class FarmChartsMixin(ChartsAdminMixin):
    """A farm's production per day (templates/admin/portfolio/farm/change_form.html)."""

    object_charts = {"production": farm_production}
    chart_default_range = "30d"
