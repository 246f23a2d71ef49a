"""Building integrations and their farms for the uploads tests."""

from portfolio.models import Portfolio
from uploads.models import RaptorMapsIntegration
from uploads.secrets import Secret


def make_portfolio(slug="uploads"):
    return Portfolio.objects.get_or_create(slug=slug, defaults={"name": slug.title()})[0]


def make_integration(name="Test integration", portfolio=None, farms=(), **fields):
    """An integration (API token by default), saved; secrets given as plain text."""
    for secret_field in ("api_token", "client_secret"):
        if secret_field in fields:
            fields[secret_field] = Secret(fields[secret_field])
    if "client_id" not in fields and "api_token" not in fields:
        fields["api_token"] = Secret("test-api-token-0000")
    fields.setdefault("integration_id", 101)
    if portfolio is None and not farms:
        portfolio = make_portfolio()
    integration = RaptorMapsIntegration(name=name, portfolio=portfolio, **fields)
    integration.full_clean()
    integration.save()
    if farms:
        integration.farms.set(farms)
    return integration


def make_farm_with_readings(
    portfolio, farm_id="NY-1", zone="America/New_York", start=None, hours=2, step_minutes=5, ingested_at=None
):
    """A farm with an inverter (ac_power, dc_voltage) and a meter (energy register), read every few minutes.

    Returns the farm; readings are deterministic functions of time so tests can recompute them.
    """
    from datetime import UTC, datetime, timedelta

    from django.utils import timezone

    from portfolio.models import Equipment, Farm, Observation, Sensor

    start = start or datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    farm = Farm.objects.create(
        portfolio=portfolio,
        farm_id=farm_id,
        name=f"Farm {farm_id}",
        timezone=zone,
        latitude=40.5,
        longitude=-74.25,
        commissioned_at=datetime(2020, 1, 2, 15, 30, tzinfo=UTC),
    )
    inverter = Equipment.objects.create(
        farm=farm, equipment_id="INV-1", name="Inverter, one", equipment_type="inverter"
    )
    meter = Equipment.objects.create(farm=farm, equipment_id="MTR-1", name="Meter", equipment_type="meter")
    sensors = [
        Sensor.objects.create(equipment=inverter, sensor_id="AC", name="AC power", sensor_type="ac_power"),
        Sensor.objects.create(equipment=inverter, sensor_id="", name="", sensor_type="dc_voltage"),
        Sensor.objects.create(equipment=meter, sensor_id="E", name="Energy", sensor_type="production_meter_energy"),
    ]
    stamp = ingested_at or timezone.now() - timedelta(hours=1)
    observations = []
    for step in range(int(hours * 60 / step_minutes)):
        moment = start + timedelta(minutes=step * step_minutes)
        for sensor in sensors:
            observations.append(
                Observation(
                    sensor=sensor, observed_at=moment, value=reading_value(sensor.sensor_type, step), ingested_at=stamp
                )
            )
    Observation.objects.bulk_create(observations)
    return farm


def reading_value(sensor_type, step):
    """The demo signal of each sensor type at step ``step`` (the energy register only grows)."""
    if sensor_type == "production_meter_energy":
        return 1_000_000.0 + 125.5 * step
    if sensor_type == "dc_voltage":
        return 600.0 + (step % 7) * 1.25
    return 1000.0 + step * 10.1
