"""WattCarbon assets: create, find by customId, read, PATCH, for every kind (contracts.md 2.3)."""

from datetime import date

import pytest
import requests

from sandbox.wattcarbon import DEFAULT_ACCOUNT_ID
from tests.fixtures.sandbox import WATTCARBON_KIND_FIELDS, WattCarbonClient, wattcarbon_asset, wattcarbon_headers

NEXT_YEAR = date.today().year + 1
KINDS = (
    "solar",
    "storage_direct",
    "electrification_eemetered",
    "energy_efficiency_eemetered",
    "demand_response_eemetered",
    "tracking_building",
    "vehicle_charging",
)
COMMON_NULLS = {"customId": None, "utility": None, "commencedOperationDate": None}
SOLAR_EXAMPLE = {  # the seed's solar example, on a meter of the sandbox
    "name": "My asset",
    "customId": "SP123",
    "location": "60 Greene St Riverside IA",
    "utility": "ABC Utility",
    "commencedOperationDate": "2022-08-01",
    "kind": "solar",
    "nameplateCapacityKw": 123,
    "inverterDataId": "1234",
    "inverterDataSource": "enphase",
    "externalRegistryName": "GATS",
    "externalRegistryAssetId": "45678",
}


def problem(loc, msg, kind):
    return {"loc": loc, "msg": msg, "type": kind}


def missing(name):
    return problem(["body", name], "Field required", "missing")


@pytest.fixture
def meter_id(wattcarbon):
    return wattcarbon.create_meter()


def create(wattcarbon, body):
    return wattcarbon.post("/assets", json=body)


# --- create --------------------------------------------------------------------------------------------


def test_the_seeds_solar_example_is_created_with_every_field_as_stored(wattcarbon, sandbox, meter_id):
    response = create(wattcarbon, {**SOLAR_EXAMPLE, "meterIds": [meter_id]})
    assert response.status_code == 201
    asset = {"id": 5001, "accountId": DEFAULT_ACCOUNT_ID, **SOLAR_EXAMPLE, "meterIds": [meter_id]}
    assert response.json() == asset
    assert wattcarbon.get("/assets/5001").json() == asset
    assert sandbox.wattcarbon()["assets"] == [{**asset, "documents": []}]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_created_with_its_own_fields_and_nulls_for_absent_optional_ones(wattcarbon, meter_id, kind):
    body = wattcarbon_asset(kind, [meter_id])
    response = create(wattcarbon, body)
    assert response.status_code == 201
    optional = {"externalRegistryName": None, "externalRegistryAssetId": None} if kind == "solar" else {}
    assert response.json() == {"id": 5001, "accountId": DEFAULT_ACCOUNT_ID, **COMMON_NULLS, **body, **optional}


def test_asset_ids_start_at_5001_and_meter_ids_may_be_empty_or_several(wattcarbon):
    meters = [wattcarbon.create_meter(), wattcarbon.create_meter()]
    first = create(wattcarbon, wattcarbon_asset(meter_ids=meters)).json()
    second = create(wattcarbon, wattcarbon_asset(meter_ids=[])).json()
    assert [(first["id"], first["meterIds"]), (second["id"], second["meterIds"])] == [(5001, [1001, 1002]), (5002, [])]


def test_null_optional_fields_are_absent(wattcarbon, meter_id):
    body = wattcarbon_asset("solar", [meter_id], customId=None, utility=None, externalRegistryName=None)
    response = create(wattcarbon, body)
    assert response.status_code == 201
    assert (response.json()["customId"], response.json()["externalRegistryName"]) == (None, None)


