"""Columns that name a portfolio, a farm or a piece of equipment by its natural key."""

from portfolio.models import Equipment, Farm, Portfolio
from portfolio.resources.base import related
from portfolio.resources.widgets import RelatedByKey


def portfolio_column():
    return related(
        "portfolio",
        "portfolio",
        RelatedByKey(
            Portfolio, {"slug": "portfolio"}, field="slug", missing="There is no portfolio with the slug {portfolio!r}."
        ),
    )


def farm_column(attribute="farm", *, required=True):
    return related(
        attribute,
        "farm_id",
        RelatedByKey(
            Farm,
            {"farm_id": "farm_id"},
            field="farm_id",
            missing="There is no farm with the farm ID {farm_id!r}.",
            required=required,
        ),
    )


def equipment_column(attribute, farm_column_name, equipment_column_name, *, required=True):
    return related(
        attribute,
        equipment_column_name,
        RelatedByKey(
            Equipment,
            {"farm__farm_id": farm_column_name, "equipment_id": equipment_column_name},
            field="equipment_id",
            missing=(
                f"Farm {{{farm_column_name}!r}} has no equipment with the equipment ID {{{equipment_column_name}!r}}."
            ),
            required=required,
        ),
    )
