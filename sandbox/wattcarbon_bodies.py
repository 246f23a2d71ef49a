"""The JSON bodies WattCarbon takes for meters and assets (contracts.md 2.2 and 2.3), checked strictly.

The sandbox's own copy of the rules, written from the contract. Each check returns the fields
to store and a list of problems in FastAPI's shape (``{"loc": ["body", ...], "msg", "type"}``),
every problem at once, as the API's validation would. Optional fields may be null, which means
absent; an unknown field, or one that belongs to another kind of asset, is refused.

Decisions where the contract says nothing: text fields may not be blank; an address's optional
parts are non-empty text when given; ``meterIds`` may be empty but may not repeat a meter;
``customId`` is non-empty text when given.
"""

import math
import re
from datetime import date

METER_FIELDS = ("name", "apiProvider", "meterType", "location")
METER_TYPES = ("electricity", "gas")
API_PROVIDERS = ("manual",)

KINDS = (
    "solar",
    "storage_direct",
    "electrification_eemetered",
    "energy_efficiency_eemetered",
    "demand_response_eemetered",
    "tracking_building",
    "vehicle_charging",
)
DEMAND_RESPONSE = "demand_response_eemetered"
COMMON_FIELDS = ("name", "customId", "location", "utility", "meterIds", "commencedOperationDate", "kind")
KIND_FIELDS = {
    "solar": (
        "nameplateCapacityKw",
        "inverterDataId",
        "inverterDataSource",
        "externalRegistryName",
        "externalRegistryAssetId",
    ),
    "electrification_eemetered": (
        "areaSqft",
        "previousFuel",
        "buildingType",
        "replacementType",
        "yearBuilt",
        "numberOfStories",
    ),
}
OPTIONAL_FIELDS = frozenset(
    {"customId", "utility", "commencedOperationDate", "externalRegistryName", "externalRegistryAssetId"}
)
# The one pair where either both are given or neither.
REGISTRY_PAIR = ("externalRegistryName", "externalRegistryAssetId")

ADDRESS_FIELDS = ("street", "city", "state", "country", "postalCode")
ADDRESS_REQUIRED = ADDRESS_FIELDS  # an address object is whole, or a one-line string instead
COORDINATES = {"latitude": 90, "longitude": 180}
LOCATION_SHAPES = (
    "an address string, an address object {street, city, state, country, postalCode} (all five "
    "required), or {latitude, longitude}"
)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Problems(list):
    def add(self, loc, message, kind):
        self.append({"loc": list(loc), "msg": message, "type": kind})


def without_nulls(payload):
    """A body's fields without the null ones (null means absent)."""
    return {name: value for name, value in payload.items() if value is not None}


def null_names(payload):
    """The names a body gives as null."""
    return [name for name, value in payload.items() if value is None]


# --- meters ------------------------------------------------------------------------------------------


def check_meter(payload):
    """(fields to store, problems) for a create-meter body (a dict)."""
    problems = Problems()
    fields = without_nulls(payload)
    for name in payload:
        if name not in METER_FIELDS:
            problems.add(("body", name), "Extra inputs are not permitted", "extra_forbidden")
    checked = {
        "name": _required(fields, "name", _text, problems),
        "apiProvider": _required(fields, "apiProvider", _choice(API_PROVIDERS), problems),
        "meterType": _required(fields, "meterType", _choice(METER_TYPES), problems),
        "location": _required(fields, "location", _location, problems),
    }
    return checked, problems


# --- assets ------------------------------------------------------------------------------------------


def check_asset(fields, meter_ids, nulls=()):
    """(fields to store, problems) for an asset's fields, without the null ones; ``meter_ids``: the
    account's meters; ``nulls``: the names the body gave as null (an unknown one is still refused)."""
    problems = Problems()
    for name in nulls:
        if name not in fields and not is_asset_field(name):
            problems.add(("body", name), "Extra inputs are not permitted", "extra_forbidden")
    kind = fields.get("kind")
    own = KIND_FIELDS.get(kind, ()) if kind in KINDS else None  # None: the kind is wrong, so are its fields
    for name in fields:
        if name in COMMON_FIELDS or (own is not None and name in own):
            continue
        owner = next((other for other, names in KIND_FIELDS.items() if name in names), None)
        if owner is None:
            problems.add(("body", name), "Extra inputs are not permitted", "extra_forbidden")
        elif own is not None:
            problems.add(("body", name), f"{name} is a field of {owner} assets, not of {kind} ones", "extra_forbidden")
    checked = {}
    checks = {
        "name": _text,
        "customId": _text,
        "location": _location,
        "utility": _text,
        "meterIds": _meter_ids(meter_ids),
        "commencedOperationDate": _date,
        "kind": _choice(KINDS),
    }
    for name, check in checks.items():
        checked[name] = _field(fields, name, check, problems)
    for name in own or ():
        checked[name] = _field(fields, name, KIND_CHECKS[name], problems)
    if kind == "solar":
        given = [name for name in REGISTRY_PAIR if name in fields]
        if len(given) == 1:
            [other] = [name for name in REGISTRY_PAIR if name not in given]
            problems.add(("body", other), f"{other} is required when {given[0]} is given", "missing")
    return {name: value for name, value in checked.items() if value is not None}, problems


