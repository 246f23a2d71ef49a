"""Signed upload URLs that look like S3 presigned URLs and are checked like them.

The signature is an HMAC-SHA256, under a secret made when the sandbox starts, of the method
(PUT), the path, every X-Amz-* query parameter but the signature (so the date, the expiry and
the list of signed headers), the content type ``text/csv`` and the value of every signed
``x-amz-meta-*`` header. It is not AWS SigV4; it only has its shape.

A URL may be signed with object metadata, as an S3 presigned PUT with ``Metadata`` is: its
``X-Amz-SignedHeaders`` then names ``x-amz-meta-*`` headers, and the PUT must send each of them
with the value signed. The URL alone does not carry those values: whoever asked for the URL is
told them beside it.
"""

import enum
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

CONTENT_TYPE = "text/csv"
MAX_EXPIRES = 7 * 24 * 3600  # S3's limit for presigned URLs
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
REGION = "us-east-1"
ACCESS_KEY = "SANDBOXACCESSKEYID"
BASE_SIGNED_HEADERS = ("content-type", "host")
META_PREFIX = "x-amz-meta-"


class Check(enum.Enum):
    VALID = "valid"
    UNSIGNED = "unsigned"  # no X-Amz-Signature at all
    MISMATCH = "mismatch"  # tampered, or signed by someone else
    EXPIRED = "expired"


class UrlSigner:
    def __init__(self, secret=None):
        self._secret = secret or secrets.token_bytes(32)

    def sign(self, base_url, path, expires, signed_at, metadata=None):
        """A URL for one PUT of ``text/csv`` to ``path``, valid ``expires`` seconds after ``signed_at``.

        ``metadata`` ({"x-amz-meta-name": "value"}) are headers the PUT must send, each with its value.
        """
        stamp = datetime.fromtimestamp(signed_at, UTC)
        metadata = {name.lower(): value for name, value in (metadata or {}).items()}
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"{ACCESS_KEY}/{stamp:%Y%m%d}/{REGION}/s3/aws4_request",
            "X-Amz-Date": stamp.strftime(DATE_FORMAT),
            "X-Amz-Expires": str(expires),
            "X-Amz-SignedHeaders": ";".join(sorted([*BASE_SIGNED_HEADERS, *metadata])),
        }
        params["X-Amz-Signature"] = self._signature(path, params, metadata)
        return f"{base_url}{quote(path)}?{urlencode(params, quote_via=quote)}"

    def check(self, path, query, now, metadata=None):
        """Whether a PUT to ``path`` with this query (a dict) and these signed meta headers' values
        (``metadata``, as the request sent them) is signed by us and still valid."""
        signature = query.get("X-Amz-Signature")
        if not signature:
            return Check.UNSIGNED
        params = {name: value for name, value in query.items() if name.startswith("X-Amz-")}
        if not hmac.compare_digest(signature, self._signature(path, params, metadata or {})):
            return Check.MISMATCH
        try:
            signed_at = datetime.strptime(params["X-Amz-Date"], DATE_FORMAT).replace(tzinfo=UTC).timestamp()
            expires = int(params["X-Amz-Expires"])
        except (KeyError, ValueError):
            return Check.MISMATCH
        if now > signed_at + min(expires, MAX_EXPIRES):
            return Check.EXPIRED
        return Check.VALID

    def _signature(self, path, params, metadata):
        signed = sorted((name, value) for name, value in params.items() if name != "X-Amz-Signature")
        headers = [f"{name}:{value.strip()}" for name, value in sorted(metadata.items())]
        canonical = "\n".join(["PUT", path, urlencode(signed, quote_via=quote), CONTENT_TYPE, *headers])
        return hmac.new(self._secret, canonical.encode(), hashlib.sha256).hexdigest()


def signed_meta_headers(query):
    """The ``x-amz-meta-*`` headers a URL's ``X-Amz-SignedHeaders`` names (lower case)."""
    names = query.get("X-Amz-SignedHeaders", "").lower().split(";")
    return [name for name in names if name.startswith(META_PREFIX)]
