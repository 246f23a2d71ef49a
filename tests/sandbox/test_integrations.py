"""Org integrations and their signed URLs (contracts.md 1.2)."""

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.raptormaps import DEFAULT_ORG_INTEGRATIONS, DEFAULT_SIGNED_URL_TTL
from tests.fixtures.sandbox import BEARER, SIGNED_URL_PATH, signed_url

INTEGRATIONS = "/insights/api/v1/integrations/org_integrations"


def get(sandbox, path, headers=BEARER, **params):
    return requests.get(sandbox.url + path, headers=headers, params=params, timeout=10)


def test_the_list_is_shaped_as_the_seed_shows(sandbox):
    response = get(sandbox, INTEGRATIONS)
    assert response.status_code == 200
    integrations = response.json()
    assert integrations == list(DEFAULT_ORG_INTEGRATIONS)
    for item in integrations:
        assert list(item) == ["id", "org_id", "api_type", "auth_info", "query_interval_secs", "settings", "enabled"]
        assert set(item["auth_info"]) == {"username", "password"}
    assert [(item["id"], item["api_type"], item["enabled"]) for item in integrations] == [
        (101, "csv_upload", True),
        (102, "sftp", False),
    ]
    assert integrations[0]["query_interval_secs"] == 900


def test_org_id_filters_the_list(sandbox):
    assert [item["id"] for item in get(sandbox, INTEGRATIONS, org_id=1).json()] == [101, 102]
    assert get(sandbox, INTEGRATIONS, org_id=2).json() == []
    response = get(sandbox, INTEGRATIONS, org_id="one")
    assert (response.status_code, response.json()["message"]) == (400, "org_id must be an integer, not 'one'")


def test_configured_integrations_replace_the_list_with_defaults_filled_in(sandbox):
    sandbox.configure(org_integrations=[{"id": 7, "org_id": 2}, {"id": 8, "org_id": 3, "enabled": False}])
    integrations = get(sandbox, INTEGRATIONS).json()
    assert [(item["id"], item["org_id"], item["api_type"], item["enabled"]) for item in integrations] == [
        (7, 2, "csv_upload", True),
        (8, 3, "csv_upload", False),
    ]
    assert [item["id"] for item in get(sandbox, INTEGRATIONS, org_id=3).json()] == [8]
    assert urlsplit(signed_url(sandbox.url, 7)).path.startswith("/storage/raptormaps-uploads/2/7/")


def test_the_signed_url_is_a_bare_json_string_shaped_like_an_s3_presigned_url(sandbox):
    response = get(sandbox, SIGNED_URL_PATH.format(101))
    assert response.status_code == 200
    url = response.json()
    assert isinstance(url, str)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == sandbox.url
    assert re.fullmatch(r"/storage/raptormaps-uploads/1/101/[0-9a-f-]{36}\.csv", parts.path)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert list(query) == [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ]
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == str(DEFAULT_SIGNED_URL_TTL) == "900"
    assert query["X-Amz-SignedHeaders"] == "content-type;host"
    assert re.fullmatch(r"[0-9a-f]{64}", query["X-Amz-Signature"])
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - signed_at).total_seconds()) < 5
    assert sandbox.state()["raptormaps"]["signed_urls_issued"] == 1


def test_every_signed_url_is_new(sandbox):
    assert signed_url(sandbox.url) != signed_url(sandbox.url)


def test_signed_url_ttl_sets_the_expiry(sandbox):
    sandbox.configure(signed_url_ttl=60)
    assert parse_qs(urlsplit(signed_url(sandbox.url)).query)["X-Amz-Expires"] == ["60"]


def test_the_signed_url_names_the_host_the_request_came_to(sandbox):
    port = urlsplit(sandbox.url).port
    response = get(sandbox, SIGNED_URL_PATH.format(101), headers={**BEARER, "Host": f"localhost:{port}"})
    assert response.json().startswith(f"http://localhost:{port}/storage/")


def test_an_unknown_integration_is_404_and_a_disabled_one_403(sandbox):
    unknown = get(sandbox, SIGNED_URL_PATH.format(999))
    assert (unknown.status_code, unknown.json()) == (404, {"error": "not_found", "message": "no org integration 999"})
    disabled = get(sandbox, SIGNED_URL_PATH.format(102))
    assert (disabled.status_code, disabled.json()) == (
        403,
        {"error": "forbidden", "message": "org integration 102 is disabled"},
    )
    assert sandbox.state()["raptormaps"]["signed_urls_issued"] == 0


@pytest.mark.parametrize("path", [SIGNED_URL_PATH.format("abc"), INTEGRATIONS + "/101", "/insights/api/v1/other"])
def test_unknown_paths_are_404_json(sandbox, path):
    response = get(sandbox, path)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": f"no such endpoint: GET {path}"}


def test_a_known_path_with_the_wrong_method_is_405(sandbox):
    response = requests.post(sandbox.url + INTEGRATIONS, headers=BEARER, timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
