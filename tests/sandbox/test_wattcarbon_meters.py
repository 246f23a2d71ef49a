"""WattCarbon meters: POST /accounts/{a}/meters and GET /accounts/{a}/meters/{id} (contracts.md 2.2)."""

import pytest

from sandbox.wattcarbon import DEFAULT_ACCOUNT_ID
from tests.fixtures.sandbox import WattCarbonClient, wattcarbon_meter_body

ADDRESS = {"street": "606 Ellis St", "city": "San Francisco", "state": "CA", "country": "US", "postalCode": "94109"}


def problem(loc, msg, kind):
    return {"loc": loc, "msg": msg, "type": kind}


@pytest.mark.parametrize(
    "location",
    [
        "60 Greene St Riverside IA",
        ADDRESS,
        {"latitude": -90, "longitude": 180},
    ],
    ids=["address string", "address object", "coordinates"],
)
def test_a_meter_is_created_with_an_integer_id_and_read_back(wattcarbon, sandbox, location):
    body = wattcarbon_meter_body(location=location, meterType="gas")
    response = wattcarbon.post("/meters", json=body)
    assert response.status_code == 201
    meter = {"id": 1001, "accountId": DEFAULT_ACCOUNT_ID, **body}
    assert response.json() == meter
    read = wattcarbon.get("/meters/1001")
    assert (read.status_code, read.json()) == (200, meter)
    [state] = sandbox.wattcarbon()["meters"]
    assert state == {
        **meter,
        "intervals": 0,
        "intervalKwh": 0.0,
        "firstIntervalStart": None,
        "lastIntervalStart": None,
        "bills": 0,
        "billKwh": 0.0,
        "firstBillStart": None,
        "lastBillStart": None,
    }


def test_meter_ids_start_at_1001_and_increase_and_start_again_after_a_reset(wattcarbon, sandbox):
    assert [wattcarbon.create_meter(name=f"M{n}") for n in range(3)] == [1001, 1002, 1003]
    sandbox.reset()
    assert sandbox.wattcarbon()["meters"] == []
    assert wattcarbon.get("/meters/1001").json() == {"detail": "Not authenticated"}  # tokens are forgotten too
    again = WattCarbonClient(sandbox.url)
    try:
        assert again.create_meter() == 1001
    finally:
        again.close()


