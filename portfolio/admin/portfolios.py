from django.contrib import admin

from portfolio.admin.annotations import count_of
from portfolio.models import Asset, Farm, Meter, Portfolio


@admin.register(Portfolio)
class PortfolioAdmin(admin.ModelAdmin):
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

    @admin.display(description="farms", ordering="farm_count")
    def farm_count(self, obj):
        return obj.farm_count

    @admin.display(description="meters", ordering="meter_count")
    def meter_count(self, obj):
        return obj.meter_count

    @admin.display(description="assets", ordering="asset_count")
    def asset_count(self, obj):
        return obj.asset_count
