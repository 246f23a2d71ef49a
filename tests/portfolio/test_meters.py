"""Meters and their readings, as WattCarbon takes them (contracts.md, section 2).

The rules, one test (or one parametrized family) each:

* Location (the ``Located`` mixin, shared by meters and assets): an address in parts needs
  the street and the city, a one-line address alone is enough, so are latitude and longitude;
  a half pair of coordinates or no location at all is refused, by validation and by the database.
* A meter's name is unique within its portfolio.
* A meter fed by a farm's production meter: the source is equipment of type meter, with a
  production-meter sensor, on a farm of the same portfolio, and the meter is an electricity meter.
* Readings keep the quantity and unit as entered; the database computes ``energy_kwh``
  (29.3071 kWh per therm), also for rows written in bulk. Gas meters may be read in therms,
  electricity meters only in kWh.
* Interval readings cover more than nothing and at most 25 hours (a local day across a DST
  change), carry time zones, are finite, may be negative, and do not overlap on one meter.
* Bills end after they start and do not overlap, but consecutive bills may share a boundary day.
* What the database refuses on its own, when validation is skipped.
"""

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from portfolio.choices import EnergyUnit, EquipmentType, MeterType, SensorType
from portfolio.models import BillReading, IntervalReading, Meter
from tests.factories import (
    BillReadingFactory,
    EquipmentFactory,
    FarmFactory,
    IntervalReadingFactory,
    MeterFactory,
    PortfolioFactory,
    SensorFactory,
)

T0 = datetime(2024, 3, 1, tzinfo=UTC)
KWH_PER_THERM = 29.3071

NO_LOCATION = {
    "street": "",
    "city": "",
    "state": "",
    "postal_code": "",
    "country": "",
    "address": "",
    "latitude": None,
    "longitude": None,
}


def parts_message(part):
    return (
        "An address in parts needs all five parts (street, city, state, postal code and country); "
        f"the {part.replace('_', ' ')} is missing. Or clear the parts and give a one-line address or coordinates."
    )


NO_LOCATION_MESSAGE = "Give a location: an address in parts, a one-line address, or latitude and longitude."


def unsaved_meter(**kwargs):
    """A meter of a saved portfolio, not saved itself, with no location unless one is given."""
    return MeterFactory.build(portfolio=PortfolioFactory(), **{**NO_LOCATION, **kwargs})


# Location ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "location",
    [
        pytest.param(
            {"street": "60 Greene St", "city": "Riverside", "state": "IA", "postal_code": "52327", "country": "US"},
            id="all-parts",
        ),
        pytest.param({"address": "60 Greene St Riverside IA"}, id="one-line-address"),
        pytest.param({"latitude": 41.48, "longitude": -91.58}, id="coordinates"),
    ],
)
def test_a_meter_located_by_parts_one_line_address_or_coordinates_is_valid(validation_messages, location):
    assert validation_messages(unsaved_meter(**location)) == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("location", "missing"),
    [
        pytest.param({"street": "60 Greene St", "city": "Riverside"}, "state", id="street-and-city-only"),
        pytest.param({"city": "Riverside", "state": "IA"}, "street", id="city-without-street"),
        pytest.param({"country": "US"}, "street", id="country-only"),
    ],
)
def test_an_address_in_parts_needs_all_five_parts(validation_messages, location, missing):
    messages = validation_messages(unsaved_meter(**location))

    assert messages[missing] == [parts_message(missing)]
    assert "address" not in messages


@pytest.mark.django_db
def test_an_incomplete_address_in_parts_names_each_missing_part(validation_messages):
    messages = validation_messages(unsaved_meter(state="IA", country="US"))

    assert messages == {part: [parts_message(part)] for part in ("street", "city", "postal_code")}


@pytest.mark.django_db
def test_incomplete_parts_are_refused_even_with_a_one_line_address(validation_messages):
    messages = validation_messages(unsaved_meter(address="60 Greene St Riverside IA", street="60 Greene St"))

    assert set(messages) == {"city", "state", "postal_code", "country"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("coordinates", "missing"),
    [({"latitude": 41.48}, "longitude"), ({"longitude": -91.58}, "latitude")],
)
def test_a_half_pair_of_coordinates_is_refused(validation_messages, coordinates, missing):
    messages = validation_messages(unsaved_meter(**coordinates))

    assert messages == {missing: ["Give both latitude and longitude, or neither."]}


