"""Take secrets out of anything that is about to be logged or recorded.

Signed URLs carry their credential in the query string, token responses carry the token,
org integrations carry third-party passwords (``auth_info``): all of it is replaced by
``[redacted]`` before an attempt record, a log line or an error message is written.
"""

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["REDACTED", "RedactingFilter", "redact_text", "redact_url"]

REDACTED = "[redacted]"
# Query parameters that identify rather than authorise, kept so a person can read the record.
PUBLIC_PARAMETERS = frozenset({"org_id", "customId"})

_URL = re.compile(r"https?://[^\s\"'<>\\]+")
_SECRET_KEYS = (
    r"access_token|refresh_token|id_token|token|client_secret|secret|password|api_key|apiKey|apikey"
    r"|authorization|signed_url|url|signature"
)
_JSON_SECRET = re.compile(rf'("(?:{_SECRET_KEYS})"\s*:\s*)"[^"]*"', re.IGNORECASE)
_JSON_AUTH_INFO = re.compile(r'("auth_info"\s*:\s*)\{[^{}]*\}', re.IGNORECASE)
_FORM_SECRET = re.compile(rf"\b((?:{_SECRET_KEYS})=)[^&\s\"'<>]+", re.IGNORECASE)
_BEARER = re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# A path with a query but no scheme, as HTTP libraries write it ("... with url: /o.csv?X-Amz-Credential=...").
_PATH_QUERY = re.compile(r"(?<![\w:/])(/[^\s?\"'<>]*)\?([^\s\"'<>]+)")
_XML_SIGNATURE = re.compile(r"(<(StringToSign|CanonicalRequest|SignatureProvided)[^>]*>).*?(</\2>)", re.DOTALL)
MIN_SECRET_LENGTH = 4


def redact_url(url):
    """The URL without credentials: no user:password, query values replaced except public ones."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, _redact_query(parts.query), ""))


def _redact_query(query):
    """A query string with every value but the public ones replaced (names kept, so people can read it)."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(name, value if name in PUBLIC_PARAMETERS else REDACTED) for name, value in pairs], safe="[]")


def redact_text(text, secrets=()):
    """``text`` with known secret values, URL query strings, tokens and password fields redacted."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
    text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    text = _PATH_QUERY.sub(lambda match: f"{match.group(1)}?{_redact_query(match.group(2))}", text)
    text = _JSON_AUTH_INFO.sub(rf'\1"{REDACTED}"', text)
    text = _JSON_SECRET.sub(rf'\1"{REDACTED}"', text)
    text = _FORM_SECRET.sub(rf"\1{REDACTED}", text)
    text = _BEARER.sub(rf"\1{REDACTED}", text)
    return _XML_SIGNATURE.sub(rf"\1{REDACTED}\3", text)


class RedactingFilter:
    """A logging filter that redacts a record's message (for libraries that log URLs, like urllib3)."""

    def filter(self, record):
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