def is_asset_field(name):
    """Whether ``name`` is a field of some kind of asset."""
    return name in COMMON_FIELDS or any(name in names for names in KIND_FIELDS.values())


def asset_json(asset_id, account_id, fields):
    """An asset as the API returns it: every field of its kind, null when absent."""
    names = COMMON_FIELDS + KIND_FIELDS.get(fields.get("kind"), ())
    return {"id": asset_id, "accountId": account_id, **{name: fields.get(name) for name in names}}


# --- fields: each check returns the value to store, or None after adding a problem ---------------------


def _field(fields, name, check, problems):
    if name in OPTIONAL_FIELDS and name not in fields:
        return None
    return _required(fields, name, check, problems)


def _required(fields, name, check, problems):
    if name not in fields:
        problems.add(("body", name), "Field required", "missing")
        return None
    return check(fields[name], ("body", name), problems)


def _text(value, loc, problems):
    if not isinstance(value, str):
        problems.add(loc, "Input should be a valid string", "string_type")
        return None
    if not value.strip():
        problems.add(loc, "String should have at least 1 character that is not a space", "string_too_short")
        return None
    return value


def _choice(choices):
    expected = " or ".join(f"'{choice}'" for choice in choices)

    def check(value, loc, problems):
        if value not in choices or not isinstance(value, str):
            problems.add(loc, f"Input should be {expected}", "literal_error")
            return None
        return value

    return check


def _number(value, loc, problems):
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.add(loc, "Input should be a valid number", "float_type")
        return None
    if not math.isfinite(value):
        problems.add(loc, "Input should be a finite number", "finite_number")
        return None
    return value


def _positive(value, loc, problems):
    value = _number(value, loc, problems)
    if value is not None and value <= 0:
        problems.add(loc, "Input should be greater than 0", "greater_than")
        return None
    return value


def _whole(minimum, maximum=None):
    """``maximum`` may be a function (a bound that moves with the date)."""

    def check(value, loc, problems):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add(loc, "Input should be a valid integer", "int_type")
            return None
        if value < minimum:
            problems.add(loc, f"Input should be greater than or equal to {minimum}", "greater_than_equal")
            return None
        highest = maximum() if callable(maximum) else maximum
        if highest is not None and value > highest:
            problems.add(loc, f"Input should be less than or equal to {highest}", "less_than_equal")
            return None
        return value

    return check


def _date(value, loc, problems):
    if isinstance(value, str) and DATE.fullmatch(value):
        try:
            date.fromisoformat(value)
            return value
        except ValueError:
            pass
    problems.add(loc, "Input should be a valid date in the format YYYY-MM-DD", "date_parsing")
    return None


def _meter_ids(known):
    def check(value, loc, problems):
        if not isinstance(value, list):
            problems.add(loc, "Input should be a valid list", "list_type")
            return None
        good = True
        for index, meter_id in enumerate(value):
            where = (*loc, index)
            if isinstance(meter_id, bool) or not isinstance(meter_id, int):
                problems.add(where, "Input should be a valid integer", "int_type")
            elif meter_id in value[:index]:
                problems.add(where, f"meter {meter_id} is listed twice", "value_error")
            elif meter_id not in known:
                problems.add(where, f"meter {meter_id} is not a meter of this account", "value_error")
            else:
                continue
            good = False
        return list(value) if good else None

    return check


def _location(value, loc, problems):
    if isinstance(value, str):
        return _text(value, loc, problems)
    if not isinstance(value, dict):
        problems.add(loc, f"location must be {LOCATION_SHAPES}", "location_type")
        return None
    before = len(problems)
    if "latitude" in value or "longitude" in value:
        allowed, required = tuple(COORDINATES), tuple(COORDINATES)
    else:
        allowed, required = ADDRESS_FIELDS, ADDRESS_REQUIRED
    value = without_nulls(value)
    for name in value:
        if name not in allowed:
            problems.add((*loc, name), "Extra inputs are not permitted", "extra_forbidden")
    for name in allowed:
        if name not in value:
            if name in required:
                problems.add((*loc, name), "Field required", "missing")
        elif name in COORDINATES:
            _coordinate(value[name], (*loc, name), COORDINATES[name], problems)
        else:
            _text(value[name], (*loc, name), problems)
    return value if len(problems) == before else None


def _coordinate(value, loc, limit, problems):
    value = _number(value, loc, problems)
    if value is not None and not -limit <= value <= limit:
        bound = ("greater_than_equal", f"greater than or equal to {-limit}")
        if value > limit:
            bound = ("less_than_equal", f"less than or equal to {limit}")
        problems.add(loc, f"Input should be {bound[1]}", bound[0])


KIND_CHECKS = {
    "nameplateCapacityKw": _positive,
    "inverterDataId": _text,
    "inverterDataSource": _text,
    "externalRegistryName": _text,
    "externalRegistryAssetId": _text,
    "areaSqft": _positive,
    "previousFuel": _text,
    "buildingType": _text,
    "replacementType": _text,
    # A plausible year: 1800 to next year (a building finishing next January).
    "yearBuilt": _whole(1800, lambda: date.today().year + 1),
    "numberOfStories": _whole(1),
}