@pytest.mark.django_db
def test_a_meter_without_any_location_is_refused_on_the_address(validation_messages):
    assert validation_messages(unsaved_meter()) == {"address": [NO_LOCATION_MESSAGE]}


@pytest.mark.django_db
def test_coordinates_out_of_range_are_refused(validation_messages):
    messages = validation_messages(unsaved_meter(latitude=91.0, longitude=-181.0))

    assert set(messages) == {"latitude", "longitude"}


@pytest.mark.django_db
def test_the_database_refuses_a_meter_without_a_location():
    with pytest.raises(IntegrityError), transaction.atomic():
        MeterFactory(**NO_LOCATION)
    assert not Meter.objects.exists()


@pytest.mark.django_db
def test_the_database_refuses_a_meter_with_a_half_pair_of_coordinates():
    with pytest.raises(IntegrityError), transaction.atomic():
        MeterFactory(latitude=41.48, longitude=None)


# Meter names ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_meter_name_is_unique_within_a_portfolio(validation_messages):
    existing = MeterFactory(name="Main")

    messages = validation_messages(MeterFactory.build(portfolio=existing.portfolio, name="Main"))

    assert messages == {"__all__": ["This portfolio already has a meter with this name."]}


@pytest.mark.django_db
def test_a_meter_name_may_be_reused_in_another_portfolio(validation_messages):
    MeterFactory(name="Main")

    assert validation_messages(MeterFactory.build(portfolio=PortfolioFactory(), name="Main")) == {}


@pytest.mark.django_db
def test_the_database_refuses_a_second_meter_of_the_same_name_in_a_portfolio():
    existing = MeterFactory(name="Main")

    with pytest.raises(IntegrityError), transaction.atomic():
        MeterFactory(portfolio=existing.portfolio, name="Main")


# Source equipment ----------------------------------------------------------------------


def production_meter(portfolio, sensor_type=SensorType.PRODUCTION_METER_ENERGY):
    """Meter equipment on a farm of the portfolio, with one production-meter sensor."""
    equipment = EquipmentFactory(farm=FarmFactory(portfolio=portfolio), equipment_type=EquipmentType.METER)
    SensorFactory(equipment=equipment, sensor_type=sensor_type)
    return equipment


@pytest.mark.django_db
@pytest.mark.parametrize("sensor_type", [SensorType.PRODUCTION_METER_ENERGY, SensorType.PRODUCTION_METER_POWER])
def test_an_electricity_meter_may_be_fed_by_a_production_meter_of_its_portfolio(validation_messages, sensor_type):
    portfolio = PortfolioFactory()
    meter = MeterFactory.build(portfolio=portfolio, source_equipment=production_meter(portfolio, sensor_type))

    assert validation_messages(meter) == {}


@pytest.mark.django_db
def test_the_source_equipment_must_be_a_meter(validation_messages):
    portfolio = PortfolioFactory()
    inverter = EquipmentFactory(farm=FarmFactory(portfolio=portfolio), equipment_type=EquipmentType.INVERTER)
    SensorFactory(equipment=inverter, sensor_type=SensorType.AC_POWER)

    messages = validation_messages(MeterFactory.build(portfolio=portfolio, source_equipment=inverter))

    # The field's choice limit refuses it too; the model's own message says why.
    assert f"Choose a meter; {inverter.equipment_id} is an inverter." in messages["source_equipment"]
    assert set(messages) == {"source_equipment"}


@pytest.mark.django_db
def test_the_source_meter_needs_a_production_meter_sensor(validation_messages):
    portfolio = PortfolioFactory()
    bare = EquipmentFactory(farm=FarmFactory(portfolio=portfolio), equipment_type=EquipmentType.METER)

    messages = validation_messages(MeterFactory.build(portfolio=portfolio, source_equipment=bare))

    assert messages == {
        "source_equipment": [f"{bare.equipment_id} has no production_meter_energy or production_meter_power sensor."]
    }


@pytest.mark.django_db
def test_the_source_meter_must_be_on_a_farm_of_the_same_portfolio(validation_messages):
    elsewhere = production_meter(PortfolioFactory())

    messages = validation_messages(MeterFactory.build(portfolio=PortfolioFactory(), source_equipment=elsewhere))

    assert messages == {"source_equipment": [f"{elsewhere.equipment_id} belongs to a farm of another portfolio."]}


