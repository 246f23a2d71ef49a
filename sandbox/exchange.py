"""What a sandbox service sees of one HTTP exchange, and what it answers.

The server (server.py) turns each request into a ``Request`` and sends back the ``Response`` a
service's handler returns. Services never touch sockets, except through ``Request.body_reader()``
which streams a body of any size.
"""

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

# JSON bodies (tokens, control calls) are small; anything bigger is a mistake, not data.
MAX_JSON_BODY = 1 << 20


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict = field(default_factory=dict)
    # Written to the request log, never sent: why the exchange went wrong when it did.
    note: str | None = None


def json_response(status, payload, headers=None):
    return Response(status, json.dumps(payload).encode(), "application/json", dict(headers or {}))


def json_error(status, error, message, headers=None):
    """The one JSON error shape of the sandbox: ``{"error": <code>, "message": <text>}``."""
    return json_response(status, {"error": error, "message": message}, headers)


def html_error_page(status):
    """The HTML page a proxy in front of a service answers with (nginx's shape), not the service's JSON."""
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        title = str(status)
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    # Real proxies pad short error pages (browsers once replaced pages under 512 bytes with their own).
    padding = "<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" * 6
    return Response(status, (page + padding).encode(), "text/html", note="an HTML error page (fault)")


def broken_json(response):
    """The response with its body cut in the middle, so that it is no longer JSON (same status, same type)."""
    body = response.body[: len(response.body) // 2]
    try:
        json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        pass
    else:
        body += b"{"  # an empty or still valid prefix: make sure it breaks
    note = "; ".join(filter(None, [response.note, f"the body was cut to {len(body)} of {len(response.body)} bytes"]))
    return Response(response.status, body, "application/json", dict(response.headers), note)


class BadRequest(Exception):
    """Raised by a handler to answer 400 (or another status) with a JSON error."""

    def __init__(self, message, status=400, error="bad_request"):
        super().__init__(message)
        self.response = json_error(status, error, message)


class IncompleteBody(Exception):
    """The client sent fewer bytes than its Content-Length said (it hung up or stalled)."""

    def __init__(self, received, expected):
        super().__init__(f"incomplete body: {received} of {expected} bytes")
        self.received = received
        self.expected = expected


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    operation: str
    handler: Callable


def route(method, pattern, operation, handler):
    return Route(method, re.compile(pattern), operation, handler)


class Request:
    """One request as a handler sees it: method, path, query, headers, and a lazily read body."""

    def __init__(self, method, target, headers, rfile, default_host, send_continue):
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.headers = headers
        self.host = headers.get("Host") or default_host
        self.params = {}  # the route's named groups
        self.fault = None  # a fault the handler itself carries out (mode "expired")
        self._rfile = rfile
        self._send_continue = send_continue
        self.chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        self.content_length = self._content_length(headers.get("Content-Length"))
        self.body_remaining = self.content_length or 0

    @staticmethod
    def _content_length(value):
        if value is None:
            return None
        if not value.strip().isdigit():
            raise BadRequest(f"Content-Length must be a number of bytes, not {value!r}")
        return int(value)

    def send_continue(self):
        """Tell a client that sent ``Expect: 100-continue`` to go ahead with the body."""
        self._send_continue()

    def body(self, limit=MAX_JSON_BODY):
        """The whole body, for small ones only."""
        if self.chunked:
            raise BadRequest("send a Content-Length; chunked bodies are not accepted", status=411)
        if self.body_remaining > limit:
            raise BadRequest(f"body larger than {limit} bytes", status=413, error="too_large")
        self.send_continue()
        return self.body_reader().read()

    def json(self):
        try:
            return json.loads(self.body())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BadRequest(f"the body must be JSON ({error})") from error

    def body_reader(self):
        """The body as a binary stream, exactly Content-Length bytes long."""
        return BodyReader(self, self._rfile)


class BodyReader(io.RawIOBase):
    """Reads at most the request's Content-Length from the connection; short means the client left."""

    def __init__(self, request, rfile):
        self._request = request
        self._rfile = rfile

    def readable(self):
        return True

    def readinto(self, buffer):
        request = self._request
        wanted = min(len(buffer), request.body_remaining)
        if wanted == 0:
            return 0
        view = memoryview(buffer)[:wanted]
        try:
            # BufferedReader.readinto fills the whole view unless the connection ends.
            count = self._rfile.readinto(view)
        except OSError as error:
            raise self._incomplete() from error
        request.body_remaining -= count
        if count < wanted:
            raise self._incomplete()
        return count

    def _incomplete(self):
        expected = self._request.content_length
        return IncompleteBody(expected - self._request.body_remaining, expected)
