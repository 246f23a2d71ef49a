"""The domain's tables: every enumeration and every rule that is a table lives here.

Forms, imports, the admin, the CSV generator and the payload builders read these; none of
them keeps a copy. Sources: ``docs/contracts.md`` (Raptor Maps section 1.4,
WattCarbon sections 2.2 and 2.3).
"""

from dataclasses import dataclass

from django.db import models


class EquipmentType(models.TextChoices):
    """Raptor Maps equipment types (spelling of the values assumed, labels from the seed)."""

    INVERTER = "inverter", "Inverter"
    COMBINER = "combiner", "Combiner"
    METER = "meter", "Meter"
    WEATHER_STATION = "weather_station", "Weather Station/Pyranometer"


class SensorType(models.TextChoices):
    DC_VOLTAGE = "dc_voltage", "DC voltage"
    DC_CURRENT_AMP = "dc_current_amp", "DC current"
    AC_POWER = "ac_power", "AC power"
    DC_POWER = "dc_power", "DC power"
    PRODUCTION_METER_ENERGY = "production_meter_energy", "Production meter energy"
    PRODUCTION_METER_POWER = "production_meter_power", "Production meter power"
    IRRADIANCE_POA = "irradiance_poa", "Irradiance (plane of array)"
    IRRADIANCE_GHI = "irradiance_ghi", "Irradiance (global horizontal)"


class Aggregation(models.TextChoices):
    """How raw readings roll up into one 15-minute bucket."""

    AVERAGE = "average", "Average"
    MAXIMUM = "maximum", "Maximum"


@dataclass(frozen=True)
class SensorTypeSpec:
    unit: str
    aggregation: str
    equipment_types: tuple
    interval_minutes: int = 15


_ELECTRICAL = (EquipmentType.INVERTER, EquipmentType.COMBINER)

# The contract's "Sensor Type By Equipment" table, one row per sensor type.
SENSOR_TYPES = {
    SensorType.DC_VOLTAGE: SensorTypeSpec("V", Aggregation.AVERAGE, _ELECTRICAL),
    SensorType.DC_CURRENT_AMP: SensorTypeSpec("A", Aggregation.AVERAGE, _ELECTRICAL),
    SensorType.AC_POWER: SensorTypeSpec("W", Aggregation.AVERAGE, _ELECTRICAL),
    SensorType.DC_POWER: SensorTypeSpec("W", Aggregation.AVERAGE, _ELECTRICAL),
    # A cumulative register: the maximum of a bucket is its reading at the bucket's end.
    SensorType.PRODUCTION_METER_ENERGY: SensorTypeSpec("Wh", Aggregation.MAXIMUM, (EquipmentType.METER,)),
    SensorType.PRODUCTION_METER_POWER: SensorTypeSpec("W", Aggregation.AVERAGE, (EquipmentType.METER,)),
    SensorType.IRRADIANCE_POA: SensorTypeSpec("W/m^2", Aggregation.AVERAGE, (EquipmentType.WEATHER_STATION,)),
    SensorType.IRRADIANCE_GHI: SensorTypeSpec("W/m^2", Aggregation.AVERAGE, (EquipmentType.WEATHER_STATION,)),
}


def sensor_types_for(equipment_type):
    """The sensor types the contract allows on equipment of this type, in table order."""
    return [sensor_type for sensor_type, spec in SENSOR_TYPES.items() if equipment_type in spec.equipment_types]


class MeterType(models.TextChoices):
    ELECTRICITY = "electricity", "Electricity"
    GAS = "gas", "Gas"


class EnergyUnit(models.TextChoices):
    KWH = "kWh", "kWh"
    THERM = "therm", "therm"


# kWh per unit as entered; WattCarbon takes kWh only.
KWH_PER_UNIT = {
    EnergyUnit.KWH: 1.0,
    EnergyUnit.THERM: 29.3071,
}

