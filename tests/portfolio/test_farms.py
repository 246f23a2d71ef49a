"""Validation rules of farms, equipment, sensors and observations.

Each rule is checked twice where it exists twice:

- ``full_clean()`` refuses the invalid object with a message for a person (the
  ``validation_messages`` fixture returns the message dict, ``{}`` when valid);
- the database refuses the same row when it is written without ``full_clean()``
  (``Model.objects.create`` / ``bulk_create``), with an ``IntegrityError``.

Which sensor types an equipment type may have is the Raptor Maps contract
(``docs/contracts.md`` section 1.4, via ``portfolio.choices.SENSOR_TYPES``);
``tests/portfolio/test_choices.py`` checks that table against the contract.
"""

import math
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import IntegrityError, connection, transaction

from portfolio.choices import SENSOR_TYPES, EquipmentType, SensorType
from portfolio.models import Equipment, Farm, Observation, Sensor
from tests.factories import (
    EquipmentFactory,
    FarmFactory,
    ObservationFactory,
    PortfolioFactory,
    SensorFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

# Literally the contract's table (section 1.4): the sensor types each equipment type may have.
ALLOWED = {
    EquipmentType.INVERTER: ["dc_voltage", "dc_current_amp", "ac_power", "dc_power"],
    EquipmentType.COMBINER: ["dc_voltage", "dc_current_amp", "ac_power", "dc_power"],
    EquipmentType.METER: ["production_meter_energy", "production_meter_power"],
    EquipmentType.WEATHER_STATION: ["irradiance_poa", "irradiance_ghi"],
}
ARTICLE_AND_NAME = {
    EquipmentType.INVERTER: "an inverter",
    EquipmentType.COMBINER: "a combiner",
    EquipmentType.METER: "a meter",
    EquipmentType.WEATHER_STATION: "a weather station/pyranometer",
}
ALL_PAIRS = [(equipment_type, sensor_type) for equipment_type in EquipmentType for sensor_type in SensorType]
ALLOWED_PAIRS = [(e, s) for e, s in ALL_PAIRS if s in ALLOWED[e]]
REFUSED_PAIRS = [(e, s) for e, s in ALL_PAIRS if s not in ALLOWED[e]]


def pair_id(pair):
    return f"{pair[0].value}-{pair[1].value}"


# --- Farm ---------------------------------------------------------------------------------------


def test_a_farm_from_the_factory_is_valid(validation_messages):
    assert validation_messages(FarmFactory.build(portfolio=PortfolioFactory())) == {}


@pytest.mark.parametrize("name", ["America/New_York", "Europe/Berlin", "UTC", "Asia/Kolkata"])
def test_farm_timezone_may_be_any_iana_name(validation_messages, name):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), timezone=name)
    assert validation_messages(farm) == {}


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "EST5", "+02:00", "america/new_york", "New York"])
def test_farm_timezone_must_be_an_iana_name(validation_messages, name):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), timezone=name)
    assert validation_messages(farm) == {
        "timezone": [f"{name!r} is not an IANA time zone name (for example America/New_York or Europe/Berlin)."]
    }


def test_farm_timezone_is_required(validation_messages):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), timezone="")
    assert validation_messages(farm) == {"timezone": ["This field cannot be blank."]}


def test_farm_id_is_required(validation_messages):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), farm_id="")
    assert validation_messages(farm) == {"farm_id": ["This field cannot be blank."]}


def test_farm_id_is_unique(validation_messages):
    FarmFactory(farm_id="FARM-A")
    farm = FarmFactory.build(portfolio=PortfolioFactory(), farm_id="FARM-A")
    assert validation_messages(farm) == {"farm_id": ["Farm with this Farm ID already exists."]}


def test_a_saved_farm_does_not_clash_with_itself(validation_messages):
    assert validation_messages(FarmFactory(farm_id="FARM-A")) == {}


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(-90.0, -180.0), (90.0, 180.0), (0.0, 0.0), (52.52, 13.405), (None, None)],
)
def test_farm_coordinates_in_range_or_absent_are_valid(validation_messages, latitude, longitude):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), latitude=latitude, longitude=longitude)
    assert validation_messages(farm) == {}


