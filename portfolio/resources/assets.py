"""Energy assets, every kind's fields in one table, and the events of demand-response assets."""

from import_export.fields import Field

from portfolio.choices import KIND_FIELDS, AssetKind
from portfolio.models import Asset, DemandResponseEvent, Meter
from portfolio.resources.base import SpreadsheetResource, related, shown
from portfolio.resources.meters import LOCATION_COLUMNS
from portfolio.resources.relations import farm_column, portfolio_column
from portfolio.resources.widgets import ChoiceWidget, MetersByName, RelatedByKey

__all__ = ["AssetResource", "DemandResponseEventResource"]


class AssetResource(SpreadsheetResource):
    """One row per asset; the columns of kinds other than the row's stay empty."""

    resource_name = "assets"
    key_columns = ("portfolio", "custom_id")
    required_columns = ("portfolio", "custom_id", "name", "kind", "timezone")
    portfolio_path = "portfolio__slug"
    export_related = ("portfolio", "farm")
    export_prefetch = ("meters",)

    portfolio = portfolio_column()
    kind = Field(attribute="kind", column_name="kind", widget=ChoiceWidget(AssetKind.choices, "an asset kind"))
    farm_id = farm_column(required=False)
    meters = Field(attribute="meters", column_name="meters", widget=MetersByName(Meter))

    class Meta:
        model = Asset
        fields = (
            "portfolio",
            "custom_id",
            "name",
            "kind",
            "timezone",
            "utility",
            "commenced_operation_date",
            "farm_id",
            "meters",
            *LOCATION_COLUMNS,
            *KIND_FIELDS,
        )
        import_id_fields = ("portfolio", "custom_id")


class DemandResponseEventResource(SpreadsheetResource):
    resource_name = "events"
    key_columns = ("portfolio", "custom_id", "start")
    required_columns = ("portfolio", "custom_id", "start", "end")
    portfolio_path = "asset__portfolio__slug"
    export_related = ("asset__portfolio",)

    portfolio = shown("asset__portfolio__slug", "portfolio")
    custom_id = related(
        "asset",
        "custom_id",
        RelatedByKey(
            Asset,
            {"portfolio__slug": "portfolio", "custom_id": "custom_id"},
            field="custom_id",
            missing="Portfolio {portfolio!r} has no asset with the custom ID {custom_id!r}.",
        ),
    )

    class Meta:
        model = DemandResponseEvent
        fields = ("portfolio", "custom_id", "start", "end")
        import_id_fields = ("custom_id", "start")

    def row_zone(self, row):
        try:
            return self.fields["custom_id"].clean(row).timezone, None
        except ValueError:
            return None, "the asset is not known"

    def instance_zone(self, event):
        return event.asset.timezone