COMMON_REQUIRED = ("name", "location", "meterIds", "kind")


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        *((kind, name) for kind in ("storage_direct", "demand_response_eemetered") for name in COMMON_REQUIRED),
        *(("solar", name) for name in WATTCARBON_KIND_FIELDS["solar"]),
        *(("electrification_eemetered", name) for name in WATTCARBON_KIND_FIELDS["electrification_eemetered"]),
    ],
)
def test_each_required_field_missing_is_a_422_naming_it(wattcarbon, sandbox, meter_id, kind, field):
    body = wattcarbon_asset(kind, [meter_id])
    del body[field]
    response = create(wattcarbon, body)
    assert response.status_code == 422
    assert response.json() == {"detail": [missing(field)]}
    assert sandbox.wattcarbon()["assets"] == []


@pytest.mark.parametrize(
    ("kind", "changes", "detail"),
    [
        (
            "storage_direct",
            {"nameplateCapacityKw": 5},
            [
                problem(
                    ["body", "nameplateCapacityKw"],
                    "nameplateCapacityKw is a field of solar assets, not of storage_direct ones",
                    "extra_forbidden",
                )
            ],
        ),
        (
            "solar",
            {"yearBuilt": 1990},
            [
                problem(
                    ["body", "yearBuilt"],
                    "yearBuilt is a field of electrification_eemetered assets, not of solar ones",
                    "extra_forbidden",
                )
            ],
        ),
        (
            "demand_response_eemetered",
            {"areaSqft": 10, "inverterDataId": "x"},
            [
                problem(
                    ["body", "areaSqft"],
                    "areaSqft is a field of electrification_eemetered assets, not of demand_response_eemetered ones",
                    "extra_forbidden",
                ),
                problem(
                    ["body", "inverterDataId"],
                    "inverterDataId is a field of solar assets, not of demand_response_eemetered ones",
                    "extra_forbidden",
                ),
            ],
        ),
        (
            "solar",
            {"capacityKw": 5},
            [problem(["body", "capacityKw"], "Extra inputs are not permitted", "extra_forbidden")],
        ),
        (
            "solar",
            {"nickname": None},
            [problem(["body", "nickname"], "Extra inputs are not permitted", "extra_forbidden")],
        ),
        ("solar", {"id": 1}, [problem(["body", "id"], "Extra inputs are not permitted", "extra_forbidden")]),
        (
            "solar",
            {"nameplateCapacityKw": 0},
            [problem(["body", "nameplateCapacityKw"], "Input should be greater than 0", "greater_than")],
        ),
        (
            "solar",
            {"nameplateCapacityKw": "123"},
            [problem(["body", "nameplateCapacityKw"], "Input should be a valid number", "float_type")],
        ),
        (
            "solar",
            {"inverterDataSource": ""},
            [
                problem(
                    ["body", "inverterDataSource"],
                    "String should have at least 1 character that is not a space",
                    "string_too_short",
                )
            ],
        ),
        (
            "solar",
            {"externalRegistryName": "GATS"},
            [
                problem(
                    ["body", "externalRegistryAssetId"],
                    "externalRegistryAssetId is required when externalRegistryName is given",
                    "missing",
                )
            ],
        ),
        (
            "solar",
            {"externalRegistryAssetId": "45678"},
            [
                problem(
                    ["body", "externalRegistryName"],
                    "externalRegistryName is required when externalRegistryAssetId is given",
                    "missing",
                )
            ],
        ),
        (
            "electrification_eemetered",
            {"areaSqft": -1},
            [problem(["body", "areaSqft"], "Input should be greater than 0", "greater_than")],
        ),
        (
            "electrification_eemetered",
            {"yearBuilt": 1799},
            [problem(["body", "yearBuilt"], "Input should be greater than or equal to 1800", "greater_than_equal")],
        ),
        (
            "electrification_eemetered",
            {"yearBuilt": NEXT_YEAR + 1},
            [problem(["body", "yearBuilt"], f"Input should be less than or equal to {NEXT_YEAR}", "less_than_equal")],
        ),
        (
            "electrification_eemetered",
            {"yearBuilt": 1990.5},
            [problem(["body", "yearBuilt"], "Input should be a valid integer", "int_type")],
        ),
        (
            "electrification_eemetered",
            {"numberOfStories": 0},
            [problem(["body", "numberOfStories"], "Input should be greater than or equal to 1", "greater_than_equal")],
        ),
        (
            "electrification_eemetered",
            {"previousFuel": 3},
            [problem(["body", "previousFuel"], "Input should be a valid string", "string_type")],
        ),
        (
            "wind",
            {},
            [
                problem(
                    ["body", "kind"],
                    "Input should be " + " or ".join(f"'{kind}'" for kind in KINDS),
                    "literal_error",
                )
            ],
        ),
        (
            "storage_direct",
            {"name": ""},
            [
                problem(
                    ["body", "name"], "String should have at least 1 character that is not a space", "string_too_short"
                )
            ],
        ),
        (
            "storage_direct",
            {"customId": ""},
            [
                problem(
                    ["body", "customId"],
                    "String should have at least 1 character that is not a space",
                    "string_too_short",
                )
            ],
        ),
        (
            "storage_direct",
            {"customId": 123},
            [problem(["body", "customId"], "Input should be a valid string", "string_type")],
        ),
        (
            "storage_direct",
            {"utility": ["ABC"]},
            [problem(["body", "utility"], "Input should be a valid string", "string_type")],
        ),
        (
            "storage_direct",
            {"commencedOperationDate": "2022-8-1"},
            [
                problem(
                    ["body", "commencedOperationDate"],
                    "Input should be a valid date in the format YYYY-MM-DD",
                    "date_parsing",
                )
            ],
        ),
        (
            "storage_direct",
            {"commencedOperationDate": "2022-02-30"},
            [
                problem(
                    ["body", "commencedOperationDate"],
                    "Input should be a valid date in the format YYYY-MM-DD",
                    "date_parsing",
                )
            ],
        ),
        (
            "storage_direct",
            {"location": {"street": "1 Main St", "city": "Ames", "state": "IA", "country": "US"}},
            [problem(["body", "location", "postalCode"], "Field required", "missing")],
        ),
        (
            "storage_direct",
            {"location": {"latitude": 95, "longitude": 0}},
            [problem(["body", "location", "latitude"], "Input should be less than or equal to 90", "less_than_equal")],
        ),
        (
            "storage_direct",
            {"meterIds": 1001},
            [problem(["body", "meterIds"], "Input should be a valid list", "list_type")],
        ),
        (
            "storage_direct",
            {"meterIds": ["1001"]},
            [problem(["body", "meterIds", 0], "Input should be a valid integer", "int_type")],
        ),
        (
            "storage_direct",
            {"meterIds": [1001, 999]},
            [problem(["body", "meterIds", 1], "meter 999 is not a meter of this account", "value_error")],
        ),
        (
            "storage_direct",
            {"meterIds": [1001, 1001]},
            [problem(["body", "meterIds", 1], "meter 1001 is listed twice", "value_error")],
        ),
    ],
    ids=[
        "solar field on storage",
        "electrification field on solar",
        "two foreign fields on DR",
        "unknown field",
        "unknown field even null",
        "id given",
        "zero capacity",
        "capacity as text",
        "empty inverter source",
        "registry name alone",
        "registry id alone",
        "negative area",
        "built before 1800",
        "built after next year",
        "year not whole",
        "no stories",
        "fuel not text",
        "unknown kind",
        "empty name",
        "empty customId",
        "customId a number",
        "utility a list",
        "date not zero-padded",
        "no such date",
        "address without postal code",
        "latitude out of range",
        "meterIds not a list",
        "meter id as text",
        "unknown meter",
        "meter twice",
    ],
)
def test_an_invalid_asset_is_a_422_listing_each_problem(wattcarbon, sandbox, meter_id, kind, changes, detail):
    response = create(wattcarbon, wattcarbon_asset(kind, [meter_id], **changes))
    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert sandbox.wattcarbon()["assets"] == []


