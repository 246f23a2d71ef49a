"""Portfolio objects as WattCarbon takes them (contracts.md 2.2 to 2.4): JSON bodies and CSV files.

Pure functions of the models: nothing here talks HTTP or writes to the database, so the sync,
its dry run and the admin's sync state all see the same payloads.
"""

import csv
import hashlib
import io
import json
from datetime import UTC
from zoneinfo import ZoneInfo

from portfolio.choices import ASSET_KINDS, KIND_FIELDS, KINDS_WITH_EVENTS, AssetKind
from portfolio.models.assets import EARLIEST_YEAR_BUILT, latest_year_built
from uploads.outbound.decimals import plain_decimal

__all__ = [
    "ASSET_FIELDS",
    "BILL_HEADER",
    "EVENTS_HEADER",
    "INTERVAL_HEADER",
    "asset_payload",
    "asset_problems",
    "bills_csv",
    "changed_fields",
    "events_document",
    "fingerprint",
    "intervals_csv",
    "location",
    "meter_payload",
    "pending_events",
]

INTERVAL_HEADER = ("start_datetime", "energy_kwh")
BILL_HEADER = ("start_date", "end_date", "energy_kwh")
EVENTS_HEADER = ("Event Start Time", "Event End Time")


def camel(name):
    """``nameplate_capacity_kw`` -> ``nameplateCapacityKw`` (choices.AssetKindSpec)."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


COMMON_ASSET_FIELDS = ("name", "customId", "kind", "location", "meterIds", "utility", "commencedOperationDate")
# Every field an asset payload may carry: what is compared when an asset found on WattCarbon is linked.
ASSET_FIELDS = frozenset(COMMON_ASSET_FIELDS + tuple(camel(field) for field in KIND_FIELDS))


def location(obj):
    """The first complete location of a meter or asset: address in parts, one line, or coordinates."""
    if obj.has_address_parts:
        parts = {
            "street": obj.street,
            "city": obj.city,
            "state": obj.state,
            "country": obj.country,
            "postalCode": obj.postal_code,
        }
        return parts
    if obj.address:
        return obj.address
    if obj.has_coordinates:
        return {"latitude": obj.latitude, "longitude": obj.longitude}
    return None


def meter_payload(meter):
    return {
        "name": meter.name,
        "apiProvider": "manual",
        "meterType": meter.meter_type,
        "location": location(meter),
    }


def asset_problems(asset, meter_ids, missing=frozenset()):
    """Why ``asset`` cannot be sent as it stands, one message per problem ("field: what"); [] if it can.

    ``meter_ids`` maps each of the asset's meters to its remote id (None while it has none);
    ``missing`` holds those of its meters that are missing on WattCarbon (their id answered 404).
    """
    # Named as the asset's page names them ("nameplate capacity (kW)"), not by their code.
    fields = {
        field.name: field.verbose_name for field in type(asset)._meta.get_fields() if hasattr(field, "verbose_name")
    }
    problems = [f"{fields.get(field, field)}: {message}" for field, message in asset.kind_errors().items()]
    if asset.kind not in ASSET_KINDS:
        problems.append(f"kind: {asset.kind!r} is not a WattCarbon asset kind.")
    if location(asset) is None:
        problems.append("location: give the whole address in parts, a one-line address, or coordinates.")
    latest = latest_year_built()
    if asset.year_built is not None and not EARLIEST_YEAR_BUILT <= asset.year_built <= latest:
        problems.append(f"year built: {asset.year_built} is not plausible (from {EARLIEST_YEAR_BUILT} to {latest}).")
    gone = sorted(meter.name for meter in meter_ids if meter in missing)
    waiting = sorted(meter.name for meter, remote_id in meter_ids.items() if remote_id is None and meter not in missing)
    if gone:
        problems.append(
            f"meters: missing on WattCarbon ({', '.join(gone)}); create them again there first "
            '(Meters, "Create again on WattCarbon").'
        )
    if waiting:
        problems.append(f"meters: not on WattCarbon yet ({', '.join(waiting)}).")
    return problems


def asset_payload(asset, meter_ids):
    """The create body of ``asset`` (call only when ``asset_problems`` found none).

    Empty optional fields are left out; ``meterIds`` is sorted so the fingerprint is stable.
    """
    payload = {
        "name": asset.name,
        "customId": asset.custom_id,
        "kind": asset.kind,
        "location": location(asset),
        "meterIds": sorted(remote_id for remote_id in meter_ids.values()),
    }
    if asset.utility:
        payload["utility"] = asset.utility
    if asset.commenced_operation_date:
        payload["commencedOperationDate"] = asset.commenced_operation_date.isoformat()
    for field in ASSET_KINDS[AssetKind(asset.kind)].fields:
        value = getattr(asset, field)
        if value is not None and value != "":
            payload[camel(field)] = value
    return payload


def changed_fields(previous, current):
    """The PATCH body that turns ``previous`` into ``current``: changed fields, and None for removed ones."""
    previous = previous or {}
    changes = {key: value for key, value in current.items() if previous.get(key) != value}
    changes.update({key: None for key in previous if key not in current})
    return changes


def fingerprint(data):
    """SHA-256 of a payload (canonical JSON) or of a file's bytes."""
    if not isinstance(data, bytes):
        data = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(data).hexdigest()


def _csv_bytes(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def intervals_csv(readings):
    """``start_datetime,energy_kwh``: (start, kWh) pairs, start in UTC ISO 8601 with its offset."""
    rows = ((start.astimezone(UTC).isoformat(timespec="seconds"), plain_decimal(kwh)) for start, kwh in readings)
    return _csv_bytes(INTERVAL_HEADER, rows)


def bills_csv(readings):
    """``start_date,end_date,energy_kwh``: (start date, end date, kWh) triples."""
    return _csv_bytes(
        BILL_HEADER, ((start.isoformat(), end.isoformat(), plain_decimal(kwh)) for start, end, kwh in readings)
    )


def events_document(asset, events):
    """The demand-response events file: local times with their UTC offset, in the asset's time zone.

    ``events`` are (start, end) aware datetimes; each is written with the offset in force at
    that moment, so events either side of a DST change carry different offsets.
    """
    if asset.kind not in KINDS_WITH_EVENTS:
        raise ValueError(f"{asset.kind} assets have no demand-response events")
    zone = ZoneInfo(str(asset.timezone))
    return _csv_bytes(EVENTS_HEADER, ((_local(start, zone), _local(end, zone)) for start, end in events))


# What an asset's link records once its events are all gone: WattCarbon refuses an events document
# without events, so none is sent, and the events last sent stay until new ones replace them.
NO_EVENTS = "no events"


def pending_events(asset, sent_fingerprint):
    """(document, fingerprint, event count) when the asset's events differ from those last sent, else None.

    An asset without events sends nothing (WattCarbon refuses an empty events document); the
    sync records NO_EVENTS for it instead. ``asset.events`` may be prefetched.
    """
    events = [(event.start, event.end) for event in asset.events.all()]
    if not events:
        return None
    document = events_document(asset, events)
    digest = fingerprint(document)
    return None if digest == sent_fingerprint else (document, digest, len(events))


def _local(moment, zone):
    """``2021-01-01 17:00:00-05:00``."""
    return moment.astimezone(zone).replace(microsecond=0).isoformat(sep=" ")
