"""The PUT against a real S3-style presigned URL (moto in server mode, on 127.0.0.1).

moto stores what it is sent but does not check SigV4 query signatures, so the test checks
the signature itself: it recomputes AWS Signature Version 4 over the request the client
actually sent (method, URL exactly as sent, the signed headers) and compares it with the
URL's X-Amz-Signature. Any header the client changed or query it re-encoded would differ.
"""

import hashlib
import hmac
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from uploads.models import Attempt, Service
from uploads.outbound.http import CallFailed, Client, RetryPolicy
from uploads.raptormaps.api import SignedUrl, put_to_signed_url

pytestmark = pytest.mark.django_db

ACCESS_KEY, SECRET_KEY, REGION, BUCKET = "AKIAEXAMPLEKEY", "example/secret/key", "us-east-1", "raptor-uploads"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def presigned_put(s3, key, metadata=None):
    params = {"Bucket": BUCKET, "Key": key, "ContentType": "text/csv"}
    if metadata:
        params["Metadata"] = metadata
    return s3.generate_presigned_url("put_object", Params=params, ExpiresIn=900)


def sigv4_signature(method, url, headers):
    """AWS SigV4 (query-string auth) of a request, computed from scratch."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "X-Amz-Signature"]
    params = dict(query)
    signed = params["X-Amz-SignedHeaders"].split(";")
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    lowered["host"] = parts.netloc
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query))
    canonical_request = "\n".join(
        [
            method,
            parts.path,
            canonical_query,
            "".join(f"{name}:{lowered[name]}\n" for name in signed),
            ";".join(signed),
            "UNSIGNED-PAYLOAD",
        ]
    )
    date = params["X-Amz-Date"]
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = ("AWS4" + SECRET_KEY).encode()
    for piece in scope.split("/"):
        key = hmac.new(key, piece.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def csv_file(tmp_path, rows=2000):
    path = tmp_path / "part.csv"
    lines = ["farm_id,farm_name,observation_time,measured_value"]
    lines += [f'F1,"Farm, one",2024-01-01 00:{i % 60:02d}:00,{i * 0.25}' for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_put_carries_exactly_what_the_presigned_signature_covers(s3, tmp_path):
    url = presigned_put(s3, "org-1/part-0001.csv")
    path = csv_file(tmp_path)
    client = Client(Service.RAPTORMAPS, policy=RetryPolicy(max_attempts=1))
    response = put_to_signed_url(client, url, path)

    sent = response.request
    assert response.status_code == 200 and response.headers["ETag"]
    assert sent.url == url  # not re-encoded
    # urllib3's marker: these headers do not go on the wire (test_http.py reads the wire itself).
    assert dict(sent.headers) == {
        "Content-Type": "text/csv",
        "Content-Length": str(path.stat().st_size),
        "User-Agent": "@@@SKIP_HEADER@@@",
        "Accept-Encoding": "@@@SKIP_HEADER@@@",
    }
    assert "Authorization" not in sent.headers and "Transfer-Encoding" not in sent.headers
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    assert sigv4_signature("PUT", sent.url, {"Content-Type": sent.headers["Content-Type"]}) == signature

    stored = s3.get_object(Bucket=BUCKET, Key="org-1/part-0001.csv")
    assert stored["Body"].read() == path.read_bytes()
    assert stored["ContentType"] == "text/csv"
    assert stored["ContentLength"] == path.stat().st_size


def test_the_recorded_attempt_keeps_no_part_of_the_signature(s3, tmp_path):
    url = presigned_put(s3, "org-1/part-0002.csv")
    client = Client(Service.RAPTORMAPS, policy=RetryPolicy(max_attempts=1))
    put_to_signed_url(client, url, csv_file(tmp_path, rows=10))
    attempt = Attempt.objects.get()
    query = dict(parse_qsl(urlsplit(url).query))
    for name in ("X-Amz-Signature", "X-Amz-Credential"):
        assert query[name] not in attempt.url and quote(query[name], safe="") not in attempt.url
    assert attempt.url.startswith(url.split("?")[0] + "?")
    assert (attempt.operation, attempt.method, attempt.status_code, attempt.outcome) == ("put", "PUT", 200, "ok")
    assert attempt.request_bytes == (tmp_path / "part.csv").stat().st_size


def test_a_tampered_signature_check_would_notice_a_changed_header(s3):
    # The checker is not vacuous: another content type gives another signature.
    url = presigned_put(s3, "org-1/x.csv")
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    assert sigv4_signature("PUT", url, {"Content-Type": "text/plain"}) != signature
    assert sigv4_signature("PUT", url, {"Content-Type": "text/csv"}) == signature


def test_a_url_presigned_with_metadata_is_put_with_the_signed_meta_headers(s3, tmp_path):
    """boto3 signs object metadata as x-amz-meta-* headers: the PUT must send each with its value."""
    url = presigned_put(s3, "org-1/part-0003.csv", metadata={"org-id": "1"})
    assert "x-amz-meta-org-id" in dict(parse_qsl(urlsplit(url).query))["X-Amz-SignedHeaders"]
    client = Client(Service.RAPTORMAPS, policy=RetryPolicy(max_attempts=1))
    response = put_to_signed_url(client, SignedUrl(url, {"x-amz-meta-org-id": "1"}), csv_file(tmp_path, rows=10))

    sent = response.request
    assert response.status_code == 200
    assert sent.headers["x-amz-meta-org-id"] == "1" and "Authorization" not in sent.headers
    signed = {"Content-Type": sent.headers["Content-Type"], "x-amz-meta-org-id": sent.headers["x-amz-meta-org-id"]}
    assert sigv4_signature("PUT", sent.url, signed) == dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    assert s3.head_object(Bucket=BUCKET, Key="org-1/part-0003.csv")["Metadata"] == {"org-id": "1"}


def test_a_url_signed_for_a_header_the_client_has_no_value_for_is_not_sent(s3, tmp_path):
    url = presigned_put(s3, "org-1/part-0004.csv", metadata={"org-id": "1"})
    client = Client(Service.RAPTORMAPS, policy=RetryPolicy(max_attempts=1))
    with pytest.raises(CallFailed, match="signed for the header\\(s\\) x-amz-meta-org-id"):
        put_to_signed_url(client, url, csv_file(tmp_path, rows=10))
    assert Attempt.objects.count() == 0
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
