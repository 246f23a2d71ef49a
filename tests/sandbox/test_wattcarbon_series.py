"""A meter's timeseries: intervals and bills as multipart CSV uploads, checked strictly, upserted
(contracts.md 2.2)."""

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.fixtures.sandbox import wattcarbon_headers

INTERVALS = "start_datetime,energy_kwh\r\n"
BILLS = "start_date,end_date,energy_kwh\r\n"


def csv(header, *lines):
    return (header + "".join(line + "\r\n" for line in lines)).encode()


def problem(line, column, msg, kind):
    loc = ["file"] + ([f"line {line}"] if line is not None else []) + ([column] if column else [])
    return {"loc": loc, "msg": msg, "type": kind}


@pytest.fixture
def meter_id(wattcarbon):
    return wattcarbon.create_meter()


def intervals(wattcarbon, meter_id, content):
    return wattcarbon.upload(f"/meters/{meter_id}/intervals", content)


def bills(wattcarbon, meter_id, content):
    return wattcarbon.upload(f"/meters/{meter_id}/bills", content)


# --- intervals -----------------------------------------------------------------------------------------


def test_intervals_are_stored_in_utc_and_counted(wattcarbon, sandbox, meter_id):
    content = csv(
        INTERVALS,
        "2024-01-01T00:00:00+00:00,1.5",
        "2024-01-01T02:00:00+01:00,2",  # 01:00 UTC
        "2024-01-01T02:00:00Z,-0.25",
        "2024-01-01T03:00:00.000+00:00,1e-05",
    )
    response = intervals(wattcarbon, meter_id, content)
    assert response.status_code == 200
    assert response.json() == {"meterId": meter_id, "received": 4, "inserted": 4, "updated": 0}
    assert sandbox.wattcarbon_intervals(meter_id) == [
        {"start_datetime": "2024-01-01T00:00:00+00:00", "energy_kwh": 1.5},
        {"start_datetime": "2024-01-01T01:00:00+00:00", "energy_kwh": 2.0},
        {"start_datetime": "2024-01-01T02:00:00+00:00", "energy_kwh": -0.25},
        {"start_datetime": "2024-01-01T03:00:00+00:00", "energy_kwh": 1e-05},
    ]
    state = sandbox.wattcarbon()
    [meter] = state["meters"]
    assert (meter["intervals"], meter["firstIntervalStart"], meter["lastIntervalStart"]) == (
        4,
        "2024-01-01T00:00:00+00:00",
        "2024-01-01T03:00:00+00:00",
    )
    assert meter["intervalKwh"] == pytest.approx(3.25001)
    [upload] = state["uploads"]
    assert upload.pop("time").endswith("Z")
    assert upload == {"meterId": meter_id, "kind": "intervals", "received": 4, "inserted": 4, "updated": 0}


def test_re_sending_a_row_replaces_its_value_whatever_the_offset(wattcarbon, sandbox, meter_id):
    intervals(wattcarbon, meter_id, csv(INTERVALS, "2024-01-01T00:00:00+00:00,1", "2024-01-01T01:00:00+00:00,2"))
    response = intervals(
        wattcarbon, meter_id, csv(INTERVALS, "2024-01-01T02:00:00+01:00,20", "2024-01-01T02:00:00+00:00,3")
    )
    assert response.json() == {"meterId": meter_id, "received": 2, "inserted": 1, "updated": 1}
    assert sandbox.wattcarbon_intervals(meter_id) == [
        {"start_datetime": "2024-01-01T00:00:00+00:00", "energy_kwh": 1.0},
        {"start_datetime": "2024-01-01T01:00:00+00:00", "energy_kwh": 20.0},
        {"start_datetime": "2024-01-01T02:00:00+00:00", "energy_kwh": 3.0},
    ]
    [meter] = sandbox.wattcarbon()["meters"]
    assert (meter["intervals"], meter["intervalKwh"]) == (3, 24.0)
    assert [(u["inserted"], u["updated"]) for u in sandbox.wattcarbon()["uploads"]] == [(2, 0), (1, 1)]


