"""The two file formats the readings import reads, told apart by their header row."""

from dataclasses import dataclass

from portfolio.ingest.errors import Problem, ReadingsFileError

# Contract §1.4, in order; "commissioning date" is spelled with a space in the contract.
RAPTOR_HEADERS = (
    "farm_id",
    "farm_name",
    "timezone",
    "commissioning date",
    "farm_latitude",
    "farm_longitude",
    "equipment_id",
    "equipment_name",
    "equipment_type",
    "sensor_id",
    "sensor_name",
    "sensor_type",
    "observation_time",
    "measured_value",
)
LONG_HEADERS_BY_ID = ("farm_id", "equipment_id", "sensor_id", "observed_at", "value")
LONG_HEADERS_BY_TYPE = ("farm_id", "equipment_id", "sensor_type", "observed_at", "value")


@dataclass(frozen=True)
class FileFormat:
    name: str
    headers: tuple[str, ...]

    @property
    def is_raptor(self):
        return self is RAPTOR

    def header_line(self):
        return ",".join(self.headers)


RAPTOR = FileFormat("Raptor Maps CSV", RAPTOR_HEADERS)
LONG_BY_ID = FileFormat("long format, by sensor ID", LONG_HEADERS_BY_ID)
LONG_BY_TYPE = FileFormat("long format, by sensor type", LONG_HEADERS_BY_TYPE)
FORMATS = (RAPTOR, LONG_BY_ID, LONG_BY_TYPE)


def detect_format(header):
    """The format whose header row this is, exactly; otherwise a refusal that shows the difference."""
    found = tuple(name.strip() for name in header)
    for file_format in FORMATS:
        if found == file_format.headers:
            return file_format
    raise ReadingsFileError([Problem(1, None, header_mismatch(found))])


def header_mismatch(found):
    closest = max(FORMATS, key=lambda file_format: len(set(found) & set(file_format.headers)))
    expected = closest.headers
    missing = [name for name in expected if name not in found]
    extra = [name for name in found if name not in expected]
    duplicated = sorted({name for name in found if found.count(name) > 1})
    details = []
    if missing:
        details.append("missing: " + ", ".join(missing))
    if extra:
        details.append("not expected: " + ", ".join(repr(name) for name in extra))
    if duplicated:
        details.append("repeated: " + ", ".join(duplicated))
    if not details:
        details.append("the same columns in a different order")
    others = " or ".join(f.header_line() for f in FORMATS if f is not closest)
    return (
        f"The header row is not one this import reads ({'; '.join(details)}).\n"
        f"    expected ({closest.name}): {closest.header_line()}\n"
        f"    found: {','.join(found)}\n"
        f"    (the other formats: {others})"
    )