@pytest.mark.django_db
def test_a_production_meter_feeds_an_electricity_meter_only(validation_messages):
    portfolio = PortfolioFactory()
    meter = MeterFactory.build(
        portfolio=portfolio, meter_type=MeterType.GAS, source_equipment=production_meter(portfolio)
    )

    assert validation_messages(meter) == {"source_equipment": ["A production meter feeds an electricity meter only."]}


# Readings: quantity, unit and kWh -------------------------------------------------------

READING_FACTORIES = [
    pytest.param(IntervalReadingFactory, id="interval"),
    pytest.param(BillReadingFactory, id="bill"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("factory", READING_FACTORIES)
def test_therms_on_a_gas_meter_are_stored_as_entered_and_converted_to_kwh(validation_messages, factory):
    reading = factory.build(meter=MeterFactory(meter_type=MeterType.GAS), quantity=10.0, unit=EnergyUnit.THERM)
    assert validation_messages(reading) == {}
    reading.save()

    reading.refresh_from_db()

    assert reading.energy_kwh == pytest.approx(10.0 * KWH_PER_THERM)
    assert reading.quantity == 10.0
    assert reading.unit == EnergyUnit.THERM


@pytest.mark.django_db
@pytest.mark.parametrize("meter_type", [MeterType.ELECTRICITY, MeterType.GAS])
@pytest.mark.parametrize("factory", READING_FACTORIES)
def test_kwh_are_stored_as_they_are(validation_messages, factory, meter_type):
    reading = factory.build(meter=MeterFactory(meter_type=meter_type), quantity=12.5, unit=EnergyUnit.KWH)
    assert validation_messages(reading) == {}
    reading.save()

    reading.refresh_from_db()

    assert reading.energy_kwh == pytest.approx(12.5)
    assert (reading.quantity, reading.unit) == (12.5, EnergyUnit.KWH)


@pytest.mark.django_db
def test_the_database_computes_kwh_for_interval_readings_written_in_bulk():
    meter = MeterFactory(meter_type=MeterType.GAS)
    IntervalReading.objects.bulk_create(
        [
            IntervalReadingFactory.build(
                meter=meter, start=T0, end=T0 + timedelta(hours=1), quantity=2.0, unit="therm"
            ),
            IntervalReadingFactory.build(
                meter=meter, start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=2), quantity=3.0, unit="kWh"
            ),
        ]
    )

    stored = list(IntervalReading.objects.filter(meter=meter).order_by("start").values_list("unit", "energy_kwh"))

    assert stored == [("therm", pytest.approx(2.0 * KWH_PER_THERM)), ("kWh", pytest.approx(3.0))]


@pytest.mark.django_db
def test_the_database_computes_kwh_for_bills_written_in_bulk():
    meter = MeterFactory(meter_type=MeterType.GAS)
    BillReading.objects.bulk_create(
        [
            BillReadingFactory.build(
                meter=meter, start_date=date(2024, 1, 1), end_date=date(2024, 2, 1), quantity=100.0, unit="therm"
            )
        ]
    )

    bill = BillReading.objects.get(meter=meter)

    assert bill.energy_kwh == pytest.approx(100.0 * KWH_PER_THERM)
    assert (bill.quantity, bill.unit) == (100.0, "therm")


@pytest.mark.django_db
@pytest.mark.parametrize("factory", READING_FACTORIES)
def test_an_electricity_meter_is_not_read_in_therms(validation_messages, factory):
    reading = factory.build(meter=MeterFactory(meter_type=MeterType.ELECTRICITY), unit=EnergyUnit.THERM)

    messages = validation_messages(reading)

    assert set(messages) == {"unit"}
    assert len(messages["unit"]) == 1
    assert messages["unit"][0] == "An electricity meter is read in kWh, not therm."


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("factory", READING_FACTORIES)
def test_a_quantity_must_be_a_finite_number(validation_messages, factory, quantity):
    messages = validation_messages(factory.build(meter=MeterFactory(), quantity=quantity))

    assert messages == {"quantity": [f"{quantity} is not a finite number."]}


@pytest.mark.django_db
@pytest.mark.parametrize("factory", READING_FACTORIES)
def test_a_negative_quantity_is_extra_consumption_and_accepted(validation_messages, factory):
    reading = factory.build(meter=MeterFactory(), quantity=-4.5)
    assert validation_messages(reading) == {}
    reading.save()

    reading.refresh_from_db()

    assert reading.energy_kwh == pytest.approx(-4.5)


# Interval readings: periods ------------------------------------------------------------


def interval(meter, start, length):
    return IntervalReadingFactory.build(meter=meter, start=start, end=start + length)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "length",
    [
        pytest.param(timedelta(minutes=15), id="15-minutes"),
        pytest.param(timedelta(hours=1), id="hourly"),
        pytest.param(timedelta(hours=24), id="daily"),
        pytest.param(timedelta(hours=25), id="a-day-with-a-dst-change"),
    ],
)
def test_intervals_of_a_day_or_less_are_accepted(validation_messages, length):
    assert validation_messages(interval(MeterFactory(), T0, length)) == {}


