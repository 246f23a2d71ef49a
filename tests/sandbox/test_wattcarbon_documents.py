"""A demand-response asset's events document: POST /accounts/{a}/assets/{id}/documents (contracts.md 2.4)."""

import pytest

HEADER = "Event Start Time,Event End Time\r\n"
SHAPE = "YYYY-MM-DD HH:MM:SS±HH:MM (e.g. 2021-01-01 17:00:00-05:00)"
SEED_EVENTS = [
    ["2021-01-01 17:00:00-05:00", "2021-01-01 20:00:00-05:00"],
    ["2021-01-05 16:00:00-05:00", "2021-01-05 18:00:00-05:00"],
    ["2021-01-08 17:00:00-05:00", "2021-01-08 20:00:00-05:00"],
]


def events_csv(*lines, header=HEADER):
    return (header + "".join(line + "\r\n" for line in lines)).encode()


SEED_FILE = events_csv(*(f"{start},{end}" for start, end in SEED_EVENTS))


def problem(line, column, msg, kind):
    return {"loc": ["file", f"line {line}", *([column] if column else [])], "msg": msg, "type": kind}


@pytest.fixture
def asset_id(wattcarbon):
    return wattcarbon.create_asset("demand_response_eemetered", customId="DR123")["id"]


def upload(wattcarbon, asset_id, content, **fields):
    return wattcarbon.upload(f"/assets/{asset_id}/documents", content, filename="events.csv", **fields)


def documents(sandbox, asset_id):
    [asset] = [asset for asset in sandbox.wattcarbon()["assets"] if asset["id"] == asset_id]
    return asset["documents"]


def test_the_seeds_events_file_is_accepted_and_kept(wattcarbon, sandbox, asset_id):
    response = upload(wattcarbon, asset_id, SEED_FILE, type="demand_response_events")
    assert response.status_code == 201
    assert response.json() == {"id": 9001, "assetId": asset_id, "type": "demand_response_events", "events": 3}
    [document] = documents(sandbox, asset_id)
    assert document.pop("received_at").endswith("Z")
    assert document == {"id": 9001, "type": "demand_response_events", "events": SEED_EVENTS}


