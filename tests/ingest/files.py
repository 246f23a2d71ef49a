"""Build real CSV files of readings for the import tests."""

import csv
import io

from portfolio.ingest.formats import LONG_HEADERS_BY_ID, LONG_HEADERS_BY_TYPE, RAPTOR_HEADERS

__all__ = ["LONG_HEADERS_BY_ID", "LONG_HEADERS_BY_TYPE", "RAPTOR_HEADERS", "csv_text", "raptor_row", "write_file"]

FARM = ("F-1", "Farm one", "America/New_York", "2020-05-01 00:00:00", "40.7", "-74.0")


def raptor_row(time, value, *, farm=FARM, equipment=("INV-1", "Inverter 1", "inverter"), sensor=("", "", "ac_power")):
    return [*farm, *equipment, *sensor, time, value]


def csv_text(rows, header=RAPTOR_HEADERS, line_end="\n"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_end)
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_file(tmp_path, text_or_bytes, name="readings.csv", encoding="utf-8"):
    path = tmp_path / name
    data = text_or_bytes if isinstance(text_or_bytes, bytes) else text_or_bytes.encode(encoding)
    path.write_bytes(data)
    return path