@pytest.mark.parametrize(
    ("latitude", "message"),
    [
        (90.5, "Ensure this value is less than or equal to 90.0."),
        (91.0, "Ensure this value is less than or equal to 90.0."),
        (-90.5, "Ensure this value is greater than or equal to -90.0."),
    ],
)
def test_farm_latitude_must_be_within_90_degrees(validation_messages, latitude, message):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), latitude=latitude, longitude=0.0)
    assert validation_messages(farm) == {"latitude": [message]}


@pytest.mark.parametrize(
    ("longitude", "message"),
    [
        (180.5, "Ensure this value is less than or equal to 180.0."),
        (-181.0, "Ensure this value is greater than or equal to -180.0."),
    ],
)
def test_farm_longitude_must_be_within_180_degrees(validation_messages, longitude, message):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), latitude=0.0, longitude=longitude)
    assert validation_messages(farm) == {"longitude": [message]}


def test_farm_latitude_without_longitude_is_refused_on_the_longitude(validation_messages):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), latitude=40.0, longitude=None)
    assert validation_messages(farm) == {"longitude": ["Give both latitude and longitude, or neither."]}


def test_farm_longitude_without_latitude_is_refused_on_the_latitude(validation_messages):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), latitude=None, longitude=-75.0)
    assert validation_messages(farm) == {"latitude": ["Give both latitude and longitude, or neither."]}


@pytest.mark.parametrize("capacity", [0.001, 1.0, 250_000.0, None])
def test_farm_dc_capacity_may_be_positive_or_absent(validation_messages, capacity):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), dc_capacity_kw=capacity)
    assert validation_messages(farm) == {}


@pytest.mark.parametrize("capacity", [0.0, -0.0, -1.0, -1000.0])
def test_farm_dc_capacity_must_be_positive(validation_messages, capacity):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), dc_capacity_kw=capacity)
    assert validation_messages(farm) == {"dc_capacity_kw": ["Must be greater than zero."]}


@pytest.mark.parametrize(("capacity", "shown"), [(math.inf, "inf"), (-math.inf, "-inf"), (math.nan, "nan")])
def test_farm_dc_capacity_must_be_finite(validation_messages, capacity, shown):
    farm = FarmFactory.build(portfolio=PortfolioFactory(), dc_capacity_kw=capacity)
    assert validation_messages(farm) == {"dc_capacity_kw": [f"{shown} is not a finite number."]}


# --- Equipment ----------------------------------------------------------------------------------


def test_equipment_from_the_factory_is_valid(validation_messages):
    assert validation_messages(EquipmentFactory()) == {}


def test_equipment_id_is_required(validation_messages):
    equipment = EquipmentFactory.build(farm=FarmFactory(), equipment_id="")
    assert validation_messages(equipment) == {"equipment_id": ["This field cannot be blank."]}


def test_equipment_id_is_unique_within_a_farm(validation_messages):
    farm = FarmFactory()
    EquipmentFactory(farm=farm, equipment_id="INV-1")
    equipment = EquipmentFactory.build(farm=farm, equipment_id="INV-1")
    assert validation_messages(equipment) == {
        NON_FIELD_ERRORS: ["This farm already has equipment with this equipment ID."]
    }


def test_equipment_id_may_be_reused_in_another_farm(validation_messages):
    EquipmentFactory(farm=FarmFactory(), equipment_id="INV-1")
    equipment = EquipmentFactory.build(farm=FarmFactory(), equipment_id="INV-1")
    assert validation_messages(equipment) == {}


def test_equipment_type_must_be_a_known_type(validation_messages):
    equipment = EquipmentFactory.build(farm=FarmFactory(), equipment_type="solar_panel")
    assert validation_messages(equipment) == {"equipment_type": ["Value 'solar_panel' is not a valid choice."]}


def test_equipment_type_change_that_strands_sensors_is_refused_naming_the_sensor_types(validation_messages):
    inverter = EquipmentFactory(equipment_type=EquipmentType.INVERTER)
    SensorFactory(equipment=inverter, sensor_type=SensorType.DC_VOLTAGE)
    SensorFactory(equipment=inverter, sensor_type=SensorType.AC_POWER)
    SensorFactory(equipment=inverter, sensor_type=SensorType.AC_POWER)
    inverter.equipment_type = EquipmentType.METER
    assert validation_messages(inverter) == {
        "equipment_type": [
            "This equipment has sensors of types ac_power, dc_voltage, which a meter may not have; "
            "change or remove those sensors first."
        ]
    }


