"""Spreadsheet import and export of the portfolio's models (django-import-export resources).

``RESOURCES`` names every resource a file or a command can use, in dependency order: a
file of one may refer to rows of those before it. docs/spreadsheets.md describes them.
"""

from portfolio.resources.assets import AssetResource, DemandResponseEventResource
from portfolio.resources.farms import EquipmentResource, FarmResource, ObservationResource, SensorResource
from portfolio.resources.meters import BillReadingResource, IntervalReadingResource, MeterResource
from portfolio.resources.portfolios import PortfolioResource

__all__ = [
    "RESOURCES",
    "AssetResource",
    "BillReadingResource",
    "DemandResponseEventResource",
    "EquipmentResource",
    "FarmResource",
    "IntervalReadingResource",
    "MeterResource",
    "ObservationResource",
    "PortfolioResource",
    "SensorResource",
]

RESOURCES = {
    resource.resource_name: resource
    for resource in (
        PortfolioResource,
        FarmResource,
        EquipmentResource,
        SensorResource,
        MeterResource,
        IntervalReadingResource,
        BillReadingResource,
        AssetResource,
        DemandResponseEventResource,
    )
}
