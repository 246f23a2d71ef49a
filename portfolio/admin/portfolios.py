from django.contrib import admin

from portfolio.admin.annotations import annotated_column, count_of
from portfolio.admin.spreadsheets import SpreadsheetAdminMixin
from portfolio.models import Asset, Farm, Meter, Portfolio
from portfolio.resources import PortfolioResource


@admin.register(Portfolio)
class PortfolioAdmin(SpreadsheetAdminMixin, admin.ModelAdmin):
    resource_classes = [PortfolioResource]
    list_display = ["name", "slug", "farm_count", "meter_count", "asset_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                farm_count=count_of(Farm.objects.all(), "portfolio"),
                meter_count=count_of(Meter.objects.all(), "portfolio"),
                asset_count=count_of(Asset.objects.all(), "portfolio"),
            )
        )

    farm_count = annotated_column("farm_count", "farms")
    meter_count = annotated_column("meter_count", "meters")
    asset_count = annotated_column("asset_count", "assets")
