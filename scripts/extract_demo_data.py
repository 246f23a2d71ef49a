"""Cut the demo's real public data out of the files pvlib and eemeter ship, into portfolio/demo_data/.

Run once by hand, not at run time: the project never imports pvlib or eemeter (a test checks).
In a throwaway virtualenv, outside the project's:

    python3.11 -m venv /tmp/extract-venv
    /tmp/extract-venv/bin/pip install pvlib eemeter
    /tmp/extract-venv/bin/python scripts/extract_demo_data.py

It writes (portfolio/demo_data/SOURCES.md says where each comes from, and under which licence):

- ``weather-<site>.csv``: two weeks of hourly weather at three sites (1-14 June of the typical
  year): the file's own GHI and air temperature, and plane-of-array irradiance that pvlib
  computes from the file's GHI, DNI and DHI for a fixed rack tilted 25 degrees, facing south.
- ``weather-sites.json``: each site's header (station, name, state, UTC offset, latitude,
  longitude, elevation) and the original file.
- ``cec-inverters.csv``: the CEC rows of the inverters the demo's farms use.
- ``eemeter-hourly-electricity.csv``: three weeks of hourly kWh, Monday to Sunday, from eemeter's
  sample ``il-electricity-cdd-hdd-hourly``.
- ``eemeter-monthly-gas-bills.csv``: twelve monthly gas bills (therms) from eemeter's sample
  ``il-gas-hdd-only-billing_monthly``.
- ``LICENSE-pvlib.txt``, ``LICENSE-eemeter.txt``: the licences, copied from the installed packages.
"""

import csv
import gzip
import io
import itertools
import json
import shutil
from importlib import metadata, resources
from pathlib import Path

import pandas as pd
import pvlib

OUT = Path(__file__).resolve().parent.parent / "portfolio" / "demo_data"
PVLIB_DATA = Path(pvlib.__file__).parent / "data"
EEMETER_SAMPLES = resources.files("eemeter.eemeter.samples")

# Two weeks of June: long days, some cloud. Rows are local standard time (no daylight saving), as in the files.
WINDOW_START = "06-01"
WINDOW_DAYS = 14
TILT, AZIMUTH = 25.0, 180.0

# (slug, original file, reader, hours to add to the reader's index to get the hour-ending time)
SITES = [
    ("greensboro-nc", "723170TYA.CSV", "tmy3", 0),
    ("miami-fl", "12839.tm2", "tmy2", 1),  # pvlib labels a TMY2 hour by its start
    ("sand-point-ak", "703165TY.csv", "tmy3", 0),
]
# The IANA zone of each site (the files give only the standard UTC offset).
TIME_ZONES = {"greensboro-nc": "America/New_York", "miami-fl": "America/New_York", "sand-point-ak": "America/Anchorage"}

INVERTERS = [
    "ABB: ULTRA-1500-TL-OUTD-2-US-690-x-y-z [690V]",
    "Power Electronics: FS01110CU",
    "Power Electronics: FS0300CU",
]
INVERTER_FILE = "sam-library-cec-inverters-2019-03-05.csv"
INVERTER_COLUMNS = ["Name", "Vac", "Paco", "Pdco", "Vdco", "Pso", "Vdcmax", "Idcmax", "CEC_Date", "CEC_Type"]

HOURLY_SAMPLE = "il-electricity-cdd-hdd-hourly"
HOURLY_START = "2016-06-06T00:00:00-05:00"  # a Monday, clear of the sample's blackout (late December)
HOURLY_WEEKS = 3
BILLING_SAMPLE = "il-gas-hdd-only-billing_monthly"
BILLS = 12


def read_site(file_name, reader):
    path = PVLIB_DATA / file_name
    if reader == "tmy3":
        data, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
        header = {
            "station": str(meta["USAF"]),
            "name": meta["Name"].strip('"').title(),
            "state": meta["State"],
            "utc_offset_hours": float(meta["TZ"]),
        }
    else:
        data, meta = pvlib.iotools.read_tmy2(path)
        data = data.rename(columns={"GHI": "ghi", "DNI": "dni", "DHI": "dhi", "DryBulb": "temp_air"})
        data["temp_air"] = data["temp_air"] / 10  # TMY2 stores tenths of a degree
        header = {
            "station": str(meta["WBAN"]),
            "name": meta["City"].title(),
            "state": meta["State"],
            "utc_offset_hours": float(meta["TZ"]),
        }
    header.update(
        latitude=round(float(meta["latitude"]), 4),
        longitude=round(float(meta["longitude"]), 4),
        elevation_m=float(meta["altitude"]),
    )
    return data, header


