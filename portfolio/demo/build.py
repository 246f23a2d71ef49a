"""The demo portfolio: three farms at real weather stations, meters and assets, built from real public data.

The data (portfolio/demo_data/, its SOURCES.md says where each file comes from) is read and
re-dated by data.py; readings.py turns weather and inverter ratings into sensor readings.
Loading is idempotent (objects are found by their natural keys, readings added only where
missing) and every object but the readings, which are bulk-inserted, is validated with
``full_clean()`` before it is saved, so the demo is also a worked example of valid data.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
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
from portfolio.demo import data
from portfolio.demo.readings import READING_STEP, STRINGS_PER_COMBINER, FarmModel
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

# Each farm sits at a weather station of its extract, with two inverters of one CEC model and
# 1.3 W of modules per W of inverter (so the inverters clip on bright hours).
FARMS = [
    {
        "farm_id": "DEMO-NC-01",
        "name": "Piedmont Triad Solar",
        "site": "greensboro-nc",
        "inverter": "ABB: ULTRA-1500-TL-OUTD-2-US-690-x-y-z [690V]",
        "commissioned_at": datetime(2021, 4, 1, 14, 0, tzinfo=UTC),
    },
    {
        "farm_id": "DEMO-FL-02",
        "name": "Miami Dade Solar",
        "site": "miami-fl",
        "inverter": "Power Electronics: FS01110CU",
        "commissioned_at": datetime(2022, 6, 15, 13, 0, tzinfo=UTC),
    },
    # Stale on purpose: its data logger stopped reporting STALE_FOR ago, as the dashboard should say.
    {
        "farm_id": "DEMO-AK-03",
        "name": "Sand Point Solar",
        "site": "sand-point-ak",
        "inverter": "Power Electronics: FS0300CU",
        "commissioned_at": datetime(2019, 8, 1, 20, 0, tzinfo=UTC),
        "stale": True,
    },
]
INVERTER_COUNT = 2
DC_AC_RATIO = 1.3
STALE_FOR = timedelta(days=610)  # about 20 months

# A week: enough for the farm charts to show days side by side, a few seconds to load.
READING_SPAN = timedelta(days=7)
INTERVAL_SPAN = timedelta(days=14)


def farm_model(spec):
    return _farm_model(spec["site"], spec["inverter"])


@cache  # a farm's two weeks of readings are worked out once per process
def _farm_model(site, inverter):
    return FarmModel(data.sites()[site], data.inverters()[inverter], INVERTER_COUNT, DC_AC_RATIO)


def _equipment(spec):
    """(equipment ID, name, type, manufacturer, model, sensor types, share of an inverter's strings)."""
    inverter = data.inverters()[spec["inverter"]]
    kw = f"{inverter.ac_rating_w / 1000:,.0f} kW AC"
    inverters = [
        (f"INV-0{n}", f"Inverter {n} ({kw})", EquipmentType.INVERTER, inverter.manufacturer, inverter.model)
        for n in range(1, INVERTER_COUNT + 1)
    ]
    return [
        *inverters,
        ("CMB-01", "Combiner box 1", EquipmentType.COMBINER, "Shoals", "STG.DCB.xx"),
        ("MTR-01", "Revenue meter", EquipmentType.METER, "Schneider Electric", "ION8650"),
        ("WS-01", "Weather station", EquipmentType.WEATHER_STATION, "Kipp & Zonen", "SMP10"),
    ]


def _saved(model, lookup, values):
    """Find by natural key, set the values, validate, save."""
    obj = model.objects.filter(**lookup).first() or model(**lookup)
    for name, value in values.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    return obj


def _farm(portfolio, spec, start, end, steps):
    """The farm, its equipment and sensors, and the readings from ``start`` (``steps`` of them)."""
    site = data.sites()[spec["site"]]
    model = farm_model(spec)
    farm = _saved(
        Farm,
        {"farm_id": spec["farm_id"]},
        {
            "portfolio": portfolio,
            "name": spec["name"],
            "timezone": site.time_zone,
            "latitude": site.latitude,
            "longitude": site.longitude,
            "dc_capacity_kw": model.dc_capacity_w / 1000,
            "commissioned_at": spec["commissioned_at"],
        },
    )
    if spec.get("stale"):
        end = end - STALE_FOR
        start = end - steps * READING_STEP
    rows = []
    for equipment_id, name, equipment_type, manufacturer, model_name in _equipment(spec):
        equipment = _saved(
            Equipment,
            {"farm": farm, "equipment_id": equipment_id},
            {"name": name, "equipment_type": equipment_type, "manufacturer": manufacturer, "model": model_name},
        )
        # One combiner box of an inverter's twelve: a twelfth of its current.
        share = STRINGS_PER_COMBINER if equipment_type == EquipmentType.COMBINER else 1.0
        types = sensor_types_for(equipment_type)
        if equipment_type == EquipmentType.COMBINER:
            types = types[:2]
        for sensor_type in types:
            sensor = _saved(
                Sensor,
                {"equipment": equipment, "sensor_type": sensor_type, "sensor_id": ""},
                {"name": f"{name} {SensorType(sensor_type).label.lower()}"},
            )
            scale = share if sensor_type == SensorType.DC_CURRENT_AMP else 1.0
            for step in range(steps):
                moment = start + step * READING_STEP
                value = model.values(sensor_type, moment, since=spec["commissioned_at"]) * scale
                rows.append(Observation(sensor=sensor, observed_at=moment, value=round(value, 3)))
    Observation.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    return farm


def _meter_readings(warehouse, office_gas, end):
    """The warehouse's hourly kWh and the office's monthly gas bills, from eemeter's samples."""
    last_hour = end.replace(minute=0)
    zone = ZoneInfo("America/Chicago")  # the sample's, and the warehouse's
    hours = int(INTERVAL_SPAN / timedelta(hours=1))
    IntervalReading.objects.bulk_create(
        [
            IntervalReading(
                meter=warehouse, start=start, end=start + timedelta(hours=1), quantity=data.kwh_in_hour(start, zone)
            )
            for start in (last_hour - timedelta(hours=hours - number) for number in range(hours))
        ],
        ignore_conflicts=True,
    )
    for start_date, end_date, therms in data.gas_bills(end.astimezone(zone).date()):
        _saved(
            BillReading,
            {"meter": office_gas, "start_date": start_date},
            {"end_date": end_date, "quantity": therms, "unit": EnergyUnit.THERM},
        )


@transaction.atomic
def load_demo_portfolio(now=None, reading_span=READING_SPAN):
    """Create or refresh the demo portfolio; return how many objects of each kind it has.

    Readings cover ``reading_span`` up to ``now``, every 5 minutes (the stale farm's end
    ``STALE_FOR`` earlier); the warehouse meter's hours cover the last two weeks.
    """
    now = now or timezone.now()
    portfolio = _saved(Portfolio, {"slug": PORTFOLIO["slug"]}, {"name": PORTFOLIO["name"]})

    # Readings end at the last whole 15 minutes, so repeated loads line up.
    end = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    steps = int(reading_span / READING_STEP)
    farms = [_farm(portfolio, spec, end - reading_span, end, steps) for spec in FARMS]
    production_farm = farms[0]

    production = _saved(
        Meter,
        {"portfolio": portfolio, "name": "Piedmont Triad production"},
        {
            "meter_type": MeterType.ELECTRICITY,
            "source_equipment": Equipment.objects.get(farm=production_farm, equipment_id="MTR-01"),
            "latitude": production_farm.latitude,
            "longitude": production_farm.longitude,
        },
    )
    office_gas = _saved(
        Meter,
        {"portfolio": portfolio, "name": "Head office gas"},
        {
            "meter_type": MeterType.GAS,
            "street": "233 S Wacker Dr",
            "city": "Chicago",
            "state": "IL",
            "postal_code": "60606",
            "country": "US",
        },
    )
    warehouse = _saved(
        Meter,
        {"portfolio": portfolio, "name": "Riverside warehouse"},
        {"meter_type": MeterType.ELECTRICITY, "address": "60 Greene St Riverside IA"},
    )
    _meter_readings(warehouse, office_gas, end)

    solar = _saved(
        Asset,
        {"portfolio": portfolio, "custom_id": "SP-NC-01"},
        {
            "name": production_farm.name,
            "kind": AssetKind.SOLAR,
            "timezone": production_farm.timezone,
            "utility": "Duke Energy Carolinas",
            "commenced_operation_date": production_farm.commissioned_at.date(),
            "farm": production_farm,
            "nameplate_capacity_kw": production_farm.dc_capacity_kw,
            "inverter_data_id": "PT-ULTRA-1500",
            "inverter_data_source": "abb",
            "external_registry_name": "GATS",
            "external_registry_asset_id": "NON123456",
            "latitude": production_farm.latitude,
            "longitude": production_farm.longitude,
        },
    )
    solar.meters.set([production])
    heat_pump = _saved(
        Asset,
        {"portfolio": portfolio, "custom_id": "HP-IL-01"},
        {
            "name": "Head office heat pump",
            "kind": AssetKind.ELECTRIFICATION_EEMETERED,
            "timezone": "America/Chicago",
            "utility": "Peoples Gas",
            "commenced_operation_date": date(2025, 10, 1),
            "address": "233 S Wacker Dr Chicago IL 60606",
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
