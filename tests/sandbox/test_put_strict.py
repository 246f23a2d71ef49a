"""What the storage host refuses of a PUT beyond the CSV's columns (contracts.md 1.3 and 1.4).

A bearer token never goes to the storage host; a URL signed with object metadata needs those
headers, and takes no x-amz-* header it was not signed for; a file is on the 15-minute grid,
names each farm once, and has rows under its header. Each refusal is S3's XML error.
"""

import xml.etree.ElementTree as ET

import pytest
import requests

from tests.fixtures.sandbox import BEARER, SIGNED_URL_PATH, contract_csv, contract_row, put_csv, signed_url

GOOD = contract_csv([contract_row(observation_time=f"2024-06-01 00:{minute:02d}:00") for minute in (0, 15, 30)])
META = {"x-amz-meta-org-id": "1", "x-amz-meta-integration-id": "101"}


def s3_error(response):
    assert response.headers["Content-Type"] == "application/xml"
    root = ET.fromstring(response.content)
    assert root.tag == "Error" and root.findtext("RequestId")
    return root


def signed_upload(sandbox):
    """The {"url", "headers"} answer of a sandbox that signs its URLs with object metadata."""
    sandbox.configure(signed_metadata=True)
    response = requests.get(sandbox.url + SIGNED_URL_PATH.format(101), headers=BEARER, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


# --- the bearer token stays away from the storage host ---------------------------------------------


def test_a_put_carrying_an_authorization_header_is_refused_400_without_echoing_it(sandbox):
    response = put_csv(signed_url(sandbox.url), GOOD, headers=BEARER)
    assert response.status_code == 400
    error = s3_error(response)
    assert (error.findtext("Code"), error.findtext("ArgumentName")) == ("InvalidArgument", "Authorization")
    assert error.findtext("Message").startswith("Only one auth mechanism allowed")
    assert b"sandbox-api-token" not in response.content
    assert sandbox.uploads() == []
    [call] = sandbox.calls("put")
    assert call["status"] == 400


def test_any_authorization_scheme_is_refused(sandbox):
    response = put_csv(signed_url(sandbox.url), GOOD, headers={"Authorization": "Basic eA=="})
    assert (response.status_code, s3_error(response).findtext("Code")) == (400, "InvalidArgument")


# --- signed metadata headers -----------------------------------------------------------------------


def test_by_default_the_signed_url_is_the_seeds_bare_string_signed_for_content_type_and_host(sandbox):
    url = signed_url(sandbox.url)
    assert isinstance(url, str) and "X-Amz-SignedHeaders=content-type%3Bhost&" in url


def test_a_url_signed_with_metadata_comes_with_the_headers_it_needs(sandbox):
    answer = signed_upload(sandbox)
    assert answer["headers"] == META
    assert "X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-integration-id%3Bx-amz-meta-org-id&" in answer["url"]
    assert "x-amz-meta-org-id=" not in answer["url"]  # the values are not in the URL


def test_the_put_with_the_signed_metadata_headers_is_stored_with_its_metadata(sandbox):
    answer = signed_upload(sandbox)
    response = put_csv(answer["url"], GOOD, headers=answer["headers"])
    assert response.status_code == 200, response.text
    [upload] = sandbox.uploads()
    assert upload["metadata"] == {"org-id": "1", "integration-id": "101"}


def test_a_put_without_a_signed_metadata_header_is_refused_403(sandbox):
    answer = signed_upload(sandbox)
    headers = {"x-amz-meta-org-id": "1"}
    response = put_csv(answer["url"], GOOD, headers=headers)
    assert response.status_code == 403
    error = s3_error(response)
    assert error.findtext("Code") == "SignatureDoesNotMatch"
    assert "x-amz-meta-integration-id, which the request did not send" in error.findtext("Message")
    assert sandbox.uploads() == []


def test_a_put_without_any_header_but_the_content_type_is_refused_as_the_seed_script_would_be(sandbox):
    response = put_csv(signed_upload(sandbox)["url"], GOOD)
    assert (response.status_code, s3_error(response).findtext("Code")) == (403, "SignatureDoesNotMatch")


def test_a_signed_metadata_header_with_another_value_does_not_match_the_signature(sandbox):
    answer = signed_upload(sandbox)
    headers = {**answer["headers"], "x-amz-meta-org-id": "2"}
    response = put_csv(answer["url"], GOOD, headers=headers)
    assert (response.status_code, s3_error(response).findtext("Code")) == (403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("metadata", [False, True])
def test_an_x_amz_header_the_url_is_not_signed_for_is_refused_403(sandbox, metadata):
    if metadata:
        answer = signed_upload(sandbox)
        url, headers = answer["url"], answer["headers"]
    else:
        url, headers = signed_url(sandbox.url), {}
    response = put_csv(url, GOOD, headers={**headers, "x-amz-meta-farm": "F-1"})
    assert response.status_code == 403
    error = s3_error(response)
    assert (error.findtext("Code"), error.findtext("HeadersNotSigned")) == ("AccessDenied", "x-amz-meta-farm")


def test_signed_metadata_is_a_setting_a_reset_turns_off(sandbox):
    assert isinstance(signed_upload(sandbox), dict)
    sandbox.reset()
    assert isinstance(signed_url(sandbox.url), str)


# --- the CSV's stricter rules, as the PUT answers them ---------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            contract_csv([contract_row(observation_time="2024-06-01 00:10:00")]),
            'line 2, column 13 (observation_time): "2024-06-01 00:10:00" is not the start of a 15-minute interval',
        ),
        (
            contract_csv([contract_row(observation_time="2024-06-01 00:15:07")]),
            'line 2, column 13 (observation_time): "2024-06-01 00:15:07" is not the start of a 15-minute interval',
        ),
        (
            contract_csv(
                [
                    contract_row(observation_time="2024-06-01 00:00:00"),
                    contract_row(observation_time="2024-06-01 00:15:00", farm_name="Other Acres"),
                ]
            ),
            'line 3, column 2 (farm_name): farm F-1 is named "Sunny Acres" on line 2, "Other Acres" here',
        ),
        (contract_csv([]), "line 1: the header row only: a file carries at least one row of readings"),
    ],
    ids=["minutes off the grid", "seconds", "one farm, two names", "header only"],
)
def test_a_file_off_the_contract_is_refused_400_invalid_csv(sandbox, content, problem):
    response = put_csv(signed_url(sandbox.url), content)
    assert response.status_code == 400
    error = s3_error(response)
    assert error.findtext("Code") == "InvalidCsv"
    assert error.find("Problems")[0].text.startswith(problem)
    [upload] = sandbox.uploads()
    assert upload["valid"] is False