@pytest.mark.django_db
def test_an_interval_longer_than_25_hours_is_refused(validation_messages):
    messages = validation_messages(interval(MeterFactory(), T0, timedelta(hours=25, minutes=1)))

    assert messages == {"end": ["An interval reading covers a day at most; enter longer periods as bills."]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "length", [pytest.param(timedelta(0), id="empty"), pytest.param(timedelta(hours=-1), id="backwards")]
)
def test_an_interval_must_end_after_it_starts(validation_messages, length):
    messages = validation_messages(interval(MeterFactory(), T0, length))

    assert messages == {"end": ["The end must be after the start."]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "length"),
    [
        pytest.param(T0, timedelta(hours=1), id="same-period"),
        pytest.param(T0 + timedelta(minutes=30), timedelta(hours=1), id="starts-inside"),
        pytest.param(T0 - timedelta(minutes=30), timedelta(hours=1), id="ends-inside"),
        pytest.param(T0 + timedelta(minutes=15), timedelta(minutes=15), id="within"),
        pytest.param(T0 - timedelta(hours=1), timedelta(hours=3), id="around"),
    ],
)
def test_overlapping_intervals_of_one_meter_are_refused(validation_messages, start, length):
    existing = IntervalReadingFactory(start=T0, end=T0 + timedelta(hours=1))

    messages = validation_messages(interval(existing.meter, start, length))

    assert f"This period overlaps the reading {existing.period} of meter {existing.meter.name}." in messages["__all__"]
    assert set(messages) == {"__all__"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "start", [pytest.param(T0 + timedelta(hours=1), id="after"), pytest.param(T0 - timedelta(hours=1), id="before")]
)
def test_touching_intervals_are_accepted(validation_messages, start):
    existing = IntervalReadingFactory(start=T0, end=T0 + timedelta(hours=1))

    assert validation_messages(interval(existing.meter, start, timedelta(hours=1))) == {}


@pytest.mark.django_db
def test_the_same_period_on_another_meter_is_accepted(validation_messages):
    IntervalReadingFactory(start=T0, end=T0 + timedelta(hours=1))

    assert validation_messages(interval(MeterFactory(), T0, timedelta(hours=1))) == {}


@pytest.mark.django_db
def test_a_saved_interval_does_not_overlap_itself(validation_messages):
    reading = IntervalReadingFactory(start=T0, end=T0 + timedelta(hours=1))
    reading.quantity = 20.0

    assert validation_messages(reading) == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("naive", "fields"),
    [
        pytest.param({"start": datetime(2024, 3, 1, 12)}, {"start"}, id="start"),
        pytest.param({"end": datetime(2024, 3, 1, 13)}, {"end"}, id="end"),
        pytest.param({"start": datetime(2024, 3, 1, 12), "end": datetime(2024, 3, 1, 13)}, {"start", "end"}, id="both"),
    ],
)
def test_interval_times_without_a_time_zone_are_refused(validation_messages, naive, fields):
    IntervalReadingFactory()  # an existing reading, for the overlap check to look at
    reading = IntervalReadingFactory.build(
        meter=MeterFactory(), **{"start": T0 + timedelta(hours=12), "end": T0 + timedelta(hours=13), **naive}
    )

    messages = validation_messages(reading)

    assert set(messages) == fields
    for field in fields:
        assert "has no time zone; give the UTC offset" in messages[field][0]


# Bills ---------------------------------------------------------------------------------