def test_meters_keep_their_own_series(wattcarbon, sandbox):
    first, second = wattcarbon.create_meter(), wattcarbon.create_meter()
    row = "2024-01-01T00:00:00+00:00,"
    assert intervals(wattcarbon, first, csv(INTERVALS, row + "1")).json()["inserted"] == 1
    assert intervals(wattcarbon, second, csv(INTERVALS, row + "2")).json()["inserted"] == 1
    assert sandbox.wattcarbon_intervals(first)[0]["energy_kwh"] == 1.0
    assert sandbox.wattcarbon_intervals(second)[0]["energy_kwh"] == 2.0


GOOD = "2024-01-01T00:00:00+00:00,1.5"


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"", [problem(None, None, "the file is empty: it needs the header start_datetime,energy_kwh", "csv_empty")]),
        (
            csv(INTERVALS),
            [problem(None, None, "the file has the header start_datetime,energy_kwh but no rows", "csv_empty")],
        ),
        (
            csv("start_datetime,energy\r\n", "2024-01-01T00:00:00+00:00,1"),
            [
                problem(
                    1,
                    None,
                    "the header must be exactly start_datetime,energy_kwh, not start_datetime,energy",
                    "csv_header",
                )
            ],
        ),
        (
            csv("energy_kwh,start_datetime\r\n", "1,2024-01-01T00:00:00+00:00"),
            [
                problem(
                    1,
                    None,
                    "the header must be exactly start_datetime,energy_kwh, not energy_kwh,start_datetime",
                    "csv_header",
                )
            ],
        ),
        (
            "\ufeff".encode() + csv(INTERVALS, GOOD),
            [problem(1, None, "the file starts with a byte order mark (BOM): send UTF-8 without one", "csv_header")],
        ),
        (
            csv(INTERVALS, GOOD, "2024-01-01T01:00:00,2"),
            [
                problem(
                    3,
                    "start_datetime",
                    "'2024-01-01T01:00:00' has no UTC offset: write e.g. 2024-01-01T00:00:00+00:00",
                    "timezone_aware",
                )
            ],
        ),
        (
            csv(INTERVALS, GOOD, "01/01/2024 01:00,2"),
            [
                problem(
                    3,
                    "start_datetime",
                    "'01/01/2024 01:00' is not an ISO 8601 date and time (e.g. 2024-01-01T00:00:00+00:00)",
                    "datetime_parsing",
                )
            ],
        ),
        (csv(INTERVALS, GOOD, ",2"), [problem(3, "start_datetime", "empty: a start is required", "missing")]),
        (
            csv(INTERVALS, GOOD, "2024-01-01T01:00:00+00:00,"),
            [problem(3, "energy_kwh", "empty: energy is required", "missing")],
        ),
        (
            csv(INTERVALS, GOOD, "2024-01-01T01:00:00+00:00,NaN"),
            [problem(3, "energy_kwh", "'NaN' is not a decimal number", "float_parsing")],
        ),
        (
            csv(INTERVALS, GOOD, "2024-01-01T01:00:00+00:00,inf"),
            [problem(3, "energy_kwh", "'inf' is not a decimal number", "float_parsing")],
        ),
        (
            csv(INTERVALS, GOOD, "2024-01-01T01:00:00+00:00,1e999"),
            [problem(3, "energy_kwh", "'1e999' is not a finite number", "finite_number")],
        ),
        (
            csv(INTERVALS, GOOD, '2024-01-01T01:00:00+00:00,"1,5"'),
            [problem(3, "energy_kwh", "'1,5' is not a decimal number", "float_parsing")],
        ),
        (
            csv(INTERVALS, GOOD, "2024-01-01T01:00:00+00:00, 2"),
            [problem(3, "energy_kwh", "' 2' is not a decimal number", "float_parsing")],
        ),
        (
            csv(INTERVALS, GOOD, "2024-01-01T01:00:00+01:00,2"),
            [
                problem(
                    3,
                    "start_datetime",
                    "2024-01-01T01:00:00+01:00 is the start of line 2 already (2024-01-01T00:00:00+00:00): "
                    "each interval once per file",
                    "duplicate",
                )
            ],
        ),
        (
            csv(INTERVALS, GOOD, "2024-01-01T01:00:00+00:00,2,3"),
            [problem(3, None, "3 field(s), expected 2 (start_datetime,energy_kwh)", "csv_row")],
        ),
        (csv(INTERVALS, GOOD, "", "2024-01-01T01:00:00+00:00,2"), [problem(3, None, "a blank line", "csv_row")]),
        (
            csv(INTERVALS, GOOD, '"2024-01-01T01:00:00+00:00,2'),
            [problem(3, None, "not valid CSV: unexpected end of data", "csv_syntax")],
        ),
        (
            csv(INTERVALS, GOOD) + b"2024-01-01T01:00:00+00:00,\xff\r\n",
            [problem(None, None, "the file is not UTF-8 text (near line 1)", "csv_encoding")],
        ),
    ],
    ids=[
        "empty file",
        "header only",
        "wrong header",
        "columns swapped",
        "byte order mark",
        "no offset",
        "not ISO 8601",
        "empty start",
        "empty energy",
        "NaN",
        "inf",
        "overflows to inf",
        "decimal comma",
        "space",
        "same instant twice",
        "extra field",
        "blank line",
        "open quote",
        "not UTF-8",
    ],
)
def test_a_malformed_intervals_file_is_a_422_naming_the_line_and_stores_nothing(
    wattcarbon, sandbox, meter_id, content, detail
):
    intervals(wattcarbon, meter_id, csv(INTERVALS, "2023-06-01T00:00:00+00:00,7"))  # already there
    response = intervals(wattcarbon, meter_id, content)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert sandbox.wattcarbon_intervals(meter_id) == [
        {"start_datetime": "2023-06-01T00:00:00+00:00", "energy_kwh": 7.0}
    ]
    assert len(sandbox.wattcarbon()["uploads"]) == 1
    assert (
        sandbox.calls("upload_intervals", service="wattcarbon")[-1]["note"] == f"{len(detail)} problem(s) in the file"
    )


