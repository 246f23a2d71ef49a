"""A small demo portfolio: two farms with a day or two of readings, meters and assets.

Loading is idempotent (objects are found by their natural keys) and every object is
validated with ``full_clean()`` before it is saved, so the demo is also a worked example
of valid data.
"""

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from portfolio.choices import (
    AssetKind,
    BuildingType,
    EnergyUnit,
    EquipmentType,
    MeterType,
    PreviousFuel,
    ReplacementType,
    SensorType,
    sensor_types_for,
)
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

PORTFOLIO = {"slug": "sunbelt", "name": "Sunbelt Renewables"}

FARMS = [
    {
        "farm_id": "DEMO-AZ-01",
        "name": "Gila Bend Solar",
        "timezone": "America/Phoenix",
        "latitude": 32.9479,
        "longitude": -112.7168,
        "dc_capacity_kw": 5000.0,
        "commissioned_at": datetime(2021, 4, 1, 15, 0, tzinfo=UTC),
    },
    {
        "farm_id": "DEMO-NY-02",
        "name": "Hudson Valley Solar",
        "timezone": "America/New_York",
        "latitude": 41.7004,
        "longitude": -73.9210,
        "dc_capacity_kw": 2500.0,
        "commissioned_at": datetime(2022, 6, 15, 13, 0, tzinfo=UTC),
    },
]

EQUIPMENT = [
    ("INV-01", "Inverter 1", EquipmentType.INVERTER, "SMA", "Sunny Central 2500-EV"),
    ("INV-02", "Inverter 2", EquipmentType.INVERTER, "SMA", "Sunny Central 2500-EV"),
    ("CMB-01", "Combiner box 1", EquipmentType.COMBINER, "Shoals", "STG.DCB.xx"),
    ("MTR-01", "Revenue meter", EquipmentType.METER, "Schneider Electric", "ION8650"),
    ("WS-01", "Weather station", EquipmentType.WEATHER_STATION, "Kipp & Zonen", "SMP10"),
]

READING_STEP = timedelta(minutes=5)
READING_SPAN = timedelta(hours=48)


def _saved(model, lookup, values):
    """Find by natural key, set the values, validate, save."""
    obj = model.objects.filter(**lookup).first() or model(**lookup)
    for name, value in values.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    return obj


def _sun(moment, zone):
    """0..1: a clear-sky day shape by local solar hour (6:00 to 18:00)."""
    local = moment.astimezone(zone)
    hour = local.hour + local.minute / 60
    return max(0.0, math.sin(math.pi * (hour - 6) / 12))


def _observations(sensor, farm, start, steps):
    zone = ZoneInfo(farm.timezone)
    capacity_w = farm.dc_capacity_kw * 1000
    share = 0.45 if sensor.equipment.equipment_type == EquipmentType.INVERTER else 1.0
    register_wh = 1_000_000.0
    rows = []
    for step in range(steps):
        moment = start + step * READING_STEP
        sun = _sun(moment, zone)
        power = capacity_w * share * sun
        value = {
            SensorType.DC_VOLTAGE: 600 + 250 * sun if sun else 0.0,
            SensorType.DC_CURRENT_AMP: power / 850,
            SensorType.AC_POWER: power * 0.97,
            SensorType.DC_POWER: power,
            SensorType.PRODUCTION_METER_POWER: power * 0.96,
            SensorType.IRRADIANCE_POA: 1000 * sun,
            SensorType.IRRADIANCE_GHI: 880 * sun,
        }.get(sensor.sensor_type)
        if sensor.sensor_type == SensorType.PRODUCTION_METER_ENERGY:
            register_wh += capacity_w * 0.96 * sun * READING_STEP.total_seconds() / 3600
            value = register_wh
        rows.append(Observation(sensor=sensor, observed_at=moment, value=round(value, 3)))
    return rows