def test_a_null_address_part_counts_as_missing(wattcarbon):
    body = wattcarbon_meter_body(location={**ADDRESS, "state": None})
    response = wattcarbon.post("/meters", json=body)
    assert response.status_code == 422
    assert response.json() == {"detail": [problem(["body", "location", "state"], "Field required", "missing")]}


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        (
            {"name": ""},
            [
                problem(
                    ["body", "name"], "String should have at least 1 character that is not a space", "string_too_short"
                )
            ],
        ),
        (
            {"name": "  "},
            [
                problem(
                    ["body", "name"], "String should have at least 1 character that is not a space", "string_too_short"
                )
            ],
        ),
        ({"name": 5}, [problem(["body", "name"], "Input should be a valid string", "string_type")]),
        ({"name": None}, [problem(["body", "name"], "Field required", "missing")]),
        (
            {"apiProvider": "green_button"},
            [problem(["body", "apiProvider"], "Input should be 'manual'", "literal_error")],
        ),
        (
            {"meterType": "water"},
            [problem(["body", "meterType"], "Input should be 'electricity' or 'gas'", "literal_error")],
        ),
        (
            {"meterType": ["gas"]},
            [problem(["body", "meterType"], "Input should be 'electricity' or 'gas'", "literal_error")],
        ),
        (
            {"location": ""},
            [
                problem(
                    ["body", "location"],
                    "String should have at least 1 character that is not a space",
                    "string_too_short",
                )
            ],
        ),
        (
            {"location": 42},
            [
                problem(
                    ["body", "location"],
                    "location must be an address string, an address object {street, city, state, country, "
                    "postalCode} (all five required), or {latitude, longitude}",
                    "location_type",
                )
            ],
        ),
        (
            {"location": {"street": "1 Main St", "city": "Ames"}},
            [
                problem(["body", "location", "state"], "Field required", "missing"),
                problem(["body", "location", "country"], "Field required", "missing"),
                problem(["body", "location", "postalCode"], "Field required", "missing"),
            ],
        ),
        (
            {"location": {}},
            [
                problem(["body", "location", part], "Field required", "missing")
                for part in ("street", "city", "state", "country", "postalCode")
            ],
        ),
        (
            {"location": {**ADDRESS, "zip": "94109"}},
            [problem(["body", "location", "zip"], "Extra inputs are not permitted", "extra_forbidden")],
        ),
        (
            {"location": {**ADDRESS, "postalCode": 94109}},
            [problem(["body", "location", "postalCode"], "Input should be a valid string", "string_type")],
        ),
        (
            {"location": {"latitude": 91, "longitude": 0}},
            [problem(["body", "location", "latitude"], "Input should be less than or equal to 90", "less_than_equal")],
        ),
        (
            {"location": {"latitude": 0, "longitude": -180.5}},
            [
                problem(
                    ["body", "location", "longitude"],
                    "Input should be greater than or equal to -180",
                    "greater_than_equal",
                )
            ],
        ),
        (
            {"location": {"latitude": "40.1", "longitude": True}},
            [
                problem(["body", "location", "latitude"], "Input should be a valid number", "float_type"),
                problem(["body", "location", "longitude"], "Input should be a valid number", "float_type"),
            ],
        ),
        (
            {"location": {"latitude": 40.1}},
            [problem(["body", "location", "longitude"], "Field required", "missing")],
        ),
        (
            {"location": {"latitude": 40.1, "longitude": 1, "street": "1 Main St"}},
            [problem(["body", "location", "street"], "Extra inputs are not permitted", "extra_forbidden")],
        ),
        ({"id": 7}, [problem(["body", "id"], "Extra inputs are not permitted", "extra_forbidden")]),
        ({"timezone": None}, [problem(["body", "timezone"], "Extra inputs are not permitted", "extra_forbidden")]),
    ],
    ids=[
        "empty name",
        "blank name",
        "name not text",
        "null name",
        "other api provider",
        "other meter type",
        "meter type a list",
        "empty location",
        "location a number",
        "address without city",
        "empty address",
        "unknown address part",
        "postal code a number",
        "latitude over 90",
        "longitude under -180",
        "coordinates not numbers",
        "latitude alone",
        "coordinates and a street",
        "id given",
        "unknown field even null",
    ],
)
def test_an_invalid_meter_is_a_422_listing_each_problem(wattcarbon, sandbox, changes, detail):
    response = wattcarbon.post("/meters", json=wattcarbon_meter_body(**changes))
    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert sandbox.wattcarbon()["meters"] == []


def test_every_missing_field_is_listed_at_once(wattcarbon):
    response = wattcarbon.post("/meters", json={})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        problem(["body", name], "Field required", "missing")
        for name in ("name", "apiProvider", "meterType", "location")
    ]


def test_a_body_that_is_not_a_json_object_is_a_422(wattcarbon):
    listed = wattcarbon.post("/meters", json=[wattcarbon_meter_body()])
    assert listed.json() == {
        "detail": [
            problem(
                ["body"], "Input should be a valid dictionary or object to extract fields from", "model_attributes_type"
            )
        ]
    }
    broken = wattcarbon.post("/meters", data=b'{"name": ', headers={"Content-Type": "application/json"})
    assert (broken.status_code, broken.json()) == (
        422,
        {
            "detail": [
                {
                    "loc": ["body", 9],
                    "msg": "JSON decode error",
                    "type": "json_invalid",
                    "ctx": {"error": "Expecting value"},
                }
            ]
        },
    )
    form = wattcarbon.post("/meters", data={"name": "x"})
    assert (form.status_code, form.json()["detail"][0]["msg"]) == (
        422,
        "Input should be a JSON object: send Content-Type application/json (got application/x-www-form-urlencoded)",
    )


def test_an_unknown_meter_is_a_404_and_a_meter_id_must_be_an_integer(wattcarbon):
    missing = wattcarbon.get("/meters/1001")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Meter not found"})
    wrong = wattcarbon.get("/meters/abc")
    assert (wrong.status_code, wrong.json()) == (
        422,
        {
            "detail": [
                problem(
                    ["path", "meter_id"],
                    "Input should be a valid integer, unable to parse string as an integer",
                    "int_parsing",
                )
            ]
        },
    )


def test_unknown_paths_and_methods_answer_in_fastapis_shape(wattcarbon):
    assert (wattcarbon.get("/nothing").status_code, wattcarbon.get("/nothing").json()) == (404, {"detail": "Not Found"})
    response = wattcarbon.request("DELETE", "/meters/1001")
    assert (response.status_code, response.json(), response.headers["Allow"]) == (
        405,
        {"detail": "Method Not Allowed"},
        "GET",
    )