def weather_window(data, header, shift_hours):
    """The window's hourly rows, with plane-of-array irradiance for the demo's fixed racks."""
    ending = data.index + pd.Timedelta(hours=shift_hours)
    # The window's first row is the hour from 00:00 to 01:00 (ending at 01:00) on its first day.
    first = list((ending - pd.Timedelta(hours=1)).strftime("%m-%d")).index(WINDOW_START)
    rows = data.iloc[first : first + WINDOW_DAYS * 24].copy()
    rows.index = ending[first : first + WINDOW_DAYS * 24]
    # The sun at the middle of each hour, whose average the row is.
    middle = rows.index - pd.Timedelta(minutes=30)
    sun = pvlib.solarposition.get_solarposition(middle, header["latitude"], header["longitude"])
    poa = pvlib.irradiance.get_total_irradiance(
        TILT,
        AZIMUTH,
        sun["apparent_zenith"].values,
        sun["azimuth"].values,
        rows["dni"].values,
        rows["ghi"].values,
        rows["dhi"].values,
        model="isotropic",
    )["poa_global"]
    rows["poa"] = pd.Series(poa, index=rows.index).fillna(0).clip(lower=0).round(1)
    return rows


def write_weather():
    sites = []
    for slug, file_name, reader, shift_hours in SITES:
        data, header = read_site(file_name, reader)
        rows = weather_window(data, header, shift_hours)
        with open(OUT / f"weather-{slug}.csv", "w", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["hour_ending", "ghi", "poa", "temp_air"])
            for moment, row in rows.iterrows():
                writer.writerow(
                    [moment.strftime("%Y-%m-%dT%H:%M%z"), int(row["ghi"]), f"{row['poa']:g}", f"{row['temp_air']:g}"]
                )
        sites.append(
            {
                "slug": slug,
                **header,
                "time_zone": TIME_ZONES[slug],
                "file": f"weather-{slug}.csv",
                "source_file": f"pvlib/data/{file_name}",
                "source_format": reader.upper(),
                "hours": len(rows),
            }
        )
        print(f"{slug}: {len(rows)} hours from {file_name}, {header}")
    (OUT / "weather-sites.json").write_text(json.dumps(sites, indent=2) + "\n")


def write_inverters():
    table = pd.read_csv(PVLIB_DATA / INVERTER_FILE, skiprows=[1, 2])
    rows = table[table["Name"].isin(INVERTERS)][INVERTER_COLUMNS]
    assert len(rows) == len(INVERTERS), rows
    rows.to_csv(OUT / "cec-inverters.csv", index=False, lineterminator="\n")
    print(rows.to_string())


def eemeter_sample(name):
    with EEMETER_SAMPLES.joinpath(f"{name}.csv.gz").open("rb") as packed:
        return list(csv.DictReader(io.TextIOWrapper(gzip.GzipFile(fileobj=packed), encoding="utf-8")))


def write_meters():
    hourly = eemeter_sample(HOURLY_SAMPLE)
    first = next(index for index, row in enumerate(hourly) if row["start"] == HOURLY_START)
    rows = hourly[first : first + HOURLY_WEEKS * 7 * 24]
    assert len(rows) == HOURLY_WEEKS * 7 * 24 and all(row["value"] not in ("", "nan") for row in rows)
    with open(OUT / "eemeter-hourly-electricity.csv", "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["start", "kwh"])
        writer.writerows([row["start"], row["value"]] for row in rows)

    bills = eemeter_sample(BILLING_SAMPLE)
    # Each row's value is the usage from its start to the next row's start; the last row only closes.
    periods = [
        (row["start"][:10], following["start"][:10], row["value"])
        for row, following in itertools.pairwise(bills)
        if row["value"] not in ("", "nan")
    ][-BILLS:]
    with open(OUT / "eemeter-monthly-gas-bills.csv", "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["start_date", "end_date", "therms"])
        writer.writerows(periods)
    print(f"{len(rows)} hourly rows from {HOURLY_SAMPLE}, {len(periods)} bills from {BILLING_SAMPLE}")


def copy_licences():
    for package, target in (("pvlib", "LICENSE-pvlib.txt"), ("eemeter", "LICENSE-eemeter.txt")):
        dist = metadata.distribution(package)
        licence = next(file for file in dist.files if file.name == "LICENSE")
        shutil.copyfile(dist.locate_file(licence), OUT / target)
        print(f"{package} {dist.version}: {dist.metadata.get('License-Expression') or dist.metadata.get('License')}")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write_weather()
    write_inverters()
    write_meters()
    copy_licences()


if __name__ == "__main__":
    main()