def test_a_bad_row_after_good_ones_stores_none_of_them(wattcarbon, sandbox, meter_id):
    rows = [f"2024-01-01T{hour:02}:00:00+00:00,{hour}" for hour in range(20)]
    rows[17] = "2024-01-01T17:00:00,17"
    response = intervals(wattcarbon, meter_id, csv(INTERVALS, *rows))
    assert [item["loc"] for item in response.json()["detail"]] == [["file", "line 19", "start_datetime"]]
    assert sandbox.wattcarbon_intervals(meter_id) == []
    [meter] = sandbox.wattcarbon()["meters"]
    assert (meter["intervals"], meter["intervalKwh"]) == (0, 0.0)


def test_at_most_20_problems_are_listed_and_the_rest_counted(wattcarbon, meter_id):
    rows = [f"2024-01-01T{hour:02}:00:00,1" for hour in range(24)]
    detail = intervals(wattcarbon, meter_id, csv(INTERVALS, *rows)).json()["detail"]
    assert len(detail) == 21
    assert [item["loc"][1] for item in detail[:20]] == [f"line {line}" for line in range(2, 22)]
    assert detail[20] == {"loc": ["file"], "msg": "4 more problem(s) not listed", "type": "too_many_errors"}


# --- bills ---------------------------------------------------------------------------------------------


def test_bills_are_stored_and_re_sending_a_start_date_replaces_it(wattcarbon, sandbox, meter_id):
    first = bills(wattcarbon, meter_id, csv(BILLS, "2024-01-01,2024-02-01,350.5", "2024-02-01,2024-03-01,290"))
    assert (first.status_code, first.json()) == (200, {"meterId": meter_id, "received": 2, "inserted": 2, "updated": 0})
    second = bills(wattcarbon, meter_id, csv(BILLS, "2024-02-01,2024-02-29,280", "2024-03-01,2024-04-01,-12.5"))
    assert second.json() == {"meterId": meter_id, "received": 2, "inserted": 1, "updated": 1}
    assert sandbox.wattcarbon_bills(meter_id) == [
        {"start_date": "2024-01-01", "end_date": "2024-02-01", "energy_kwh": 350.5},
        {"start_date": "2024-02-01", "end_date": "2024-02-29", "energy_kwh": 280.0},
        {"start_date": "2024-03-01", "end_date": "2024-04-01", "energy_kwh": -12.5},
    ]
    state = sandbox.wattcarbon()
    [meter] = state["meters"]
    assert (meter["bills"], meter["billKwh"], meter["firstBillStart"], meter["lastBillStart"], meter["intervals"]) == (
        3,
        618.0,
        "2024-01-01",
        "2024-03-01",
        0,
    )
    assert [(u["kind"], u["received"], u["inserted"], u["updated"]) for u in state["uploads"]] == [
        ("bills", 2, 2, 0),
        ("bills", 2, 1, 1),
    ]