def test_documents_are_kept_in_order(wattcarbon, sandbox, asset_id):
    upload(wattcarbon, asset_id, SEED_FILE, type="demand_response_events")
    response = upload(
        wattcarbon, asset_id, events_csv(SEED_FILE.decode().splitlines()[1]), type="demand_response_events"
    )
    assert response.json() == {"id": 9002, "assetId": asset_id, "type": "demand_response_events", "events": 1}
    assert [(document["id"], len(document["events"])) for document in documents(sandbox, asset_id)] == [
        (9001, 3),
        (9002, 1),
    ]


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (
            events_csv("2021-01-01 17:00:00-05:00,2021-01-01 20:00:00-05:00", header="Start,End\r\n"),
            [
                {
                    "loc": ["file", "line 1"],
                    "msg": "the header must be exactly Event Start Time,Event End Time, not Start,End",
                    "type": "csv_header",
                }
            ],
        ),
        (
            events_csv(header="event start time,event end time\r\n"),
            [
                {
                    "loc": ["file", "line 1"],
                    "msg": "the header must be exactly Event Start Time,Event End Time, "
                    "not event start time,event end time",
                    "type": "csv_header",
                }
            ],
        ),
        (
            events_csv(
                "2021-01-01 17:00:00-05:00,2021-01-01 20:00:00-05:00", "2021-01-05 16:00:00,2021-01-05 18:00:00"
            ),
            [
                problem(
                    3,
                    "Event Start Time",
                    "'2021-01-05 16:00:00' has no UTC offset: write e.g. 2021-01-01 17:00:00-05:00",
                    "timezone_aware",
                ),
                problem(
                    3,
                    "Event End Time",
                    "'2021-01-05 18:00:00' has no UTC offset: write e.g. 2021-01-01 17:00:00-05:00",
                    "timezone_aware",
                ),
            ],
        ),
        (
            events_csv("2021-01-01 20:00:00-05:00,2021-01-01 17:00:00-05:00"),
            [
                problem(
                    2,
                    "Event End Time",
                    "2021-01-01 17:00:00-05:00 is not after 2021-01-01 20:00:00-05:00",
                    "value_error",
                )
            ],
        ),
        (
            events_csv("2021-01-01 17:00:00-05:00,2021-01-01 17:00:00-05:00"),
            [
                problem(
                    2,
                    "Event End Time",
                    "2021-01-01 17:00:00-05:00 is not after 2021-01-01 17:00:00-05:00",
                    "value_error",
                )
            ],
        ),
        (
            events_csv("2021-01-01T17:00:00-05:00,2021-01-01 20:00:00Z"),
            [
                problem(
                    2,
                    "Event Start Time",
                    "'2021-01-01T17:00:00-05:00' is not a time " + SHAPE,
                    "datetime_parsing",
                ),
                problem(
                    2,
                    "Event End Time",
                    "'2021-01-01 20:00:00Z' is not a time " + SHAPE,
                    "datetime_parsing",
                ),
            ],
        ),
        (
            events_csv("2021-02-30 17:00:00-05:00,"),
            [
                problem(
                    2,
                    "Event Start Time",
                    "'2021-02-30 17:00:00-05:00' is not a time " + SHAPE,
                    "datetime_parsing",
                ),
                problem(2, "Event End Time", "empty: a time is required", "missing"),
            ],
        ),
        (
            events_csv("2021-01-01 17:00:00-05:00"),
            [problem(2, None, "1 field(s), expected 2 (Event Start Time,Event End Time)", "csv_row")],
        ),
        (
            b"",
            [
                {
                    "loc": ["file"],
                    "msg": "the file is empty: it needs the header Event Start Time,Event End Time",
                    "type": "csv_empty",
                }
            ],
        ),
        (
            events_csv(),
            [
                {
                    "loc": ["file"],
                    "msg": "the file has the header Event Start Time,Event End Time but no rows",
                    "type": "csv_empty",
                }
            ],
        ),
    ],
    ids=[
        "other header",
        "header in lower case",
        "no offset",
        "end before start",
        "end equals start",
        "T separator and Z",
        "no such day and empty end",
        "one column",
        "empty file",
        "header alone: no events",
    ],
)
def test_a_malformed_events_file_is_a_422_naming_the_line_and_keeps_nothing(
    wattcarbon, sandbox, asset_id, content, detail
):
    response = upload(wattcarbon, asset_id, content, type="demand_response_events")
    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert documents(sandbox, asset_id) == []


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        (
            {"type": "utility_bill"},
            [{"loc": ["body", "type"], "msg": "Input should be 'demand_response_events'", "type": "enum"}],
        ),
        ({}, [{"loc": ["body", "type"], "msg": "Field required", "type": "missing"}]),
    ],
    ids=["another type", "no type"],
)
def test_the_type_must_be_demand_response_events(wattcarbon, sandbox, asset_id, fields, detail):
    response = upload(wattcarbon, asset_id, SEED_FILE, **fields)
    assert (response.status_code, response.json()) == (422, {"detail": detail})
    assert documents(sandbox, asset_id) == []


def test_the_type_and_the_file_missing_are_listed_together(wattcarbon, asset_id):
    response = wattcarbon.post(f"/assets/{asset_id}/documents", files={"other": ("x.csv", b"x")})
    assert response.json() == {
        "detail": [
            {"loc": ["body", "type"], "msg": "Field required", "type": "missing"},
            {"loc": ["body", "file"], "msg": "Field required", "type": "missing"},
        ]
    }


@pytest.mark.parametrize("kind", ["solar", "storage_direct", "energy_efficiency_eemetered"])
def test_only_a_demand_response_asset_takes_events(wattcarbon, sandbox, kind):
    asset = wattcarbon.create_asset(kind)
    response = upload(wattcarbon, asset["id"], SEED_FILE, type="demand_response_events")
    assert (response.status_code, response.json()) == (
        422,
        {
            "detail": [
                {
                    "loc": ["path", "asset_id"],
                    "msg": f"demand_response_events documents are for demand_response_eemetered assets; "
                    f"asset {asset['id']} is {kind}",
                    "type": "value_error",
                }
            ]
        },
    )
    assert documents(sandbox, asset["id"]) == []


def test_an_unknown_asset_is_a_404(wattcarbon):
    response = upload(wattcarbon, 5999, SEED_FILE, type="demand_response_events")
    assert (response.status_code, response.json()) == (404, {"detail": "Asset not found"})