def test_a_meter_of_another_account_is_unknown(sandbox):
    other = {"email": "org@wattcarbon.invalid", "api_key": "org-key", "account_id": "org-account"}
    sandbox.configure(
        accounts=[
            {
                "email": "sandbox@wattcarbon.invalid",
                "api_key": "sandbox-wattcarbon-api-key",
                "account_id": DEFAULT_ACCOUNT_ID,
            },
            other,
        ]
    )
    mine, theirs = (
        WattCarbonClient(sandbox.url),
        WattCarbonClient(sandbox.url, "org-account", "org@wattcarbon.invalid", "org-key"),
    )
    try:
        their_meter = theirs.create_meter()
        response = create(mine, wattcarbon_asset(meter_ids=[their_meter]))
        assert response.json() == {
            "detail": [
                problem(["body", "meterIds", 0], f"meter {their_meter} is not a meter of this account", "value_error")
            ]
        }
    finally:
        mine.close()
        theirs.close()


def test_a_second_asset_with_the_same_custom_id_is_a_409(wattcarbon, sandbox, meter_id):
    assert create(wattcarbon, wattcarbon_asset(meter_ids=[meter_id], customId="SP123")).status_code == 201
    response = create(wattcarbon, wattcarbon_asset("solar", [meter_id], customId="SP123", name="Again"))
    assert (response.status_code, response.json()) == (
        409,
        {"detail": "An asset with customId 'SP123' already exists in this account"},
    )
    assert [asset["name"] for asset in sandbox.wattcarbon()["assets"]] == ["My asset"]
    # An invalid body is a 422 first, whatever its customId.
    assert create(wattcarbon, wattcarbon_asset("solar", [meter_id], customId="SP123", name="")).status_code == 422