def test_equipment_type_change_message_names_only_the_stranded_types(validation_messages):
    meter = EquipmentFactory(equipment_type=EquipmentType.METER)
    SensorFactory(equipment=meter, sensor_type=SensorType.PRODUCTION_METER_ENERGY)
    meter.equipment_type = EquipmentType.WEATHER_STATION
    assert validation_messages(meter) == {
        "equipment_type": [
            "This equipment has sensors of types production_meter_energy, which a weather station/pyranometer "
            "may not have; change or remove those sensors first."
        ]
    }


def test_equipment_type_change_that_keeps_every_sensor_allowed_is_valid(validation_messages):
    inverter = EquipmentFactory(equipment_type=EquipmentType.INVERTER)
    for sensor_type in ALLOWED[EquipmentType.INVERTER]:
        SensorFactory(equipment=inverter, sensor_type=sensor_type)
    inverter.equipment_type = EquipmentType.COMBINER
    assert validation_messages(inverter) == {}


def test_equipment_type_change_without_sensors_is_valid(validation_messages):
    inverter = EquipmentFactory(equipment_type=EquipmentType.INVERTER)
    inverter.equipment_type = EquipmentType.WEATHER_STATION
    assert validation_messages(inverter) == {}


# --- Sensor -------------------------------------------------------------------------------------


def test_sensor_from_the_factory_is_valid(validation_messages):
    assert validation_messages(SensorFactory()) == {}


@pytest.mark.parametrize(("equipment_type", "sensor_type"), ALLOWED_PAIRS, ids=map(pair_id, ALLOWED_PAIRS))
def test_sensor_type_allowed_for_the_equipment_type_is_valid(validation_messages, equipment_type, sensor_type):
    sensor = SensorFactory.build(equipment=EquipmentFactory(equipment_type=equipment_type), sensor_type=sensor_type)
    assert validation_messages(sensor) == {}


@pytest.mark.parametrize(("equipment_type", "sensor_type"), REFUSED_PAIRS, ids=map(pair_id, REFUSED_PAIRS))
def test_sensor_type_not_allowed_for_the_equipment_type_is_refused(validation_messages, equipment_type, sensor_type):
    sensor = SensorFactory.build(equipment=EquipmentFactory(equipment_type=equipment_type), sensor_type=sensor_type)
    expected = (
        f"'{sensor_type.value}' is not a sensor type of {ARTICLE_AND_NAME[equipment_type]}; "
        f"allowed: {', '.join(ALLOWED[equipment_type])}."
    )
    assert validation_messages(sensor) == {"sensor_type": [expected]}


def test_sensor_type_message_is_the_same_for_a_plain_string(validation_messages):
    """The admin gives plain strings, code gives enum members: both read as the value."""
    sensor = SensorFactory.build(equipment=EquipmentFactory(equipment_type="inverter"), sensor_type="irradiance_poa")
    assert validation_messages(sensor) == {
        "sensor_type": [
            "'irradiance_poa' is not a sensor type of an inverter; allowed: dc_voltage, dc_current_amp, ac_power, "
            "dc_power."
        ]
    }


def test_sensor_type_must_be_a_known_type(validation_messages):
    sensor = SensorFactory.build(equipment=EquipmentFactory(), sensor_type="temperature")
    assert validation_messages(sensor) == {"sensor_type": ["Value 'temperature' is not a valid choice."]}


def test_sensor_id_is_unique_within_its_equipment(validation_messages):
    equipment = EquipmentFactory()
    SensorFactory(equipment=equipment, sensor_id="S-1", sensor_type=SensorType.AC_POWER)
    sensor = SensorFactory.build(equipment=equipment, sensor_id="S-1", sensor_type=SensorType.DC_POWER)
    assert validation_messages(sensor) == {
        NON_FIELD_ERRORS: ["This equipment already has a sensor with this sensor ID."]
    }


def test_sensor_id_may_be_reused_on_other_equipment(validation_messages):
    SensorFactory(equipment=EquipmentFactory(), sensor_id="S-1")
    sensor = SensorFactory.build(equipment=EquipmentFactory(), sensor_id="S-1")
    assert validation_messages(sensor) == {}