@transaction.atomic
def load_demo_portfolio(now=None, reading_span=READING_SPAN):
    """Create or refresh the demo portfolio; return how many objects of each kind it has.

    Readings cover ``reading_span`` up to ``now``, every 5 minutes.
    """
    now = now or timezone.now()
    portfolio = _saved(Portfolio, {"slug": PORTFOLIO["slug"]}, {"name": PORTFOLIO["name"]})

    # Readings end at the last whole 15 minutes, so repeated loads line up.
    end = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    start = end - reading_span
    steps = int(reading_span / READING_STEP)
    farms = []
    for spec in FARMS:
        farm = _saved(Farm, {"farm_id": spec["farm_id"]}, {**spec, "portfolio": portfolio})
        farms.append(farm)
        for equipment_id, name, equipment_type, manufacturer, model in EQUIPMENT:
            equipment = _saved(
                Equipment,
                {"farm": farm, "equipment_id": equipment_id},
                {"name": name, "equipment_type": equipment_type, "manufacturer": manufacturer, "model": model},
            )
            types = sensor_types_for(equipment_type)
            if equipment_type == EquipmentType.COMBINER:
                types = types[:2]
            for sensor_type in types:
                sensor = _saved(
                    Sensor,
                    {"equipment": equipment, "sensor_type": sensor_type, "sensor_id": ""},
                    {"name": f"{name} {SensorType(sensor_type).label.lower()}"},
                )
                Observation.objects.bulk_create(_observations(sensor, farm, start, steps), ignore_conflicts=True)

    production = _saved(
        Meter,
        {"portfolio": portfolio, "name": "Gila Bend production"},
        {
            "meter_type": MeterType.ELECTRICITY,
            "source_equipment": Equipment.objects.get(farm=farms[0], equipment_id="MTR-01"),
            "latitude": FARMS[0]["latitude"],
            "longitude": FARMS[0]["longitude"],
        },
    )
    office_gas = _saved(
        Meter,
        {"portfolio": portfolio, "name": "Head office gas"},
        {
            "meter_type": MeterType.GAS,
            "street": "606 Ellis St",
            "city": "San Francisco",
            "state": "CA",
            "postal_code": "94109",
            "country": "US",
        },
    )
    warehouse = _saved(
        Meter,
        {"portfolio": portfolio, "name": "Riverside warehouse"},
        {"meter_type": MeterType.ELECTRICITY, "address": "60 Greene St Riverside IA"},
    )

    day = end.replace(hour=0, minute=0) - timedelta(days=7)
    for hour in range(7 * 24):
        interval_start = day + timedelta(hours=hour)
        _saved(
            IntervalReading,
            {"meter": warehouse, "start": interval_start},
            {"end": interval_start + timedelta(hours=1), "quantity": round(40 + 25 * math.sin(hour / 24 * math.pi), 2)},
        )
    for month in (1, 2, 3):
        _saved(
            BillReading,
            {"meter": office_gas, "start_date": date(2026, month, 1)},
            {"end_date": date(2026, month + 1, 1), "quantity": 410.0 - 60 * month, "unit": EnergyUnit.THERM},
        )

    location = {"latitude": FARMS[0]["latitude"], "longitude": FARMS[0]["longitude"]}
    solar = _saved(
        Asset,
        {"portfolio": portfolio, "custom_id": "SP-AZ-01"},
        {
            "name": "Gila Bend Solar",
            "kind": AssetKind.SOLAR,
            "timezone": "America/Phoenix",
            "utility": "Arizona Public Service",
            "commenced_operation_date": date(2021, 4, 1),
            "farm": farms[0],
            "nameplate_capacity_kw": 5000.0,
            "inverter_data_id": "GB-SC2500",
            "inverter_data_source": "sma",
            "external_registry_name": "GATS",
            "external_registry_asset_id": "NON123456",
            **location,
        },
    )
    solar.meters.set([production])
    heat_pump = _saved(
        Asset,
        {"portfolio": portfolio, "custom_id": "HP-SF-01"},
        {
            "name": "Head office heat pump",
            "kind": AssetKind.ELECTRIFICATION_EEMETERED,
            "timezone": "America/Los_Angeles",
            "utility": "PG&E",
            "commenced_operation_date": date(2025, 10, 1),
            "address": "606 Ellis St San Francisco CA 94109",
            "area_sqft": 12000,
            "previous_fuel": PreviousFuel.GAS,
            "building_type": BuildingType.COMMERCIAL,
            "replacement_type": ReplacementType.FURNACE_ONLY,
            "year_built": 1962,
            "number_of_stories": 4,
        },
    )
    heat_pump.meters.set([office_gas])
    demand_response = _saved(
        Asset,
        {"portfolio": portfolio, "custom_id": "DR-IA-01"},
        {
            "name": "Riverside warehouse demand response",
            "kind": AssetKind.DEMAND_RESPONSE_EEMETERED,
            "timezone": "America/Chicago",
            "utility": "MidAmerican Energy",
            "address": "60 Greene St Riverside IA",
        },
    )
    demand_response.meters.set([warehouse])
    zone = ZoneInfo("America/Chicago")
    events = [(date(2026, 7, 14), 17, 3), (date(2026, 7, 21), 16, 2), (date(2026, 8, 4), 17, 3)]
    for event_day, start_hour, hours in events:
        event_start = datetime.combine(event_day, time(start_hour), tzinfo=zone)
        _saved(
            DemandResponseEvent,
            {"asset": demand_response, "start": event_start},
            {"end": event_start + timedelta(hours=hours)},
        )

    return {
        "farms": Farm.objects.filter(portfolio=portfolio).count(),
        "equipment": Equipment.objects.filter(farm__portfolio=portfolio).count(),
        "sensors": Sensor.objects.filter(equipment__farm__portfolio=portfolio).count(),
        "observations": Observation.objects.filter(sensor__equipment__farm__portfolio=portfolio).count(),
        "meters": Meter.objects.filter(portfolio=portfolio).count(),
        "assets": Asset.objects.filter(portfolio=portfolio).count(),
    }