def bill(meter, start_date, end_date):
    return BillReadingFactory.build(meter=meter, start_date=start_date, end_date=end_date)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "end_date", [pytest.param(date(2024, 1, 1), id="same-day"), pytest.param(date(2023, 12, 1), id="backwards")]
)
def test_a_bill_must_end_after_it_starts(validation_messages, end_date):
    messages = validation_messages(bill(MeterFactory(), date(2024, 1, 1), end_date))

    assert messages == {"end_date": ["The end date must be after the start date."]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start_date", "end_date"),
    [
        pytest.param(date(2024, 1, 1), date(2024, 1, 31), id="same-cycle"),
        pytest.param(date(2024, 1, 15), date(2024, 2, 15), id="starts-inside"),
        pytest.param(date(2023, 12, 15), date(2024, 1, 15), id="ends-inside"),
        pytest.param(date(2023, 12, 1), date(2024, 3, 1), id="around"),
    ],
)
def test_overlapping_bills_of_one_meter_are_refused(validation_messages, start_date, end_date):
    existing = BillReadingFactory(start_date=date(2024, 1, 1), end_date=date(2024, 1, 31))

    messages = validation_messages(bill(existing.meter, start_date, end_date))

    overlap = f"This period overlaps the reading 2024-01-01 to 2024-01-31 of meter {existing.meter.name}."
    assert overlap in messages["__all__"]
    assert set(messages) == {"__all__"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start_date", "end_date"),
    [
        pytest.param(date(2024, 1, 31), date(2024, 3, 1), id="next-bill"),
        pytest.param(date(2023, 12, 1), date(2024, 1, 1), id="previous-bill"),
    ],
)
def test_consecutive_bills_may_share_their_boundary_day(validation_messages, start_date, end_date):
    existing = BillReadingFactory(start_date=date(2024, 1, 1), end_date=date(2024, 1, 31))

    assert validation_messages(bill(existing.meter, start_date, end_date)) == {}


@pytest.mark.django_db
def test_the_same_billing_cycle_on_another_meter_is_accepted(validation_messages):
    BillReadingFactory(start_date=date(2024, 1, 1), end_date=date(2024, 1, 31))

    assert validation_messages(bill(MeterFactory(), date(2024, 1, 1), date(2024, 1, 31))) == {}


# What the database refuses without validation ------------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_two_intervals_of_one_meter_starting_together():
    existing = IntervalReadingFactory(start=T0, end=T0 + timedelta(hours=1))

    with pytest.raises(IntegrityError), transaction.atomic():
        IntervalReadingFactory(meter=existing.meter, start=T0, end=T0 + timedelta(minutes=15))
    assert IntervalReading.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("length", [timedelta(0), timedelta(hours=-1)], ids=["empty", "backwards"])
def test_the_database_refuses_an_interval_that_does_not_end_after_its_start(length):
    with pytest.raises(IntegrityError), transaction.atomic():
        IntervalReadingFactory(start=T0, end=T0 + length)


@pytest.mark.django_db
def test_the_database_refuses_two_bills_of_one_meter_starting_on_the_same_day():
    existing = BillReadingFactory(start_date=date(2024, 1, 1), end_date=date(2024, 1, 31))

    with pytest.raises(IntegrityError), transaction.atomic():
        BillReadingFactory(meter=existing.meter, start_date=date(2024, 1, 1), end_date=date(2024, 1, 15))
    assert BillReading.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("end_date", [date(2024, 1, 1), date(2023, 12, 1)], ids=["same-day", "backwards"])
def test_the_database_refuses_a_bill_that_does_not_end_after_its_start(end_date):
    with pytest.raises(IntegrityError), transaction.atomic():
        BillReadingFactory(start_date=date(2024, 1, 1), end_date=end_date)


@pytest.mark.django_db
@pytest.mark.parametrize("factory", READING_FACTORIES)
def test_the_database_refuses_an_unknown_unit(factory):
    meter = MeterFactory(meter_type=MeterType.GAS)

    with pytest.raises(IntegrityError), transaction.atomic():
        factory(meter=meter, unit="m3")


@pytest.mark.django_db
@pytest.mark.parametrize("factory", READING_FACTORIES)
def test_validation_refuses_an_unknown_unit(validation_messages, factory):
    messages = validation_messages(factory.build(meter=MeterFactory(meter_type=MeterType.GAS), unit="m3"))

    assert "Value 'm3' is not a valid choice." in messages["unit"]


@pytest.mark.django_db
def test_the_database_refuses_an_unknown_meter_type():
    with pytest.raises(IntegrityError), transaction.atomic():
        MeterFactory(meter_type="water")
    assert not Meter.objects.exists()


@pytest.mark.django_db
def test_validation_refuses_an_unknown_meter_type(validation_messages):
    messages = validation_messages(MeterFactory.build(portfolio=PortfolioFactory(), meter_type="water"))

    assert messages == {"meter_type": ["Value 'water' is not a valid choice."]}
