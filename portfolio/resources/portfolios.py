from portfolio.models import Portfolio
from portfolio.resources.base import SpreadsheetResource

__all__ = ["PortfolioResource"]


class PortfolioResource(SpreadsheetResource):
    resource_name = "portfolios"
    key_columns = ("slug",)
    required_columns = ("slug", "name")
    portfolio_path = "slug"

    class Meta:
        model = Portfolio
        fields = ("slug", "name")
        import_id_fields = ("slug",)