# Which units a meter of each type may be read in.
UNITS_BY_METER_TYPE = {
    MeterType.ELECTRICITY: (EnergyUnit.KWH,),
    MeterType.GAS: (EnergyUnit.KWH, EnergyUnit.THERM),
}


class AssetKind(models.TextChoices):
    SOLAR = "solar", "Directly measured solar"
    STORAGE_DIRECT = "storage_direct", "Storage"
    ELECTRIFICATION_EEMETERED = "electrification_eemetered", "Building electrification (meter data)"
    ENERGY_EFFICIENCY_EEMETERED = "energy_efficiency_eemetered", "Building energy efficiency (meter data)"
    DEMAND_RESPONSE_EEMETERED = "demand_response_eemetered", "Demand response (meter data and events)"
    TRACKING_BUILDING = "tracking_building", "Building tracking"
    VEHICLE_CHARGING = "vehicle_charging", "Vehicle charging"


@dataclass(frozen=True)
class AssetKindSpec:
    """The kind-specific Asset fields a kind requires, and those it may carry.

    Field names are the Asset model's; the WattCarbon payload uses their camelCase form
    (``nameplate_capacity_kw`` -> ``nameplateCapacityKw``).
    """

    required: tuple = ()
    optional: tuple = ()

    @property
    def fields(self):
        return self.required + self.optional


SOLAR_FIELDS = (
    "nameplate_capacity_kw",
    "inverter_data_id",
    "inverter_data_source",
    "external_registry_name",
    "external_registry_asset_id",
)
ELECTRIFICATION_FIELDS = (
    "area_sqft",
    "previous_fuel",
    "building_type",
    "replacement_type",
    "year_built",
    "number_of_stories",
)

# Which fields each kind requires. Adding a kind or a field is an edit here (and the
# Asset model gains the field). Requirements beyond the documented examples are assumed.
ASSET_KINDS = {
    AssetKind.SOLAR: AssetKindSpec(
        required=("nameplate_capacity_kw", "inverter_data_id", "inverter_data_source"),
        optional=("external_registry_name", "external_registry_asset_id"),
    ),
    AssetKind.STORAGE_DIRECT: AssetKindSpec(),
    AssetKind.ELECTRIFICATION_EEMETERED: AssetKindSpec(required=ELECTRIFICATION_FIELDS),
    AssetKind.ENERGY_EFFICIENCY_EEMETERED: AssetKindSpec(),
    AssetKind.DEMAND_RESPONSE_EEMETERED: AssetKindSpec(),
    AssetKind.TRACKING_BUILDING: AssetKindSpec(),
    AssetKind.VEHICLE_CHARGING: AssetKindSpec(),
}

# Every kind-specific field of any kind, in a stable order (for forms and exports).
KIND_FIELDS = tuple(dict.fromkeys(field for spec in ASSET_KINDS.values() for field in spec.fields))

# Kinds that carry demand-response events.
KINDS_WITH_EVENTS = (AssetKind.DEMAND_RESPONSE_EEMETERED,)


# Electrification enumerations. The API documents one example value of each
# ("gas", "single_family_attached", "furnace_only"); the rest are assumed.
class PreviousFuel(models.TextChoices):
    GAS = "gas", "Natural gas"
    PROPANE = "propane", "Propane"
    OIL = "oil", "Heating oil"
    ELECTRIC_RESISTANCE = "electric_resistance", "Electric resistance"


class BuildingType(models.TextChoices):
    SINGLE_FAMILY_DETACHED = "single_family_detached", "Single family, detached"
    SINGLE_FAMILY_ATTACHED = "single_family_attached", "Single family, attached"
    MULTIFAMILY = "multifamily", "Multifamily"
    COMMERCIAL = "commercial", "Commercial"


class ReplacementType(models.TextChoices):
    FURNACE_ONLY = "furnace_only", "Furnace only"
    FURNACE_AND_AC = "furnace_and_ac", "Furnace and air conditioner"
    BOILER = "boiler", "Boiler"
    WATER_HEATER = "water_heater", "Water heater"
