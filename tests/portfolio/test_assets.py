"""Assets as WattCarbon registers them, and the events of demand-response assets (contracts.md, 2.3 and 2.4).

The rules, one test (or one parametrized family) each:

* Which kind-specific fields a kind requires, and which it may carry, is the table
  ``choices.ASSET_KINDS``: every required field is checked for every kind, with a message
  naming the kind; a field of another kind is refused; a complete asset of each kind is valid.
* A solar asset gives its external registry's name and its ID in it together, or neither.
* The custom ID is unique within a portfolio (validation and database), reusable in another.
* The farm and the meters of an asset belong to the asset's portfolio.
* An asset that has events keeps a kind that has events.
* An asset needs a location, like a meter.
* Numbers are in range, by validation and, where the model has a check, by the database.
* Demand-response events: only on demand_response_eemetered assets, end after start, with
  time zones, not overlapping on one asset (back to back is fine), one per start time.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portfolio.choices import (
    ASSET_KINDS,
    KIND_FIELDS,
    KINDS_WITH_EVENTS,
    AssetKind,
    BuildingType,
    PreviousFuel,
    ReplacementType,
)
from portfolio.models import Asset, DemandResponseEvent
from tests.factories import (
    AssetFactory,
    DemandResponseEventFactory,
    FarmFactory,
    MeterFactory,
    PortfolioFactory,
)

T0 = datetime(2024, 7, 1, 21, tzinfo=UTC)

# Factory traits that make a complete asset of a kind; kinds without fields need only the kind.
TRAITS = {
    AssetKind.SOLAR: {"solar": True},
    AssetKind.ELECTRIFICATION_EEMETERED: {"electrification": True},
    AssetKind.DEMAND_RESPONSE_EEMETERED: {"demand_response": True},
}

# A valid value for every kind-specific field, to set it on an asset of a kind it does not belong to.
FIELD_VALUES = {
    "nameplate_capacity_kw": 123.0,
    "inverter_data_id": "1234",
    "inverter_data_source": "enphase",
    "external_registry_name": "GATS",
    "external_registry_asset_id": "45678",
    "area_sqft": 1500,
    "previous_fuel": PreviousFuel.GAS,
    "building_type": BuildingType.SINGLE_FAMILY_ATTACHED,
    "replacement_type": ReplacementType.FURNACE_ONLY,
    "year_built": 1990,
    "number_of_stories": 2,
}

REQUIRED_FIELDS = [
    pytest.param(kind, field, id=f"{kind.value}-{field}")
    for kind, spec in ASSET_KINDS.items()
    for field in spec.required
]
FOREIGN_FIELDS = [
    pytest.param(kind, field, id=f"{kind.value}-{field}")
    for kind, spec in ASSET_KINDS.items()
    for field in KIND_FIELDS
    if field not in spec.fields
]
KINDS_WITHOUT_EVENTS = [kind for kind in AssetKind if kind not in KINDS_WITH_EVENTS]

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
WHOLE_ADDRESS = {
    "street": "606 Ellis St",
    "city": "San Francisco",
    "state": "CA",
    "postal_code": "94109",
    "country": "US",
}
NEXT_YEAR = datetime.now(UTC).year + 1


def asset_of_kind(kind, **kwargs):
    """A complete, unsaved asset of this kind in a saved portfolio."""
    kwargs.setdefault("portfolio", PortfolioFactory())
    return AssetFactory.build(**TRAITS.get(kind, {"kind": kind}), **kwargs)


def empty_value(field):
    return None if Asset._meta.get_field(field).null else ""


# The kind table ------------------------------------------------------------------------


def test_every_kind_is_in_the_kind_table_and_every_kind_field_is_a_model_field():
    assert set(ASSET_KINDS) == set(AssetKind)
    model_fields = {field.name for field in Asset._meta.get_fields()}
    assert set(KIND_FIELDS) <= model_fields
    assert set(FIELD_VALUES) == set(KIND_FIELDS)


def test_the_table_requires_the_documented_solar_and_electrification_fields():
    assert ASSET_KINDS[AssetKind.SOLAR].required == (
        "nameplate_capacity_kw",
        "inverter_data_id",
        "inverter_data_source",
    )
    assert set(ASSET_KINDS[AssetKind.ELECTRIFICATION_EEMETERED].required) == {
        "area_sqft",
        "previous_fuel",
        "building_type",
        "replacement_type",
        "year_built",
        "number_of_stories",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(AssetKind), ids=lambda kind: kind.value)
def test_a_complete_asset_of_each_kind_is_valid(validation_messages, kind):
    asset = asset_of_kind(kind)

    assert asset.kind == kind
    assert validation_messages(asset) == {}
    assert asset.kind_errors() == {}


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "field"), REQUIRED_FIELDS)
def test_an_asset_missing_a_field_its_kind_requires_is_invalid(validation_messages, kind, field):
    asset = asset_of_kind(kind, **{field: empty_value(field)})

    messages = validation_messages(asset)

    assert messages == {field: [f"Required for {kind.label.lower()} assets."]}


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "field"), FOREIGN_FIELDS)
def test_a_field_of_another_kind_is_refused(validation_messages, kind, field):
    asset = asset_of_kind(kind, **{field: FIELD_VALUES[field]})

    messages = validation_messages(asset)

    assert messages == {field: [f"Not a field of {kind.label.lower()} assets; clear it or change the kind."]}


@pytest.mark.django_db
def test_a_solar_asset_may_leave_out_the_external_registry(validation_messages):
    asset = asset_of_kind(AssetKind.SOLAR, external_registry_name="", external_registry_asset_id="")

    assert validation_messages(asset) == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ("external_registry_name", "external_registry_asset_id"),
        ("external_registry_asset_id", "external_registry_name"),
    ],
)
def test_a_solar_asset_gives_the_registry_name_and_its_asset_id_together(validation_messages, given, missing):
    asset = asset_of_kind(AssetKind.SOLAR, **{missing: ""})
    assert getattr(asset, given)

    messages = validation_messages(asset)

    assert messages == {missing: ["Give the external registry's name and the asset's ID in it together."]}


# Custom ID -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_custom_id_is_unique_within_a_portfolio(validation_messages):
    existing = AssetFactory(custom_id="SITE-1")

    messages = validation_messages(AssetFactory.build(portfolio=existing.portfolio, custom_id="SITE-1"))

    assert messages == {"__all__": ["This portfolio already has an asset with this custom ID."]}


@pytest.mark.django_db
def test_a_custom_id_may_be_reused_in_another_portfolio(validation_messages):
    AssetFactory(custom_id="SITE-1")

    assert validation_messages(AssetFactory.build(portfolio=PortfolioFactory(), custom_id="SITE-1")) == {}


@pytest.mark.django_db
def test_the_database_refuses_a_second_asset_with_the_same_custom_id_in_a_portfolio():
    existing = AssetFactory(custom_id="SITE-1")

    with pytest.raises(IntegrityError), transaction.atomic():
        AssetFactory(portfolio=existing.portfolio, custom_id="SITE-1")
    assert Asset.objects.count() == 1


@pytest.mark.django_db
def test_the_database_accepts_the_same_custom_id_in_another_portfolio():
    AssetFactory(custom_id="SITE-1")
    AssetFactory(custom_id="SITE-1")

    assert Asset.objects.filter(custom_id="SITE-1").count() == 2


@pytest.mark.django_db
def test_the_database_refuses_a_blank_custom_id():
    with pytest.raises(IntegrityError), transaction.atomic():
        AssetFactory(custom_id="")


# Farm and meters -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_farm_must_be_in_the_assets_portfolio(validation_messages):
    asset = asset_of_kind(AssetKind.SOLAR, farm=FarmFactory(portfolio=PortfolioFactory()))

    assert validation_messages(asset) == {"farm": ["This farm belongs to another portfolio."]}


@pytest.mark.django_db
def test_a_farm_of_the_assets_portfolio_is_accepted(validation_messages):
    portfolio = PortfolioFactory()
    asset = asset_of_kind(AssetKind.SOLAR, portfolio=portfolio, farm=FarmFactory(portfolio=portfolio))

    assert validation_messages(asset) == {}


@pytest.mark.django_db
def test_meters_of_another_portfolio_are_refused_and_listed():
    asset = AssetFactory()
    other = PortfolioFactory()
    foreign = [MeterFactory(portfolio=other, name="Gas B"), MeterFactory(portfolio=other, name="Gas A")]
    own = MeterFactory(portfolio=asset.portfolio, name="Own")

    with pytest.raises(ValidationError) as raised:
        asset.clean_meters([own, *foreign])

    assert raised.value.message_dict == {"meters": ["These meters belong to another portfolio: Gas A, Gas B."]}


@pytest.mark.django_db
def test_meters_of_the_assets_own_portfolio_are_accepted():
    asset = AssetFactory()
    meters = [MeterFactory(portfolio=asset.portfolio), MeterFactory(portfolio=asset.portfolio)]

    asset.clean_meters(meters)  # does not raise
    asset.meters.set(meters)

    assert set(asset.meters.all()) == set(meters)


# Kind changes --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS_WITHOUT_EVENTS, ids=lambda kind: kind.value)
def test_an_asset_with_events_cannot_change_to_a_kind_without_events(validation_messages, kind):
    asset = DemandResponseEventFactory().asset
    asset.kind = kind
    for field in ASSET_KINDS[kind].required:
        setattr(asset, field, FIELD_VALUES[field])

    messages = validation_messages(asset)

    assert messages == {
        "kind": [
            f"This asset has demand-response events, which {kind.label.lower()} assets cannot have; delete them first."
        ]
    }


@pytest.mark.django_db
def test_a_demand_response_asset_without_events_may_change_kind(validation_messages):
    asset = AssetFactory(demand_response=True)
    asset.kind = AssetKind.STORAGE_DIRECT

    assert validation_messages(asset) == {}


# Location ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_asset_without_any_location_is_refused_on_the_address(validation_messages):
    asset = asset_of_kind(AssetKind.STORAGE_DIRECT, **NO_LOCATION)

    assert validation_messages(asset) == {
        "address": ["Give a location: an address in parts, a one-line address, or latitude and longitude."]
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "location",
    [
        pytest.param(WHOLE_ADDRESS, id="whole-address-in-parts"),
        pytest.param({"address": "60 Greene St Riverside IA"}, id="one-line-address"),
        pytest.param({"latitude": 41.48, "longitude": -91.58}, id="coordinates"),
    ],
)
def test_an_asset_located_by_parts_one_line_address_or_coordinates_is_valid(validation_messages, location):
    asset = asset_of_kind(AssetKind.STORAGE_DIRECT, **{**NO_LOCATION, **location})

    assert validation_messages(asset) == {}


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["street", "city", "state", "postal_code", "country"])
def test_an_assets_address_in_parts_is_refused_unless_whole_naming_the_missing_part(validation_messages, missing):
    asset = asset_of_kind(AssetKind.STORAGE_DIRECT, **{**NO_LOCATION, **WHOLE_ADDRESS, missing: ""})

    label = missing.replace("_", " ")
    assert validation_messages(asset) == {
        missing: [
            "An address in parts needs all five parts (street, city, state, postal code and country); "
            f"the {label} is missing. Or clear the parts and give a one-line address or coordinates."
        ]
    }


@pytest.mark.django_db
def test_the_database_refuses_an_address_of_street_and_city_alone():
    with pytest.raises(IntegrityError), transaction.atomic():
        AssetFactory(**{**NO_LOCATION, "street": "60 Greene St", "city": "Riverside"})
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_an_assets_latitude_without_longitude_is_refused(validation_messages):
    asset = asset_of_kind(AssetKind.STORAGE_DIRECT, **{**NO_LOCATION, "latitude": 41.48})

    assert validation_messages(asset) == {"longitude": ["Give both latitude and longitude, or neither."]}


@pytest.mark.django_db
def test_the_database_refuses_an_asset_without_a_location():
    with pytest.raises(IntegrityError), transaction.atomic():
        AssetFactory(**NO_LOCATION)
    assert not Asset.objects.exists()


# Numbers -------------------------------------------------------------------------------

OUT_OF_RANGE = [
    pytest.param(AssetKind.SOLAR, "nameplate_capacity_kw", 0.0, "greater than or equal to 0.001", id="capacity-zero"),
    pytest.param(AssetKind.SOLAR, "nameplate_capacity_kw", -5.0, "greater than or equal to 0.001", id="capacity-neg"),
    pytest.param(AssetKind.ELECTRIFICATION_EEMETERED, "area_sqft", 0, "greater than or equal to 1", id="area-zero"),
    pytest.param(
        AssetKind.ELECTRIFICATION_EEMETERED, "number_of_stories", 0, "greater than or equal to 1", id="stories-zero"
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "field", "value", "message"), OUT_OF_RANGE)
def test_numbers_out_of_range_are_refused_by_validation(validation_messages, kind, field, value, message):
    messages = validation_messages(asset_of_kind(kind, **{field: value}))

    assert messages == {field: [f"Ensure this value is {message}."]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        pytest.param(AssetKind.SOLAR, "nameplate_capacity_kw", 0.001, id="smallest-capacity"),
        pytest.param(AssetKind.ELECTRIFICATION_EEMETERED, "area_sqft", 1, id="smallest-area"),
        pytest.param(AssetKind.ELECTRIFICATION_EEMETERED, "year_built", 1800, id="earliest-year"),
        pytest.param(AssetKind.ELECTRIFICATION_EEMETERED, "year_built", NEXT_YEAR, id="next-year"),
        pytest.param(AssetKind.ELECTRIFICATION_EEMETERED, "number_of_stories", 1, id="one-story"),
    ],
)
def test_numbers_at_the_edge_of_their_range_are_accepted(validation_messages, kind, field, value):
    assert validation_messages(asset_of_kind(kind, **{field: value})) == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("year", "message"),
    [
        pytest.param(1600, "1600 is before 1800: give a year from 1800 on.", id="before-1800"),
        pytest.param(NEXT_YEAR + 1, f"{NEXT_YEAR + 1} is after {NEXT_YEAR}: next year is the latest.", id="after-next"),
    ],
)
def test_an_implausible_year_built_is_refused_saying_the_range(validation_messages, year, message):
    messages = validation_messages(asset_of_kind(AssetKind.ELECTRIFICATION_EEMETERED, year_built=year))

    assert messages == {"year_built": [message]}


@pytest.mark.django_db
@pytest.mark.parametrize("year", [1799, 2101])
def test_the_database_refuses_a_year_built_outside_its_outer_bounds(year):
    traits = TRAITS[AssetKind.ELECTRIFICATION_EEMETERED]
    with pytest.raises(IntegrityError), transaction.atomic():
        AssetFactory(portfolio=PortfolioFactory(), **{**traits, "year_built": year})
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_a_capacity_that_is_not_a_finite_number_is_refused(validation_messages):
    messages = validation_messages(asset_of_kind(AssetKind.SOLAR, nameplate_capacity_kw=float("inf")))

    assert messages == {"nameplate_capacity_kw": ["inf is not a finite number."]}


def test_the_model_checks_its_numbers_in_the_database():
    names = {constraint.name for constraint in Asset._meta.constraints}

    assert {
        "asset_nameplate_capacity_positive",
        "asset_area_positive",
        "asset_year_built_range",
        "asset_stories_positive",
    } <= names


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "field", "value", "message"), OUT_OF_RANGE)
def test_the_database_refuses_numbers_out_of_range(kind, field, value, message):
    with pytest.raises(IntegrityError), transaction.atomic():
        AssetFactory(portfolio=PortfolioFactory(), **{**TRAITS[kind], field: value})
    assert not Asset.objects.exists()


# Demand-response events ----------------------------------------------------------------


def event(asset, start, length=timedelta(hours=3)):
    return DemandResponseEventFactory.build(asset=asset, start=start, end=start + length)


@pytest.mark.django_db
def test_an_event_of_a_demand_response_asset_is_valid(validation_messages):
    assert validation_messages(event(AssetFactory(demand_response=True), T0)) == {}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS_WITHOUT_EVENTS, ids=lambda kind: kind.value)
def test_only_demand_response_assets_have_events(validation_messages, kind):
    asset = asset_of_kind(kind)
    asset.save()

    messages = validation_messages(event(asset, T0))

    assert (
        "Only demand response (meter data and events) assets have demand-response events; "
        f"this one is {kind.label.lower()}." in messages["asset"]
    )


@pytest.mark.django_db
@pytest.mark.parametrize("length", [timedelta(0), timedelta(hours=-1)], ids=["empty", "backwards"])
def test_an_event_must_end_after_it_starts(validation_messages, length):
    messages = validation_messages(event(AssetFactory(demand_response=True), T0, length))

    assert messages == {"end": ["The end must be after the start."]}


@pytest.mark.django_db
@pytest.mark.parametrize("length", [timedelta(0), timedelta(hours=-1)], ids=["empty", "backwards"])
def test_the_database_refuses_an_event_that_does_not_end_after_its_start(length):
    with pytest.raises(IntegrityError), transaction.atomic():
        DemandResponseEventFactory(start=T0, end=T0 + length)
    assert not DemandResponseEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("naive", "fields"),
    [
        pytest.param({"start": datetime(2024, 7, 1, 21)}, {"start"}, id="start"),
        pytest.param({"end": datetime(2024, 7, 2, 0)}, {"end"}, id="end"),
        pytest.param({"start": datetime(2024, 7, 1, 21), "end": datetime(2024, 7, 2, 0)}, {"start", "end"}, id="both"),
    ],
)
def test_event_times_without_a_time_zone_are_refused(validation_messages, naive, fields):
    asset = DemandResponseEventFactory(start=T0 - timedelta(days=1)).asset  # an event for the overlap check to see
    messages = validation_messages(
        DemandResponseEventFactory.build(asset=asset, **{"start": T0, "end": T0 + timedelta(hours=3), **naive})
    )

    assert set(messages) == fields
    for field in fields:
        assert "has no time zone; give the UTC offset" in messages[field][0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "length"),
    [
        pytest.param(T0, timedelta(hours=3), id="same-period"),
        pytest.param(T0 + timedelta(hours=1), timedelta(hours=3), id="starts-inside"),
        pytest.param(T0 - timedelta(hours=1), timedelta(hours=2), id="ends-inside"),
        pytest.param(T0 + timedelta(hours=1), timedelta(hours=1), id="within"),
        pytest.param(T0 - timedelta(hours=1), timedelta(hours=5), id="around"),
    ],
)
def test_overlapping_events_of_one_asset_are_refused(validation_messages, start, length):
    existing = DemandResponseEventFactory(start=T0, end=T0 + timedelta(hours=3))

    messages = validation_messages(event(existing.asset, start, length))

    assert f"This event overlaps the event {existing} of the same asset." in messages["__all__"]
    assert set(messages) == {"__all__"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "start", [pytest.param(T0 + timedelta(hours=3), id="after"), pytest.param(T0 - timedelta(hours=2), id="before")]
)
def test_back_to_back_events_are_accepted(validation_messages, start):
    existing = DemandResponseEventFactory(start=T0, end=T0 + timedelta(hours=3))

    assert validation_messages(event(existing.asset, start, timedelta(hours=2))) == {}


@pytest.mark.django_db
def test_an_event_at_the_same_time_on_another_asset_is_accepted(validation_messages):
    DemandResponseEventFactory(start=T0, end=T0 + timedelta(hours=3))

    assert validation_messages(event(AssetFactory(demand_response=True), T0)) == {}


@pytest.mark.django_db
def test_a_saved_event_does_not_overlap_itself(validation_messages):
    existing = DemandResponseEventFactory(start=T0, end=T0 + timedelta(hours=3))
    existing.end = T0 + timedelta(hours=4)

    assert validation_messages(existing) == {}


@pytest.mark.django_db
def test_the_database_refuses_two_events_of_one_asset_starting_together():
    existing = DemandResponseEventFactory(start=T0, end=T0 + timedelta(hours=3))

    with pytest.raises(IntegrityError), transaction.atomic():
        DemandResponseEventFactory(asset=existing.asset, start=T0, end=T0 + timedelta(hours=1))
    assert DemandResponseEvent.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_overlapping_events_of_one_asset():
    existing = DemandResponseEventFactory(start=T0, end=T0 + timedelta(hours=3))
    overlapping = DemandResponseEvent(asset=existing.asset, start=T0 + timedelta(hours=2), end=T0 + timedelta(hours=4))
    with pytest.raises(IntegrityError), transaction.atomic():
        DemandResponseEvent.objects.bulk_create([overlapping])


@pytest.mark.django_db
def test_the_database_refuses_moving_an_event_onto_another():
    first = DemandResponseEventFactory(start=T0, end=T0 + timedelta(hours=3))
    second = DemandResponseEventFactory(
        asset=first.asset, start=T0 + timedelta(days=1), end=T0 + timedelta(days=1, hours=1)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DemandResponseEvent.objects.filter(pk=second.pk).update(start=T0 + timedelta(hours=1))


@pytest.mark.django_db
def test_the_database_accepts_touching_events_and_the_same_time_on_another_asset():
    existing = DemandResponseEventFactory(start=T0, end=T0 + timedelta(hours=3))
    DemandResponseEvent.objects.bulk_create(
        [
            DemandResponseEvent(asset=existing.asset, start=T0 + timedelta(hours=3), end=T0 + timedelta(hours=4)),
            DemandResponseEvent(asset=AssetFactory(demand_response=True), start=T0, end=T0 + timedelta(hours=3)),
        ]
    )
    assert DemandResponseEvent.objects.count() == 3
