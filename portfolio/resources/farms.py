"""Farms, their equipment, sensors and observations, keyed as the Raptor Maps CSV keys them."""

from import_export.widgets import ForeignKeyWidget

from portfolio.models import Equipment, Farm, Observation, Sensor
from portfolio.resources.base import SpreadsheetResource, related, shown
from portfolio.resources.relations import equipment_column, farm_column, portfolio_column
from portfolio.resources.widgets import REQUIRED, cell_text
from portfolio.validators import timezone_names

__all__ = ["EquipmentResource", "FarmResource", "ObservationResource", "SensorResource"]


class FarmResource(SpreadsheetResource):
    resource_name = "farms"
    key_columns = ("farm_id",)
    required_columns = ("farm_id", "portfolio", "name", "timezone")
    portfolio_path = "portfolio__slug"
    export_related = ("portfolio",)

    portfolio = portfolio_column()

    class Meta:
        model = Farm
        fields = (
            "farm_id",
            "portfolio",
            "name",
            "timezone",
            "commissioned_at",
            "latitude",
            "longitude",
            "dc_capacity_kw",
            "is_active",
        )
        import_id_fields = ("farm_id",)

    def row_zone(self, row):
        zone = cell_text(row.get("timezone"))
        if zone in timezone_names():
            return zone, None
        return None, "the timezone column holds no valid time zone"

    def instance_zone(self, farm):
        return farm.timezone


class EquipmentResource(SpreadsheetResource):
    resource_name = "equipment"
    key_columns = ("farm_id", "equipment_id")
    required_columns = ("farm_id", "equipment_id", "name", "equipment_type")
    portfolio_path = "farm__portfolio__slug"
    export_related = ("farm",)

    farm_id = farm_column()

    class Meta:
        model = Equipment
        fields = ("farm_id", "equipment_id", "name", "equipment_type", "manufacturer", "model", "serial_number")
        import_id_fields = ("farm_id", "equipment_id")


class SensorResource(SpreadsheetResource):
    """A sensor is known by its sensor ID on its equipment, or by its type when it has no ID."""

    resource_name = "sensors"
    key_columns = ("farm_id", "equipment_id", "sensor_id", "sensor_type")
    required_columns = ("farm_id", "equipment_id", "sensor_type")
    portfolio_path = "equipment__farm__portfolio__slug"
    export_related = ("equipment__farm",)

    farm_id = shown("equipment__farm__farm_id", "farm_id")
    equipment_id = equipment_column("equipment", "farm_id", "equipment_id")

    class Meta:
        model = Sensor
        fields = ("farm_id", "equipment_id", "sensor_id", "sensor_type", "name")
        import_id_fields = ("equipment_id", "sensor_type")

    def row_key(self, row):
        farm_id, equipment_id, sensor_id = (cell_text(row.get(column)) for column in self.key_columns[:3])
        if sensor_id:
            return (farm_id, equipment_id, sensor_id)
        return (farm_id, equipment_id, "", cell_text(row.get("sensor_type")))

    def lookup(self, row):
        try:
            equipment = self.fields["equipment_id"].clean(row)
            sensor_type = self.fields["sensor_type"].clean(row)
        except ValueError:
            return None
        sensor_id = cell_text(row.get("sensor_id"))
        if sensor_id:
            return {"equipment": equipment, "sensor_id": sensor_id}
        return {"equipment": equipment, "sensor_id": "", "sensor_type": sensor_type}


class SensorByKey(ForeignKeyWidget):
    """The sensor of a reading row: farm and equipment IDs, then the sensor ID or, without one, the type."""

    def __init__(self):
        super().__init__(Sensor, field="sensor_id")
        self._found = {}

    def clean(self, value, row=None, **kwargs):
        farm_id, equipment_id, sensor_id, sensor_type = (
            cell_text(row.get(column)) for column in ("farm_id", "equipment_id", "sensor_id", "sensor_type")
        )
        if not (sensor_id or sensor_type):
            raise ValueError("Give the sensor_id or, for a sensor without one, the sensor_type.")
        if not (farm_id and equipment_id):
            raise ValueError(f"{REQUIRED[:-1]} (farm_id and equipment_id).")
        key = (farm_id, equipment_id, sensor_id, "" if sensor_id else sensor_type)
        if key not in self._found:
            sensors = Sensor.objects.filter(equipment__farm__farm_id=farm_id, equipment__equipment_id=equipment_id)
            if sensor_id:
                sensors = sensors.filter(sensor_id=sensor_id)
            else:
                sensors = sensors.filter(sensor_id="", sensor_type=sensor_type)
            self._found[key] = sensors.first()
        if self._found[key] is None:
            named = f"sensor ID {sensor_id!r}" if sensor_id else f"sensor type {sensor_type!r} without a sensor ID"
            raise ValueError(f"Equipment {equipment_id!r} of farm {farm_id!r} has no sensor with the {named}.")
        return self._found[key]


class ObservationResource(SpreadsheetResource):
    """Readings in the long format, one per row. Not in the admin: files of readings are large,
    and ``import_observations`` is the way to load them. Kept for comparison and small files."""

    resource_name = "observations"
    key_columns = ("farm_id", "equipment_id", "sensor_id", "sensor_type", "observed_at")
    required_columns = ("farm_id", "equipment_id", "sensor_id", "sensor_type", "observed_at", "value")
    may_be_blank = ("sensor_id", "sensor_type")
    portfolio_path = "sensor__equipment__farm__portfolio__slug"
    export_related = ("sensor__equipment__farm",)

    farm_id = shown("sensor__equipment__farm__farm_id", "farm_id")
    equipment_id = shown("sensor__equipment__equipment_id", "equipment_id")
    sensor_id = related("sensor", "sensor_id", SensorByKey())
    sensor_type = shown("sensor__sensor_type", "sensor_type")

    class Meta:
        model = Observation
        fields = ("farm_id", "equipment_id", "sensor_id", "sensor_type", "observed_at", "value")
        import_id_fields = ("sensor_id", "observed_at")
        skip_html_diff = True  # no preview page shows it

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._farm_zones = {}

    def row_key(self, row):
        sensor_id = cell_text(row.get("sensor_id"))
        sensor = (sensor_id,) if sensor_id else ("", cell_text(row.get("sensor_type")))
        equipment = (cell_text(row.get("farm_id")), cell_text(row.get("equipment_id")))
        return (*equipment, *sensor, cell_text(row.get("observed_at")))

    def row_zone(self, row):
        farm_id = cell_text(row.get("farm_id"))
        if farm_id not in self._farm_zones:
            self._farm_zones[farm_id] = Farm.objects.filter(farm_id=farm_id).values_list("timezone", flat=True).first()
        zone = self._farm_zones[farm_id]
        return (zone, None) if zone else (None, f"there is no farm {farm_id!r} to give the time zone")

    def instance_zone(self, observation):
        return observation.sensor.equipment.farm.timezone