def test_sensors_with_different_ids_may_share_a_type(validation_messages):
    equipment = EquipmentFactory()
    SensorFactory(equipment=equipment, sensor_id="S-1", sensor_type=SensorType.AC_POWER)
    sensor = SensorFactory.build(equipment=equipment, sensor_id="S-2", sensor_type=SensorType.AC_POWER)
    assert validation_messages(sensor) == {}


def test_sensors_without_sensor_id_are_allowed_when_their_types_differ(validation_messages):
    equipment = EquipmentFactory(equipment_type=EquipmentType.INVERTER)
    SensorFactory(equipment=equipment, sensor_id="", sensor_type=SensorType.AC_POWER)
    SensorFactory(equipment=equipment, sensor_id="", sensor_type=SensorType.DC_POWER)
    sensor = SensorFactory.build(equipment=equipment, sensor_id="", sensor_type=SensorType.DC_VOLTAGE)
    assert validation_messages(sensor) == {}


def test_two_sensors_without_sensor_id_of_the_same_type_are_refused(validation_messages):
    equipment = EquipmentFactory(equipment_type=EquipmentType.INVERTER)
    SensorFactory(equipment=equipment, sensor_id="", sensor_type=SensorType.AC_POWER)
    sensor = SensorFactory.build(equipment=equipment, sensor_id="", sensor_type=SensorType.AC_POWER)
    assert validation_messages(sensor) == {
        NON_FIELD_ERRORS: [
            "This equipment already has a sensor of this type without a sensor ID; give this one a sensor ID."
        ]
    }


def test_an_unnamed_sensor_may_share_its_type_with_a_named_one(validation_messages):
    equipment = EquipmentFactory(equipment_type=EquipmentType.INVERTER)
    SensorFactory(equipment=equipment, sensor_id="S-1", sensor_type=SensorType.AC_POWER)
    sensor = SensorFactory.build(equipment=equipment, sensor_id="", sensor_type=SensorType.AC_POWER)
    assert validation_messages(sensor) == {}


def test_an_unnamed_sensor_may_share_its_type_with_one_on_other_equipment(validation_messages):
    SensorFactory(equipment=EquipmentFactory(), sensor_id="", sensor_type=SensorType.AC_POWER)
    sensor = SensorFactory.build(equipment=EquipmentFactory(), sensor_id="", sensor_type=SensorType.AC_POWER)
    assert validation_messages(sensor) == {}


@pytest.mark.parametrize(
    ("sensor_type", "unit", "aggregation"),
    [
        ("dc_voltage", "V", "average"),
        ("dc_current_amp", "A", "average"),
        ("ac_power", "W", "average"),
        ("dc_power", "W", "average"),
        ("production_meter_energy", "Wh", "maximum"),
        ("production_meter_power", "W", "average"),
        ("irradiance_poa", "W/m^2", "average"),
        ("irradiance_ghi", "W/m^2", "average"),
    ],
)
def test_sensor_unit_and_aggregation_come_from_the_sensor_type_table(sensor_type, unit, aggregation):
    sensor = Sensor(sensor_type=sensor_type)
    assert (sensor.unit, sensor.aggregation) == (unit, aggregation)
    assert (sensor.unit, sensor.aggregation) == (SENSOR_TYPES[sensor_type].unit, SENSOR_TYPES[sensor_type].aggregation)


def test_sensor_unit_follows_a_saved_sensor_read_back_from_the_database():
    saved = SensorFactory(
        equipment=EquipmentFactory(equipment_type=EquipmentType.METER), sensor_type=SensorType.PRODUCTION_METER_ENERGY
    )
    sensor = Sensor.objects.get(pk=saved.pk)
    assert (sensor.unit, sensor.aggregation) == ("Wh", "maximum")


# --- Observation --------------------------------------------------------------------------------


def test_observation_from_the_factory_is_valid(validation_messages):
    assert validation_messages(ObservationFactory()) == {}


@pytest.mark.parametrize("value", [0.0, -12.5, 1e308, -1e308, 5e-324])
def test_observation_value_may_be_any_finite_number(validation_messages, value):
    observation = ObservationFactory.build(sensor=SensorFactory(), value=value)
    assert validation_messages(observation) == {}


