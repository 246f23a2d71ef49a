"""factory_boy factories: valid objects by default, natural keys from sequences."""

from datetime import UTC, date, datetime, timedelta

import factory

from portfolio.choices import AssetKind, EquipmentType, MeterType, SensorType
from portfolio.models import (
    Asset,
    BillReading,
    DemandResponseEvent,
    Equipment,
    Farm,
    IntervalReading,
    Meter,
    Observation,
    Portfolio,
    Sensor,
)

T0 = datetime(2024, 6, 1, tzinfo=UTC)


class PortfolioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Portfolio
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Portfolio {n}")
    slug = factory.Sequence(lambda n: f"portfolio-{n}")


class FarmFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Farm

    portfolio = factory.SubFactory(PortfolioFactory)
    farm_id = factory.Sequence(lambda n: f"FARM-{n:04d}")
    name = factory.Sequence(lambda n: f"Solar farm {n}")
    timezone = "America/New_York"
    latitude = 40.0
    longitude = -75.0
    dc_capacity_kw = 1000.0


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Equipment

    farm = factory.SubFactory(FarmFactory)
    equipment_id = factory.Sequence(lambda n: f"EQ-{n:04d}")
    name = factory.Sequence(lambda n: f"Equipment {n}")
    equipment_type = EquipmentType.INVERTER


class SensorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sensor

    equipment = factory.SubFactory(EquipmentFactory)
    sensor_id = factory.Sequence(lambda n: f"S-{n:04d}")
    name = factory.Sequence(lambda n: f"Sensor {n}")
    sensor_type = SensorType.AC_POWER


class ObservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Observation

    sensor = factory.SubFactory(SensorFactory)
    observed_at = factory.Sequence(lambda n: T0 + timedelta(minutes=15 * n))
    value = factory.Sequence(lambda n: float(n))


class MeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meter

    portfolio = factory.SubFactory(PortfolioFactory)
    name = factory.Sequence(lambda n: f"Meter {n}")
    meter_type = MeterType.ELECTRICITY
    address = "60 Greene St Riverside IA"


class IntervalReadingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IntervalReading

    meter = factory.SubFactory(MeterFactory)
    start = factory.Sequence(lambda n: T0 + timedelta(hours=n))
    end = factory.LazyAttribute(lambda reading: reading.start + timedelta(hours=1))
    quantity = 12.5


class BillReadingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillReading

    meter = factory.SubFactory(MeterFactory)
    start_date = factory.Sequence(lambda n: date(2024, 1, 1) + timedelta(days=31 * n))
    end_date = factory.LazyAttribute(lambda bill: bill.start_date + timedelta(days=30))
    quantity = 900.0


class AssetFactory(factory.django.DjangoModelFactory):
    """A storage asset by default: a kind with no fields of its own."""

    class Meta:
        model = Asset

    portfolio = factory.SubFactory(PortfolioFactory)
    name = factory.Sequence(lambda n: f"Asset {n}")
    custom_id = factory.Sequence(lambda n: f"A-{n:04d}")
    kind = AssetKind.STORAGE_DIRECT
    timezone = "America/Chicago"
    utility = "ABC Utility"
    address = "60 Greene St Riverside IA"

    class Params:
        solar = factory.Trait(
            kind=AssetKind.SOLAR,
            nameplate_capacity_kw=123.0,
            inverter_data_id="1234",
            inverter_data_source="enphase",
            external_registry_name="GATS",
            external_registry_asset_id="45678",
        )
        electrification = factory.Trait(
            kind=AssetKind.ELECTRIFICATION_EEMETERED,
            area_sqft=1500,
            previous_fuel="gas",
            building_type="single_family_attached",
            replacement_type="furnace_only",
            year_built=1990,
            number_of_stories=2,
        )
        demand_response = factory.Trait(kind=AssetKind.DEMAND_RESPONSE_EEMETERED)


class DemandResponseEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DemandResponseEvent

    asset = factory.SubFactory(AssetFactory, demand_response=True)
    start = factory.Sequence(lambda n: T0 + timedelta(days=n, hours=22))
    end = factory.LazyAttribute(lambda event: event.start + timedelta(hours=3))
