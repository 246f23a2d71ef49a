"""Which sensor a row is about: the farms, equipment and sensors a file names.

A file of a million readings names perhaps a thousand sensors. Each distinct set of
catalog columns is checked once, against the database and against what earlier lines of
the same file said, and given a small integer ``ref`` that the staged readings carry. New
and changed farms, equipment and sensors are only planned while the file is read; ``apply``
writes them inside the import's transaction, so a refused file changes nothing.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from portfolio.choices import EquipmentType, SensorType, sensor_types_for
from portfolio.ingest.errors import InvalidRow, Problem, UnknownSensor
from portfolio.ingest.parsing import parse_datetime, parse_optional_float, parse_zone, to_utc
from portfolio.models import Equipment, Farm, Portfolio, Sensor
from portfolio.models.farms import sensor_type_error

UTC_ZONE = parse_zone("UTC")
# Farm IDs found invalid or unknown that are remembered (a file may name hundreds of thousands);
# past this many, such a farm is checked again on each of its rows, and memory stays flat.
MAX_REMEMBERED_FAILURES = 10_000

# Raptor Maps columns of the catalog, by position in the row.
FARM_COLUMNS = ("farm_id", "farm_name", "timezone", "commissioning date", "farm_latitude", "farm_longitude")
EQUIPMENT_COLUMNS = ("equipment_id", "equipment_name", "equipment_type")
SENSOR_COLUMNS = ("sensor_id", "sensor_name", "sensor_type")

# Model field -> the file column that sets it, to put model validation messages in the right place.
FARM_FIELD_COLUMNS = {
    "farm_id": "farm_id",
    "name": "farm_name",
    "timezone": "timezone",
    "commissioned_at": "commissioning date",
    "latitude": "farm_latitude",
    "longitude": "farm_longitude",
}
EQUIPMENT_FIELD_COLUMNS = {"equipment_id": "equipment_id", "name": "equipment_name", "equipment_type": "equipment_type"}
SENSOR_FIELD_COLUMNS = {"sensor_id": "sensor_id", "name": "sensor_name", "sensor_type": "sensor_type"}

# Equipment types by label as well as by value, any case: "Weather Station/Pyranometer" is the contract's label.
_EQUIPMENT_TYPE_NAMES = {
    **{value.lower(): value for value in EquipmentType.values},
    **{label.lower(): value for value, label in EquipmentType.choices},
}


@dataclass
class FarmPlan:
    farm: Farm
    raw: tuple  # the file's farm columns, as first given
    line: int
    zone: object  # the ZoneInfo that reads this farm's times
    changed: bool = False
    equipment: dict = field(default_factory=dict)  # equipment_id -> Equipment (the database's, or new)
    sensors: dict = field(default_factory=dict)  # (equipment_id, sensor key) -> Sensor


@dataclass
class SensorRef:
    ref: int
    sensor: Sensor
    zone: object
    label: str


def _invalid_from(error, columns, default_column):
    """The first message of a model ValidationError, as an InvalidRow on the file's column."""
    if hasattr(error, "error_dict"):
        for model_field, errors in error.error_dict.items():
            column = columns.get(model_field, default_column)
            return InvalidRow(" ".join(errors[0].messages).rstrip("."), column)
    return InvalidRow(" ".join(error.messages).rstrip("."), default_column)


def _check_model(instance, exclude, columns, default_column):
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise _invalid_from(error, columns, default_column) from None


def _required(text, column):
    text = text.strip()
    if not text:
        raise InvalidRow("blank; this column is required", column)
    return text


def parse_equipment_type(text):
    value = _EQUIPMENT_TYPE_NAMES.get(text.strip().lower())
    if value is None:
        allowed = ", ".join(EquipmentType.values)
        raise InvalidRow(f"{text.strip()!r} is not an equipment type; allowed: {allowed}", "equipment_type")
    return value


def parse_sensor_type(text):
    value = text.strip()
    if not value:
        raise InvalidRow("blank; this column is required", "sensor_type")
    if value not in SensorType.values:
        raise InvalidRow(f"{value!r} is not a sensor type; allowed: {', '.join(SensorType.values)}", "sensor_type")
    return value


def _differs(column, given, earlier, what, line):
    return InvalidRow(f"{given!r} differs from {earlier!r} given for {what} on line {line}", column)