@pytest.mark.parametrize(("value", "shown"), [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")])
def test_observation_value_must_be_finite(validation_messages, value, shown):
    observation = ObservationFactory.build(sensor=SensorFactory(), value=value)
    assert validation_messages(observation) == {"value": [f"{shown} is not a finite number."]}


def test_observation_time_without_time_zone_is_refused(validation_messages):
    observation = ObservationFactory.build(sensor=SensorFactory(), observed_at=datetime(2024, 6, 1, 12, 0))
    assert validation_messages(observation) == {
        "observed_at": [
            "2024-06-01 12:00:00 has no time zone; give the UTC offset (for example 2024-06-01 12:00+02:00)."
        ]
    }


def test_observation_time_with_any_offset_is_valid(validation_messages):
    observed_at = datetime(2024, 6, 1, 14, 0, tzinfo=dt_timezone(timedelta(hours=2)))
    observation = ObservationFactory.build(sensor=SensorFactory(), observed_at=observed_at)
    assert validation_messages(observation) == {}


def test_a_sensor_has_one_value_per_time(validation_messages):
    sensor = SensorFactory()
    ObservationFactory(sensor=sensor, observed_at=T0)
    observation = ObservationFactory.build(sensor=sensor, observed_at=T0)
    assert validation_messages(observation) == {NON_FIELD_ERRORS: ["This sensor already has a value at this time."]}


def test_the_same_instant_in_another_offset_is_the_same_time(validation_messages):
    sensor = SensorFactory()
    ObservationFactory(sensor=sensor, observed_at=T0)
    observation = ObservationFactory.build(sensor=sensor, observed_at=T0.astimezone(dt_timezone(timedelta(hours=-5))))
    assert validation_messages(observation) == {NON_FIELD_ERRORS: ["This sensor already has a value at this time."]}


def test_a_sensor_may_have_values_at_other_times_and_other_sensors_at_the_same_time(validation_messages):
    sensor = SensorFactory()
    ObservationFactory(sensor=sensor, observed_at=T0)
    assert validation_messages(ObservationFactory.build(sensor=sensor, observed_at=T0 + timedelta(minutes=15))) == {}
    assert validation_messages(ObservationFactory.build(sensor=SensorFactory(), observed_at=T0)) == {}


# --- The database refuses the same rows without full_clean() -------------------------------------


def farm_row(portfolio, **overrides):
    row = {
        "portfolio": portfolio,
        "farm_id": "FARM-DB",
        "name": "Farm",
        "timezone": "UTC",
        "latitude": 40.0,
        "longitude": -75.0,
        "dc_capacity_kw": 100.0,
    }
    return row | overrides


def test_database_accepts_a_valid_farm_row():
    Farm.objects.create(**farm_row(PortfolioFactory()))
    assert Farm.objects.filter(farm_id="FARM-DB").exists()


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"farm_id": ""}, id="blank farm_id"),
        pytest.param({"latitude": 91.0}, id="latitude 91"),
        pytest.param({"latitude": -91.0}, id="latitude -91"),
        pytest.param({"longitude": 181.0}, id="longitude 181"),
        pytest.param({"longitude": None}, id="latitude without longitude"),
        pytest.param({"latitude": None}, id="longitude without latitude"),
        pytest.param({"dc_capacity_kw": 0.0}, id="dc capacity 0"),
        pytest.param({"dc_capacity_kw": -5.0}, id="dc capacity negative"),
        pytest.param({"dc_capacity_kw": math.inf}, id="dc capacity inf"),
    ],
)
def test_database_refuses_an_invalid_farm_row(overrides):
    portfolio = PortfolioFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Farm.objects.create(**farm_row(portfolio, **overrides))


def test_database_refuses_a_duplicate_farm_id():
    portfolio = PortfolioFactory()
    Farm.objects.create(**farm_row(portfolio))
    with pytest.raises(IntegrityError), transaction.atomic():
        Farm.objects.create(**farm_row(portfolio, name="Another farm"))


def test_database_refuses_a_duplicate_equipment_id_in_one_farm():
    farm = FarmFactory()
    Equipment.objects.create(farm=farm, equipment_id="INV-1", name="a", equipment_type="inverter")
    with pytest.raises(IntegrityError), transaction.atomic():
        Equipment.objects.create(farm=farm, equipment_id="INV-1", name="b", equipment_type="inverter")


def test_database_accepts_an_equipment_id_again_in_another_farm():
    Equipment.objects.create(farm=FarmFactory(), equipment_id="INV-1", name="a", equipment_type="inverter")
    Equipment.objects.create(farm=FarmFactory(), equipment_id="INV-1", name="b", equipment_type="inverter")
    assert Equipment.objects.filter(equipment_id="INV-1").count() == 2


