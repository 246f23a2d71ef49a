"""The demo's real public data: the extracts load, their values reach the readings as they are,
the power model keeps to the inverters' ratings, and the runtime never needs pvlib or eemeter."""

import ast
import csv
import itertools
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db.models import Max

from portfolio.demo import data
from portfolio.demo.build import FARMS, STALE_FOR, farm_model, load_demo_portfolio
from portfolio.demo.readings import READING_STEP
from portfolio.models import BillReading, Equipment, Farm, IntervalReading, Observation

NOW = datetime(2026, 11, 1, 12, 7, tzinfo=UTC)
SOURCES = Path(data.DATA_DIR)


def first_day_of_the_extract(on_or_after):
    """A date the demo fills with the extract's first day (1 June of the typical year)."""
    day = on_or_after
    while (day - data.WEATHER_EPOCH).days % 14:
        day += timedelta(days=1)
    return day


def readings(farm_id, sensor_type, equipment_id=None):
    found = Observation.objects.filter(sensor__equipment__farm__farm_id=farm_id, sensor__sensor_type=sensor_type)
    if equipment_id:
        found = found.filter(sensor__equipment__equipment_id=equipment_id)
    return found


def test_the_extracts_are_small_and_say_where_they_come_from():
    files = sorted(path.name for path in SOURCES.iterdir())
    assert sum(path.stat().st_size for path in SOURCES.iterdir()) < 200_000
    sources = (SOURCES / "SOURCES.md").read_text()
    for name in files:
        if name != "SOURCES.md":
            assert f"`{name}`" in sources, name
    assert "BSD 3-Clause" in (SOURCES / "LICENSE-pvlib.txt").read_text()
    assert "Apache License" in (SOURCES / "LICENSE-eemeter.txt").read_text()


def test_the_sites_are_the_weather_files_stations():
    sites = data.sites()
    greensboro = sites["greensboro-nc"]
    # The TMY3 header: 723170,"GREENSBORO PIEDMONT TRIAD INT",NC,-5.0,36.100,-79.950,273
    assert (greensboro.station, greensboro.state, greensboro.utc_offset_hours) == ("723170", "NC", -5.0)
    assert (greensboro.latitude, greensboro.longitude) == (36.1, -79.95)
    assert (sites["sand-point-ak"].station, sites["sand-point-ak"].utc_offset_hours) == ("703165", -9.0)
    assert all(len(site.hours) == 14 * 24 for site in sites.values())


@pytest.mark.django_db
def test_a_known_hour_of_the_weather_file_appears_as_a_reading():
    # 723170TYA.CSV: 06/01/1989, hour ending 13:00 local standard time, GHI 900 W/m², 32.2 °C.
    day = first_day_of_the_extract(date(2026, 10, 25))
    noon = datetime.combine(day, time(12, 30), tzinfo=data.sites()["greensboro-nc"].standard_time)
    assert data.sites()["greensboro-nc"].weather_at(noon)[0] == 900
    load_demo_portfolio(now=noon + timedelta(hours=1), reading_span=timedelta(hours=3))
    farm = Farm.objects.get(farm_id="DEMO-NC-01")
    assert (farm.latitude, farm.longitude, farm.timezone) == (36.1, -79.95, "America/New_York")
    assert readings("DEMO-NC-01", "irradiance_ghi").get(observed_at=noon).value == 900
    # Between two hours' middles, the reading is between their values (5-minute steps).
    ghi = {row.observed_at: row.value for row in readings("DEMO-NC-01", "irradiance_ghi")}
    assert sorted(ghi)[1] - sorted(ghi)[0] == READING_STEP


def test_inverter_power_clips_at_the_cec_ac_rating():
    with open(SOURCES / "cec-inverters.csv", newline="") as source:
        cec = {row["Name"]: float(row["Paco"]) for row in csv.DictReader(source)}
    assert cec["ABB: ULTRA-1500-TL-OUTD-2-US-690-x-y-z [690V]"] == 1_500_000
    for spec in FARMS:
        model = farm_model(spec)
        assert model.inverter.ac_rating_w == cec[spec["inverter"]]
        # Over the two weeks of June, with 1.3 W of modules per W of inverter: it clips at its
        # rating on bright hours, and is never above it.
        steps = [model.values("ac_power", model.origin + number * READING_STEP) for number in range(14 * 288)]
        assert max(steps) == cec[spec["inverter"]]
        assert max(model.values("dc_power", model.origin + n * READING_STEP) for n in range(14 * 288)) > max(steps)


@pytest.mark.django_db
def test_inverters_are_the_cec_rows_and_the_readings_keep_to_their_rating():
    load_demo_portfolio(now=NOW, reading_span=timedelta(hours=24))
    for spec in FARMS:
        rating = farm_model(spec).inverter.ac_rating_w
        inverter = Equipment.objects.get(farm__farm_id=spec["farm_id"], equipment_id="INV-01")
        assert f"{inverter.manufacturer}: {inverter.model}" == spec["inverter"]
        assert f"{rating / 1000:,.0f} kW AC" in inverter.name
        assert 0 < readings(spec["farm_id"], "ac_power").aggregate(top=Max("value"))["top"] <= rating
        farm = Farm.objects.get(farm_id=spec["farm_id"])
        assert farm.dc_capacity_kw == pytest.approx(2 * rating * 1.3 / 1000)