class Catalog:
    """Farms, equipment and sensors named by one file, resolved to refs; see the module docstring."""

    def __init__(self, *, portfolio=None, time_basis="local"):
        self.portfolio = portfolio
        self.time_basis = time_basis
        self.farms = {}  # farm_id -> FarmPlan, or the Problem that refused it (see _remember_failure)
        self._failures = 0
        self.refs = []  # ref -> SensorRef
        self._by_sensor = {}  # id(Sensor) -> SensorRef
        self._equipment_raw = {}  # (farm_id, equipment_id) -> (raw columns, line)
        self._sensor_raw = {}  # (farm_id, equipment_id, sensor key) -> (name, line)
        self._portfolio_checked = False
        self._created = []  # what the last apply() created: forgotten again if its transaction is retried

    # --- reading ---------------------------------------------------------------------------

    def _load_farm(self, farm_id):
        farm = Farm.objects.filter(farm_id=farm_id).first()
        if farm is None:
            return None, {}, {}
        equipment = {item.equipment_id: item for item in Equipment.objects.filter(farm=farm)}
        sensors = {}
        for sensor in Sensor.objects.filter(equipment__farm=farm):
            sensors[(sensor.equipment.equipment_id, sensor.sensor_id or sensor.sensor_type)] = sensor
        return farm, equipment, sensors

    def _remember_failure(self, farm_id, problem):
        # A Problem, not the exception: a raised exception keeps its traceback, and the row with it.
        if self._failures < MAX_REMEMBERED_FAILURES:
            self._failures += 1
            self.farms[farm_id] = problem

    def _zone_for(self, farm_zone):
        return UTC_ZONE if self.time_basis == "utc" else farm_zone

    def _ref_for(self, plan, sensor):
        known = self._by_sensor.get(id(sensor))
        if known is None:
            label = f"{plan.farm.farm_id}/{sensor.equipment.equipment_id}/{sensor.sensor_id or sensor.sensor_type}"
            known = SensorRef(len(self.refs), sensor, plan.zone, label)
            self.refs.append(known)
            self._by_sensor[id(sensor)] = known
        return known

    def _new_farm_portfolio(self):
        if not self._portfolio_checked:
            self._portfolio_checked = True
            if self.portfolio is None:
                portfolios = list(Portfolio.objects.all()[:2])
                if len(portfolios) == 1:
                    self.portfolio = portfolios[0]
        return self.portfolio

    def raptor_farm(self, raw, line):
        """The plan for the farm in these six Raptor Maps columns."""
        farm_id = _required(raw[0], "farm_id")
        known = self.farms.get(farm_id)
        if isinstance(known, Problem):
            raise InvalidRow(known.message, known.column)
        if known is not None:
            if raw != known.raw:
                for column, given, earlier in zip(FARM_COLUMNS, raw, known.raw, strict=True):
                    if given != earlier:
                        raise _differs(column, given, earlier, f"farm {farm_id}", known.line)
            return known
        try:
            plan = self._plan_raptor_farm(farm_id, raw, line)
        except InvalidRow as error:
            self._remember_failure(farm_id, error.problem)
            raise
        self.farms[farm_id] = plan
        return plan

    def _plan_raptor_farm(self, farm_id, raw, line):
        _, name, zone_name, commissioning, latitude, longitude = raw
        name = _required(name, "farm_name")
        farm, equipment, sensors = self._load_farm(farm_id)
        if zone_name.strip():
            zone = parse_zone(zone_name)
        elif farm is not None:
            zone = parse_zone(farm.timezone)
        else:
            raise InvalidRow(f"blank; farm {farm_id} is new and needs its time zone", "timezone")
        values = {"name": name, "timezone": zone.key}
        if commissioning.strip():
            moment = parse_datetime(commissioning, "commissioning date")
            values["commissioned_at"] = to_utc(moment, zone, "commissioning date", commissioning)
        if latitude.strip() or longitude.strip():
            values["latitude"] = parse_optional_float(latitude, "farm_latitude")
            values["longitude"] = parse_optional_float(longitude, "farm_longitude")
        if farm is None:
            portfolio = self._new_farm_portfolio()
            if portfolio is None:
                raise InvalidRow(
                    f"farm {farm_id} is new, and there is "
                    + ("no portfolio yet; create one first" if not Portfolio.objects.exists() else "more than one")
                    + " portfolio; choose the portfolio for new farms",
                    "farm_id",
                )
            farm = Farm(portfolio=portfolio, farm_id=farm_id, **values)
            changed = True
        else:
            changed = any(getattr(farm, key) != value for key, value in values.items())
            for key, value in values.items():
                setattr(farm, key, value)
        if changed:
            _check_model(farm, ["portfolio"], FARM_FIELD_COLUMNS, "farm_id")
        return FarmPlan(farm, raw, line, self._zone_for(zone), changed, equipment, sensors)

    def raptor_sensor(self, row, line):
        """The SensorRef of a Raptor Maps row (its first twelve columns)."""
        plan = self.raptor_farm(tuple(row[:6]), line)
        equipment = self._raptor_equipment(plan, row[6:9], row[11], line)
        return self._raptor_sensor(plan, equipment, row[9:12], line)

    def _raptor_equipment(self, plan, raw, sensor_type_text, line):
        equipment_id = _required(raw[0], "equipment_id")
        name = _required(raw[1], "equipment_name")
        key = (plan.farm.farm_id, equipment_id)
        earlier = self._equipment_raw.get(key)
        if earlier is not None and tuple(raw) != earlier[0]:
            for column, given, before in zip(EQUIPMENT_COLUMNS, raw, earlier[0], strict=True):
                if given != before:
                    raise _differs(column, given, before, f"equipment {'/'.join(key)}", earlier[1])
        equipment = plan.equipment.get(equipment_id)
        type_text = raw[2].strip()
        if type_text:
            equipment_type = parse_equipment_type(type_text)
            if equipment is not None and equipment.pk and equipment.equipment_type != equipment_type:
                raise InvalidRow(
                    f"{type_text!r}, but equipment {'/'.join(key)} is {equipment.get_equipment_type_display()}; "
                    "change its type in the admin first",
                    "equipment_type",
                )
        elif equipment is not None:
            equipment_type = equipment.equipment_type
        else:
            equipment_type = self._infer_equipment_type(sensor_type_text, key)
        if earlier is None:
            self._equipment_raw[key] = (tuple(raw), line)
        if equipment is None:
            equipment = Equipment(farm=plan.farm, equipment_id=equipment_id, name=name, equipment_type=equipment_type)
            _check_model(equipment, ["farm"], EQUIPMENT_FIELD_COLUMNS, "equipment_id")
            equipment._ingest_changed = True
            plan.equipment[equipment_id] = equipment
        elif equipment.name != name:
            equipment.name = name
            _check_model(equipment, ["farm"], EQUIPMENT_FIELD_COLUMNS, "equipment_id")
            equipment._ingest_changed = True
        return equipment

    @staticmethod
    def _infer_equipment_type(sensor_type_text, key):
        sensor_type = parse_sensor_type(sensor_type_text)
        candidates = [value for value in EquipmentType.values if sensor_type in sensor_types_for(value)]
        if len(candidates) == 1:
            return candidates[0]
        raise InvalidRow(
            f"blank; equipment {'/'.join(key)} is new and needs its type ({' or '.join(candidates)} for {sensor_type})",
            "equipment_type",
        )

    def _raptor_sensor(self, plan, equipment, raw, line):
        sensor_id, name, sensor_type_text = (text.strip() for text in raw)
        sensor_type = parse_sensor_type(sensor_type_text)
        error = sensor_type_error(sensor_type, equipment.equipment_type)
        if error:
            raise InvalidRow(error.messages[0].rstrip("."), "sensor_type")
        sensor_key = sensor_id or sensor_type
        key = (plan.farm.farm_id, equipment.equipment_id, sensor_key)
        earlier = self._sensor_raw.get(key)
        if earlier is not None and (name, sensor_type) != earlier[0]:
            column, given, before = (
                ("sensor_name", name, earlier[0][0])
                if name != earlier[0][0]
                else ("sensor_type", sensor_type, earlier[0][1])
            )
            raise _differs(column, given, before, f"sensor {'/'.join(key)}", earlier[1])
        sensor = plan.sensors.get((equipment.equipment_id, sensor_key))
        if sensor is not None and sensor.sensor_type != sensor_type:
            raise InvalidRow(
                f"{sensor_type!r}, but sensor {'/'.join(key)} is a {sensor.sensor_type} sensor", "sensor_type"
            )
        if earlier is None:
            self._sensor_raw[key] = ((name, sensor_type), line)
        if sensor is None:
            sensor = Sensor(equipment=equipment, sensor_id=sensor_id, name=name, sensor_type=sensor_type)
            _check_model(sensor, ["equipment"], SENSOR_FIELD_COLUMNS, "sensor_id")
            sensor._ingest_changed = True
            plan.sensors[(equipment.equipment_id, sensor_key)] = sensor
        elif name and sensor.name != name:
            sensor.name = name
            _check_model(sensor, ["equipment"], SENSOR_FIELD_COLUMNS, "sensor_id")
            sensor._ingest_changed = True
        return self._ref_for(plan, sensor)

    def long_sensor(self, farm_id, equipment_id, sensor_key, by_type):
        """The SensorRef of a long-format row; the farm, equipment and sensor must exist."""
        farm_id = _required(farm_id, "farm_id")
        equipment_id = _required(equipment_id, "equipment_id")
        sensor_key = sensor_key.strip()
        if by_type:
            sensor_key = parse_sensor_type(sensor_key)
        elif not sensor_key:
            raise InvalidRow("blank; this column is required", "sensor_id")
        plan = self.farms.get(farm_id)
        if isinstance(plan, Problem):
            raise UnknownSensor(plan.message, plan.column)
        if plan is None:
            farm, equipment, sensors = self._load_farm(farm_id)
            if farm is None:
                problem = Problem(None, "farm_id", f"there is no farm with farm ID {farm_id!r}")
                self._remember_failure(farm_id, problem)
                raise UnknownSensor(problem.message, problem.column)
            plan = FarmPlan(farm, (), 0, self._zone_for(parse_zone(farm.timezone)), False, equipment, sensors)
            self.farms[farm_id] = plan
        equipment = plan.equipment.get(equipment_id)
        if equipment is None:
            raise UnknownSensor(f"farm {farm_id} has no equipment with equipment ID {equipment_id!r}", "equipment_id")
        sensor = plan.sensors.get((equipment_id, sensor_key))
        if sensor is None and by_type:
            of_type = [s for (eid, _), s in plan.sensors.items() if eid == equipment_id and s.sensor_type == sensor_key]
            if len(of_type) > 1:
                raise InvalidRow(
                    f"equipment {farm_id}/{equipment_id} has {len(of_type)} {sensor_key} sensors; "
                    "use the sensor_id column to say which",
                    "sensor_type",
                )
            sensor = of_type[0] if of_type else None
        if sensor is None:
            what = f"{sensor_key} sensor" if by_type else f"sensor with sensor ID {sensor_key!r}"
            raise UnknownSensor(
                f"equipment {farm_id}/{equipment_id} has no {what}", "sensor_type" if by_type else "sensor_id"
            )
        return self._ref_for(plan, sensor)

    # --- writing ---------------------------------------------------------------------------

    def apply(self):
        """Create and update what the file introduced; return (sensor pk by ref, counts). In a transaction.

        Farms, equipment and sensors are written sorted by their IDs, so two imports naming the
        same ones lock them in the same order. May be called again after the transaction was
        rolled back (a retry): what the rolled-back call created is created again.
        """
        for instance in self._created:  # their rows went with the rollback
            instance.pk = None
            instance._state.adding = True
        self._created = []
        counts = {"farms_created": 0, "equipment_created": 0, "sensors_created": 0, "catalog_updated": 0}
        plans = [plan for _, plan in sorted(self.farms.items()) if not isinstance(plan, Problem)]
        for plan in plans:
            if not plan.changed:
                continue
            self._save(plan.farm, counts, "farms_created")
        new_sensors = []
        for plan in plans:
            for _, equipment in sorted(plan.equipment.items()):
                if getattr(equipment, "_ingest_changed", False):
                    equipment.farm = plan.farm
                    self._save(equipment, counts, "equipment_created")
            for _, sensor in sorted(plan.sensors.items()):
                if not getattr(sensor, "_ingest_changed", False):
                    continue
                sensor.equipment = sensor.equipment  # the equipment's pk is known now
                if sensor.pk is None:
                    new_sensors.append(sensor)
                else:
                    counts["catalog_updated"] += 1
                    sensor.save(update_fields=["name"])
        Sensor.objects.bulk_create(new_sensors)
        self._created.extend(new_sensors)
        counts["sensors_created"] = len(new_sensors)
        return [ref.sensor.pk for ref in self.refs], counts

    def _save(self, instance, counts, created_count):
        if instance.pk is None:
            counts[created_count] += 1
            self._created.append(instance)
        else:
            counts["catalog_updated"] += 1
        instance.save()