def test_database_refuses_a_blank_equipment_id():
    farm = FarmFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Equipment.objects.create(farm=farm, equipment_id="", name="a", equipment_type="inverter")


def test_database_refuses_an_unknown_equipment_type():
    farm = FarmFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Equipment.objects.create(farm=farm, equipment_id="X-1", name="a", equipment_type="solar_panel")


def test_database_refuses_an_unknown_sensor_type():
    equipment = EquipmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Sensor.objects.create(equipment=equipment, sensor_id="S-1", sensor_type="temperature")


def test_database_refuses_a_duplicate_sensor_id_in_one_equipment():
    equipment = EquipmentFactory()
    Sensor.objects.create(equipment=equipment, sensor_id="S-1", sensor_type="ac_power")
    with pytest.raises(IntegrityError), transaction.atomic():
        Sensor.objects.create(equipment=equipment, sensor_id="S-1", sensor_type="dc_power")


def test_database_accepts_unnamed_sensors_of_different_types():
    equipment = EquipmentFactory()
    Sensor.objects.bulk_create(
        [
            Sensor(equipment=equipment, sensor_id="", sensor_type="ac_power"),
            Sensor(equipment=equipment, sensor_id="", sensor_type="dc_power"),
        ]
    )
    assert equipment.sensors.filter(sensor_id="").count() == 2


def test_database_refuses_two_unnamed_sensors_of_one_type():
    equipment = EquipmentFactory()
    Sensor.objects.create(equipment=equipment, sensor_id="", sensor_type="ac_power")
    with pytest.raises(IntegrityError), transaction.atomic():
        Sensor.objects.create(equipment=equipment, sensor_id="", sensor_type="ac_power")


def test_database_refuses_two_unnamed_sensors_of_one_type_in_one_bulk_create():
    equipment = EquipmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Sensor.objects.bulk_create(
            [
                Sensor(equipment=equipment, sensor_id="", sensor_type="ac_power"),
                Sensor(equipment=equipment, sensor_id="", sensor_type="ac_power"),
            ]
        )


def test_database_refuses_a_second_value_for_one_sensor_and_time():
    sensor = SensorFactory()
    Observation.objects.create(sensor=sensor, observed_at=T0, value=1.0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Observation.objects.create(sensor=sensor, observed_at=T0, value=2.0)


def test_database_accepts_finite_extreme_values():
    sensor = SensorFactory()
    Observation.objects.bulk_create(
        [
            Observation(sensor=sensor, observed_at=T0, value=1.7976931348623157e308),
            Observation(sensor=sensor, observed_at=T0 + timedelta(minutes=15), value=-1.7976931348623157e308),
        ]
    )
    assert sensor.observations.count() == 2


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=["inf", "-inf", "nan"])
def test_database_refuses_a_value_that_is_not_finite(value):
    # NaN: SQLite stores it as NULL, which NOT NULL refuses; PostgreSQL stores NaN, which the CHECK refuses.
    sensor = SensorFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Observation.objects.create(sensor=sensor, observed_at=T0, value=value)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=["inf", "-inf", "nan"])
def test_database_refuses_a_value_that_is_not_finite_in_bulk_create(value):
    sensor = SensorFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Observation.objects.bulk_create([Observation(sensor=sensor, observed_at=T0, value=value)])


# --- The observation table's indexes -----------------------------------------------------------


def observation_indexes():
    """{name: columns} of every index of the observation table, unique or not, but the primary key."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "portfolio_observation")
    return {
        name: (info["columns"], info["unique"])
        for name, info in constraints.items()
        if (info["index"] or info["unique"]) and not info["primary_key"]
    }


def test_observation_table_has_a_unique_index_on_sensor_and_time():
    assert (["sensor_id", "observed_at"], True) in observation_indexes().values()


def test_observation_table_has_an_index_on_ingested_at():
    assert (["ingested_at"], False) in observation_indexes().values()


def test_observation_table_has_no_other_index_leading_with_sensor_id():
    leading_with_sensor = [
        (columns, unique) for columns, unique in observation_indexes().values() if columns[0] == "sensor_id"
    ]
    assert leading_with_sensor == [(["sensor_id", "observed_at"], True)]