# --- find and read -------------------------------------------------------------------------------------


def test_find_by_custom_id_gives_a_list(wattcarbon, meter_id):
    first = create(wattcarbon, wattcarbon_asset(meter_ids=[meter_id], customId="A-1")).json()
    second = create(wattcarbon, wattcarbon_asset(meter_ids=[meter_id], customId="A-2")).json()
    third = create(wattcarbon, wattcarbon_asset(meter_ids=[meter_id])).json()
    assert wattcarbon.get("/assets", params={"customId": "A-2"}).json() == [second]
    assert wattcarbon.get("/assets", params={"customId": "A-3"}).json() == []
    assert wattcarbon.get("/assets", params={"customId": ""}).json() == []
    assert wattcarbon.get("/assets").json() == [first, second, third]


def test_an_unknown_asset_is_a_404(wattcarbon):
    assert (wattcarbon.get("/assets/5001").status_code, wattcarbon.get("/assets/5001").json()) == (
        404,
        {"detail": "Asset not found"},
    )
    assert wattcarbon.patch("/assets/5001", json={"name": "x"}).json() == {"detail": "Asset not found"}
    assert wattcarbon.get("/assets/x").json()["detail"][0]["type"] == "int_parsing"


def test_another_accounts_assets_are_not_found_through_this_one(sandbox, wattcarbon, meter_id):
    create(wattcarbon, wattcarbon_asset(meter_ids=[meter_id], customId="A-1"))
    response = requests.get(
        f"{sandbox.url}/accounts/other/assets", headers=wattcarbon_headers(wattcarbon.token), timeout=10
    )
    assert response.status_code == 403


# --- PATCH ---------------------------------------------------------------------------------------------