@pytest.mark.parametrize(
    ("lines", "detail"),
    [
        (
            ["2024-01-01,2024-01-01,5"],
            [problem(3, "end_date", "2024-01-01 is not after start_date 2024-01-01", "value_error")],
        ),
        (
            ["2024-02-01,2024-01-01,5"],
            [problem(3, "end_date", "2024-01-01 is not after start_date 2024-02-01", "value_error")],
        ),
        (
            ["2024-1-01,2024-02-01,5"],
            [problem(3, "start_date", "'2024-1-01' is not a date YYYY-MM-DD", "date_parsing")],
        ),
        (
            ["2024-02-30,2024-03-01,5"],
            [problem(3, "start_date", "'2024-02-30' is not a date YYYY-MM-DD", "date_parsing")],
        ),
        (
            ["2024-01-01T00:00:00,2024-02-01,5"],
            [problem(3, "start_date", "'2024-01-01T00:00:00' is not a date YYYY-MM-DD", "date_parsing")],
        ),
        (["2024-01-01,,5"], [problem(3, "end_date", "empty: a date is required", "missing")]),
        (["2024-01-01,2024-02-01,five"], [problem(3, "energy_kwh", "'five' is not a decimal number", "float_parsing")]),
        (
            ["2024-01-01,2024-02-01,1", "2024-01-01,2024-01-15,2"],
            [problem(4, "start_date", "2024-01-01 starts line 3 already", "duplicate")],
        ),
        (
            ["2024-01-01,2024-02-01"],
            [problem(3, None, "2 field(s), expected 3 (start_date,end_date,energy_kwh)", "csv_row")],
        ),
    ],
    ids=[
        "end equals start",
        "end before start",
        "one-digit month",
        "no such day",
        "a datetime",
        "empty end",
        "energy not a number",
        "start date twice",
        "missing field",
    ],
)
def test_a_malformed_bills_file_is_a_422_naming_the_line_and_stores_nothing(
    wattcarbon, sandbox, meter_id, lines, detail
):
    response = bills(wattcarbon, meter_id, csv(BILLS, "2023-12-01,2024-01-01,1", *lines))
    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert sandbox.wattcarbon_bills(meter_id) == []


def test_a_bills_header_must_be_exact(wattcarbon, meter_id):
    response = bills(wattcarbon, meter_id, csv("start_date,end_date,kwh\r\n", "2024-01-01,2024-02-01,1"))
    assert response.json()["detail"] == [
        problem(
            1,
            None,
            "the header must be exactly start_date,end_date,energy_kwh, not start_date,end_date,kwh",
            "csv_header",
        )
    ]
    intervals_file = intervals(wattcarbon, meter_id, csv(BILLS, "2024-01-01,2024-02-01,1"))
    assert intervals_file.json()["detail"][0]["msg"].startswith("the header must be exactly start_datetime,energy_kwh")


# --- the multipart body --------------------------------------------------------------------------------


def test_the_file_must_be_a_file_part_named_file(wattcarbon, meter_id):
    path = f"/meters/{meter_id}/intervals"
    content = csv(INTERVALS, GOOD)
    wrong_name = wattcarbon.post(path, files={"csv": ("data.csv", content, "text/csv")})
    assert (wrong_name.status_code, wrong_name.json()) == (
        422,
        {"detail": [{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}]},
    )
    plain_field = wattcarbon.post(path, files={"other": ("x.csv", b"x")}, data={"file": content.decode()})
    assert plain_field.json()["detail"] == [
        {
            "loc": ["body", "file"],
            "msg": "Expected UploadFile, received: <class 'str'> (send the CSV as a file part, with a filename)",
            "type": "value_error",
        }
    ]
    raw = wattcarbon.post(path, data=content, headers={"Content-Type": "text/csv"})
    assert raw.json()["detail"] == [
        {
            "loc": ["body", "file"],
            "msg": "Field required: send multipart/form-data with the CSV as a file part named file "
            "(the Content-Type was text/csv)",
            "type": "missing",
        }
    ]
    assert wattcarbon.upload(path, content).status_code == 200  # the connection is still good