@pytest.mark.django_db
def test_there_is_no_power_in_the_dark():
    load_demo_portfolio(now=NOW, reading_span=timedelta(hours=24))
    for spec in FARMS:
        dark = readings(spec["farm_id"], "irradiance_poa").filter(value=0).values_list("observed_at", flat=True)
        assert dark.exists()
        at_night = readings(spec["farm_id"], "ac_power").filter(observed_at__in=dark)
        assert set(at_night.values_list("value", flat=True)) == {0.0}
        # And power when the sun is up.
        assert readings(spec["farm_id"], "ac_power").filter(value__gt=0).exists()


@pytest.mark.django_db
def test_the_energy_register_only_goes_up_and_agrees_across_loads():
    afternoon = datetime(2026, 11, 1, 20, 7, tzinfo=UTC)  # 15:07 in Greensboro
    load_demo_portfolio(now=afternoon, reading_span=timedelta(hours=6))
    register = readings("DEMO-NC-01", "production_meter_energy").order_by("observed_at")
    values = list(register.values_list("value", flat=True))
    assert values == sorted(values) and values[-1] > values[0]
    # A load a day later adds the next day; the register goes on from the same count.
    load_demo_portfolio(now=afternoon + timedelta(days=1), reading_span=timedelta(hours=30))
    later = list(register.values_list("value", flat=True))
    assert later[: len(values)] == values and later == sorted(later)
    model = farm_model(FARMS[0])
    last = register.last()
    expected = model.energy_wh(last.observed_at) - model.energy_wh(FARMS[0]["commissioned_at"])
    assert last.value == pytest.approx(expected)


@pytest.mark.django_db
def test_one_farm_is_stale_by_about_twenty_months():
    load_demo_portfolio(now=NOW, reading_span=timedelta(hours=6))
    farms = ("DEMO-NC-01", "DEMO-FL-02", "DEMO-AK-03")
    newest = Observation.objects.values("sensor__equipment__farm__farm_id").annotate(last=Max("observed_at"))
    last = {row["sensor__equipment__farm__farm_id"]: row["last"] for row in newest}
    assert set(last) == set(farms)
    assert last["DEMO-NC-01"] == last["DEMO-FL-02"] == datetime(2026, 11, 1, 11, 55, tzinfo=UTC)
    assert last["DEMO-AK-03"] == last["DEMO-NC-01"] - STALE_FOR
    assert 19 * 30 < (NOW - last["DEMO-AK-03"]).days < 21 * 31


@pytest.mark.django_db
def test_the_meters_carry_eemeters_sample_hours_and_bills():
    load_demo_portfolio(now=NOW, reading_span=timedelta(hours=1))
    with open(SOURCES / "eemeter-hourly-electricity.csv", newline="") as source:
        sample = [(datetime.fromisoformat(row["start"]), float(row["kwh"])) for row in csv.DictReader(source)]
    hours = IntervalReading.objects.filter(meter__name="Riverside warehouse").order_by("start")
    assert hours.count() == 14 * 24
    assert hours.last().end == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    zone = ZoneInfo("America/Chicago")
    for reading in hours[:30]:
        local = reading.start.astimezone(zone)
        # The same hour of the same weekday in the sample (which starts on a Monday at 00:00).
        same = [kwh for start, kwh in sample if (start.weekday(), start.hour) == (local.weekday(), local.hour)]
        assert reading.quantity in same
    with open(SOURCES / "eemeter-monthly-gas-bills.csv", newline="") as source:
        therms = [float(row["therms"]) for row in csv.DictReader(source)]
    bills = BillReading.objects.filter(meter__name="Head office gas").order_by("start_date")
    # The sample's year of bills, laid year after year (seasons kept): the last twelve by today.
    first = therms.index(bills[0].quantity)
    assert [bill.quantity for bill in bills] == therms[first:] + therms[:first]
    assert [bill.unit for bill in bills] == ["therm"] * 12
    assert date(2026, 10, 1) < bills.last().end_date <= date(2026, 11, 1)
    assert all(a.end_date <= b.start_date for a, b in itertools.pairwise(bills))
    assert bills.get(start_date=date(2025, 11, 29)).quantity == 169.77  # the sample's 2017-11-29 bill


def test_the_runtime_never_imports_pvlib_or_eemeter():
    root = Path(settings.BASE_DIR)
    extraction = root / "scripts" / "extract_demo_data.py"
    folders = [
        folder
        for folder in root.iterdir()
        if folder.is_dir() and not folder.name.startswith(".") and folder.name not in ("tests", "var")
    ]
    sources = [
        path
        for path in [*root.glob("*.py"), *(p for folder in folders for p in folder.rglob("*.py"))]
        if path != extraction
    ]
    assert len(sources) > 50
    offenders = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found = [name for name in names if name.split(".")[0] in ("pvlib", "eemeter")]
            offenders += [f"{path.relative_to(root)}: {name}" for name in found]
    assert offenders == []
    requirements = (root / "requirements.txt").read_text().lower()
    assert "pvlib" not in requirements and "eemeter" not in requirements
    assert "import pvlib" in extraction.read_text()  # the check above looks where the extraction is