def test_patch_changes_the_given_fields_and_null_removes_an_optional_one(wattcarbon, sandbox, meter_id):
    created = create(wattcarbon, {**SOLAR_EXAMPLE, "meterIds": [meter_id]}).json()
    second_meter = wattcarbon.create_meter()
    response = wattcarbon.patch(
        "/assets/5001",
        json={
            "name": "Renamed",
            "utility": None,
            "externalRegistryName": None,
            "externalRegistryAssetId": None,
            "meterIds": [meter_id, second_meter],
            "location": {"latitude": 41.6, "longitude": -91.5},
        },
    )
    assert response.status_code == 200
    expected = {
        **created,
        "name": "Renamed",
        "utility": None,
        "externalRegistryName": None,
        "externalRegistryAssetId": None,
        "meterIds": [meter_id, second_meter],
        "location": {"latitude": 41.6, "longitude": -91.5},
    }
    assert response.json() == expected
    assert wattcarbon.get("/assets/5001").json() == expected
    assert wattcarbon.patch("/assets/5001", json={}).json() == expected  # nothing to change


def test_patch_can_change_the_kind_when_the_old_kinds_fields_are_removed(wattcarbon, meter_id):
    create(wattcarbon, wattcarbon_asset("solar", [meter_id]))
    refused = wattcarbon.patch("/assets/5001", json={"kind": "demand_response_eemetered"})
    assert refused.status_code == 422
    assert [item["loc"] for item in refused.json()["detail"]] == [
        ["body", "nameplateCapacityKw"],
        ["body", "inverterDataId"],
        ["body", "inverterDataSource"],
    ]
    assert wattcarbon.get("/assets/5001").json()["kind"] == "solar"
    changed = wattcarbon.patch(
        "/assets/5001",
        json={
            "kind": "demand_response_eemetered",
            "nameplateCapacityKw": None,
            "inverterDataId": None,
            "inverterDataSource": None,
        },
    )
    assert changed.status_code == 200
    assert "nameplateCapacityKw" not in changed.json()
    assert changed.json()["kind"] == "demand_response_eemetered"


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"name": None}, [missing("name")]),
        ({"meterIds": None}, [missing("meterIds")]),
        ({"nameplateCapacityKw": None}, [missing("nameplateCapacityKw")]),
        (
            {"yearBuilt": 1990},
            [
                problem(
                    ["body", "yearBuilt"],
                    "yearBuilt is a field of electrification_eemetered assets, not of solar ones",
                    "extra_forbidden",
                )
            ],
        ),
        ({"accountId": "other"}, [problem(["body", "accountId"], "Extra inputs are not permitted", "extra_forbidden")]),
        (
            {"meterIds": [4242]},
            [problem(["body", "meterIds", 0], "meter 4242 is not a meter of this account", "value_error")],
        ),
    ],
    ids=[
        "required name nulled",
        "meters nulled",
        "kind field nulled",
        "wrong-kind field",
        "account id",
        "unknown meter",
    ],
)
def test_an_invalid_patch_is_a_422_and_changes_nothing(wattcarbon, meter_id, changes, detail):
    created = create(wattcarbon, wattcarbon_asset("solar", [meter_id], name="Kept")).json()
    response = wattcarbon.patch("/assets/5001", json=changes)
    assert (response.status_code, response.json()) == (422, {"detail": detail})
    assert wattcarbon.get("/assets/5001").json() == created


def test_patch_to_another_assets_custom_id_is_a_409_and_to_its_own_is_fine(wattcarbon, meter_id):
    create(wattcarbon, wattcarbon_asset(meter_ids=[meter_id], customId="A-1"))
    create(wattcarbon, wattcarbon_asset(meter_ids=[meter_id], customId="A-2"))
    clash = wattcarbon.patch("/assets/5002", json={"customId": "A-1"})
    assert (clash.status_code, clash.json()) == (
        409,
        {"detail": "An asset with customId 'A-1' already exists in this account"},
    )
    assert wattcarbon.get("/assets/5002").json()["customId"] == "A-2"
    assert wattcarbon.patch("/assets/5002", json={"customId": "A-2", "name": "Same"}).status_code == 200
    assert wattcarbon.patch("/assets/5002", json={"customId": None}).json()["customId"] is None
    assert wattcarbon.patch("/assets/5001", json={"customId": "A-2"}).status_code == 200  # free again