def test_a_broken_multipart_body_is_a_400(wattcarbon, meter_id):
    response = wattcarbon.post(
        f"/meters/{meter_id}/intervals",
        data=b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nstart_datetime',
        headers={"Content-Type": "multipart/form-data; boundary=XYZ"},
    )
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "There was an error parsing the body: the body ended before the closing boundary"},
    )
    no_boundary = wattcarbon.post(
        f"/meters/{meter_id}/intervals", data=b"x", headers={"Content-Type": "multipart/form-data"}
    )
    assert no_boundary.json() == {
        "detail": "There was an error parsing the body: the Content-Type multipart/form-data names no boundary"
    }


def test_a_body_over_max_upload_bytes_is_a_413_and_not_stored(wattcarbon, sandbox, meter_id):
    content = csv(INTERVALS, *(f"2024-01-01T{hour:02}:00:00+00:00,{hour}" for hour in range(24)))
    sandbox.configure(max_upload_bytes=len(content))  # the multipart framing adds more
    response = intervals(wattcarbon, meter_id, content)
    assert response.status_code == 413
    assert response.json()["detail"].endswith(f"the sandbox takes at most {len(content)}")
    assert sandbox.wattcarbon_intervals(meter_id) == []


def test_a_big_file_arrives_whole(wattcarbon, sandbox, meter_id):
    """A year of 15-minute data (35,040 rows, 1.5 MB): spooled to disk while it arrives."""
    rows = [f"{day_hour(n)},{n / 4}" for n in range(35_040)]
    response = intervals(wattcarbon, meter_id, csv(INTERVALS, *rows))
    assert response.json() == {"meterId": meter_id, "received": 35_040, "inserted": 35_040, "updated": 0}
    [meter] = sandbox.wattcarbon()["meters"]
    assert (meter["firstIntervalStart"], meter["lastIntervalStart"]) == (
        "2023-01-01T00:00:00+00:00",
        "2023-12-31T23:45:00+00:00",
    )
    assert meter["intervalKwh"] == pytest.approx(sum(n / 4 for n in range(35_040)))


def day_hour(quarter):
    return (datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * quarter)).isoformat()


def test_uploads_to_an_unknown_meter_or_another_accounts_are_404(wattcarbon, sandbox):
    response = intervals(wattcarbon, 1001, csv(INTERVALS, GOOD))
    assert (response.status_code, response.json()) == (404, {"detail": "Meter not found"})
    assert bills(wattcarbon, 9999, csv(BILLS, "2024-01-01,2024-02-01,1")).json() == {"detail": "Meter not found"}
    refused = requests.post(
        f"{sandbox.url}/accounts/someone-else/meters/1001/intervals",
        files={"file": ("a.csv", csv(INTERVALS, GOOD))},
        headers=wattcarbon_headers(wattcarbon.token),
        timeout=10,
    )
    assert refused.status_code == 403


def test_the_series_live_in_a_sqlite_file_that_a_reset_empties(wattcarbon, sandbox, sandbox_server, meter_id):
    intervals(wattcarbon, meter_id, csv(INTERVALS, GOOD))
    bills(wattcarbon, meter_id, csv(BILLS, "2024-01-01,2024-02-01,1"))
    path = sandbox_server.data_dir / "wattcarbon.sqlite3"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM intervals").fetchone() == (1,)
        assert db.execute("SELECT meter, start, finish, kwh FROM bills").fetchall() == [
            (meter_id, "2024-01-01", "2024-02-01", 1.0)
        ]
    db.close()
    sandbox.reset()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT (SELECT count(*) FROM intervals) + (SELECT count(*) FROM bills)").fetchone() == (0,)
    db.close()
    state = sandbox.wattcarbon()
    assert (state["meters"], state["uploads"]) == ([], [])


def test_the_control_routes_404_for_an_unknown_meter(sandbox):
    for kind in ("intervals", "bills"):
        response = requests.get(f"{sandbox.url}/_sandbox/wattcarbon/meters/1001/{kind}", timeout=10)
        assert (response.status_code, response.json()) == (
            404,
            {"error": "not_found", "message": "no WattCarbon meter 1001"},
        )
