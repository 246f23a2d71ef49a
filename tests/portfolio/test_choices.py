"""The domain tables in ``portfolio.choices`` agree with the external contracts.

The contract (``docs/contracts.md``) is written out literally below and is the
source of truth; the tables in ``portfolio/choices.py`` are compared against it in both
directions: nothing the contract has is missing, nothing the contract lacks is added.

- Raptor Maps section 1.4: which sensor types each equipment type may have, with the
  sensor type's unit and its aggregation over a 15-minute interval.
- WattCarbon section 2.3: the seven asset kinds.
- WattCarbon section 2.2: a therm is 29.3071 kWh.
"""

import pytest
from django.core.exceptions import FieldDoesNotExist

from portfolio.choices import (
    ASSET_KINDS,
    KWH_PER_UNIT,
    SENSOR_TYPES,
    AssetKind,
    EquipmentType,
    SensorType,
    sensor_types_for,
)
from portfolio.models import Asset

# Raptor Maps, section 1.4, "Sensor types allowed per equipment type", row by row in the
# contract's order: equipment type -> sensor type -> (unit, aggregation over 15 minutes).
CONTRACT_SENSOR_TABLE = {
    "inverter": {
        "dc_voltage": ("V", "average"),
        "dc_current_amp": ("A", "average"),
        "ac_power": ("W", "average"),
        "dc_power": ("W", "average"),
    },
    "combiner": {
        "dc_voltage": ("V", "average"),
        "dc_current_amp": ("A", "average"),
        "ac_power": ("W", "average"),
        "dc_power": ("W", "average"),
    },
    "meter": {
        "production_meter_energy": ("Wh", "maximum"),
        "production_meter_power": ("W", "average"),
    },
    "weather_station": {
        "irradiance_poa": ("W/m^2", "average"),
        "irradiance_ghi": ("W/m^2", "average"),
    },
}
# "interval 15 minutes for all".
CONTRACT_INTERVAL_MINUTES = 15

# WattCarbon, section 2.3, "Kinds".
CONTRACT_ASSET_KINDS = {
    "solar",
    "storage_direct",
    "electrification_eemetered",
    "energy_efficiency_eemetered",
    "demand_response_eemetered",
    "tracking_building",
    "vehicle_charging",
}

CONTRACT_KWH_PER_THERM = 29.3071


def _contract_rows():
    """(equipment type, sensor type, unit, aggregation, interval) for every row of the contract."""
    return {
        (equipment_type, sensor_type, unit, aggregation, CONTRACT_INTERVAL_MINUTES)
        for equipment_type, sensors in CONTRACT_SENSOR_TABLE.items()
        for sensor_type, (unit, aggregation) in sensors.items()
    }


def _sensor_types_rows():
    """The same rows, read from SENSOR_TYPES (plain strings, so enum members compare as the contract's words)."""
    return {
        (str(equipment_type), str(sensor_type), spec.unit, str(spec.aggregation), spec.interval_minutes)
        for sensor_type, spec in SENSOR_TYPES.items()
        for equipment_type in spec.equipment_types
    }


# --- Raptor Maps: sensor types by equipment type --------------------------------------------


def test_equipment_types_are_exactly_the_contracts():
    assert set(EquipmentType.values) == set(CONTRACT_SENSOR_TABLE)


def test_sensor_types_are_exactly_the_contracts():
    contract_sensor_types = {sensor_type for sensors in CONTRACT_SENSOR_TABLE.values() for sensor_type in sensors}
    assert set(SensorType.values) == contract_sensor_types
    assert {str(sensor_type) for sensor_type in SENSOR_TYPES} == contract_sensor_types


def test_sensor_types_table_has_no_row_missing_from_the_contract_table():
    assert _sensor_types_rows() - _contract_rows() == set()


def test_contract_table_has_no_row_missing_from_sensor_types_table():
    assert _contract_rows() - _sensor_types_rows() == set()


@pytest.mark.parametrize("equipment_type", list(CONTRACT_SENSOR_TABLE))
def test_sensor_types_for_an_equipment_type_are_the_contracts_in_contract_order(equipment_type):
    assert [str(sensor_type) for sensor_type in sensor_types_for(equipment_type)] == list(
        CONTRACT_SENSOR_TABLE[equipment_type]
    )


@pytest.mark.parametrize("equipment_type", list(CONTRACT_SENSOR_TABLE))
def test_sensor_types_for_accepts_the_enum_member_as_well_as_its_value(equipment_type):
    assert sensor_types_for(EquipmentType(equipment_type)) == sensor_types_for(equipment_type)


def test_sensor_types_for_an_unknown_equipment_type_is_empty():
    assert sensor_types_for("solar_panel") == []


@pytest.mark.parametrize(
    ("sensor_type", "unit", "aggregation"),
    sorted(
        {
            (sensor_type, unit, aggregation)
            for sensors in CONTRACT_SENSOR_TABLE.values()
            for sensor_type, (unit, aggregation) in sensors.items()
        }
    ),
)
def test_each_sensor_type_has_the_contracts_unit_aggregation_and_15_minute_interval(sensor_type, unit, aggregation):
    spec = SENSOR_TYPES[SensorType(sensor_type)]
    assert (spec.unit, spec.aggregation, spec.interval_minutes) == (unit, aggregation, CONTRACT_INTERVAL_MINUTES)


# --- WattCarbon: asset kinds and units ---------------------------------------------------------


def test_asset_kinds_are_exactly_the_seven_kinds_of_the_contract():
    assert len(CONTRACT_ASSET_KINDS) == 7
    assert set(AssetKind.values) == CONTRACT_ASSET_KINDS


def test_asset_kinds_table_has_one_entry_per_asset_kind():
    assert {str(kind) for kind in ASSET_KINDS} == set(AssetKind.values)


@pytest.mark.parametrize(
    ("kind", "field_name"),
    [(str(kind), field_name) for kind, spec in ASSET_KINDS.items() for field_name in spec.fields],
)
def test_every_field_named_in_asset_kinds_is_a_concrete_field_of_asset(kind, field_name):
    try:
        field = Asset._meta.get_field(field_name)
    except FieldDoesNotExist:
        pytest.fail(f"ASSET_KINDS[{kind!r}] names {field_name!r}, which is not a field of Asset")
    assert field.concrete, f"{field_name!r} is not a concrete field of Asset"


def test_asset_kind_fields_are_not_both_required_and_optional():
    for kind, spec in ASSET_KINDS.items():
        assert set(spec.required).isdisjoint(spec.optional), kind


def test_a_therm_is_29_3071_kwh():
    assert KWH_PER_UNIT["therm"] == CONTRACT_KWH_PER_THERM


def test_kwh_is_one_kwh():
    assert KWH_PER_UNIT["kWh"] == 1.0
