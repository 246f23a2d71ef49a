"""WattCarbon's side of HTTP: FastAPI-shaped errors and the request bodies its endpoints take.

Errors answer ``{"detail": "message"}`` or ``{"detail": [{"loc", "msg", "type"}, ...]}`` (422 for
validation), as FastAPI does. Bodies: a JSON object, form-encoded fields (the token), and
multipart/form-data with a CSV file part (uploads), parsed as it streams in.
"""

import json
from urllib.parse import parse_qsl

from sandbox.exchange import json_response
from sandbox.multipart import MultipartError, form_boundary, parse_form


class ApiError(Exception):
    """An answer in FastAPI's error shape: ``{"detail": <text or list of problems>}``."""

    def __init__(self, status, detail, headers=None, note=None):
        super().__init__(detail if isinstance(detail, str) else f"{status}: {len(detail)} problem(s)")
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.note = note

    def response(self):
        response = json_response(self.status, {"detail": self.detail}, self.headers)
        response.note = self.note
        return response


def invalid(*problems):
    """A 422 listing ``problems`` ({loc, msg, type})."""
    return ApiError(422, list(problems))


def problem(loc, message, kind):
    return {"loc": list(loc), "msg": message, "type": kind}


def unauthorised(message):
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


def media_type(request):
    return (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def json_object(request):
    """The body as a JSON object, or a 422 as FastAPI gives for a body that is not one."""
    media = media_type(request)
    if media != "application/json" and not media.endswith("+json"):
        request.body()  # read (and drop) it, keeping the connection usable
        raise invalid(
            problem(
                ("body",),
                f"Input should be a JSON object: send Content-Type application/json (got {media or 'none'})",
                "model_attributes_type",
            )
        )
    raw = request.body()
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError as error:
        detail = problem(("body", error.pos), "JSON decode error", "json_invalid")
        raise invalid({**detail, "ctx": {"error": error.msg}}) from None
    except ValueError:  # not UTF-8
        raise invalid(problem(("body",), "JSON decode error: the body is not UTF-8", "json_invalid")) from None
    if not isinstance(payload, dict):
        message = "Input should be a valid dictionary or object to extract fields from"
        raise invalid(problem(("body",), message, "model_attributes_type"))
    return payload


def form_fields(request):
    """A form-encoded body's fields (the last of a repeated name); none for another kind of body."""
    raw = request.body()
    if media_type(request) != "application/x-www-form-urlencoded":
        return {}
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise ApiError(400, "There was an error parsing the body") from None


def path_id(request, name):
    value = request.params[name]
    if not value.isascii() or not value.isdigit():
        message = "Input should be a valid integer, unable to parse string as an integer"
        raise invalid(problem(("path", name), message, "int_parsing"))
    return int(value)


def read_form(request, max_bytes):
    """The multipart/form-data body, parsed as it streams in (file parts spooled, not held)."""
    media = media_type(request)
    try:
        boundary = form_boundary(request.headers.get("Content-Type"))
    except MultipartError as error:
        raise ApiError(400, f"There was an error parsing the body: {error}") from None
    if boundary is None:
        raise invalid(
            problem(
                ("body", "file"),
                f"Field required: send multipart/form-data with the CSV as a file part named file "
                f"(the Content-Type was {media or 'none'})",
                "missing",
            )
        )
    if request.chunked or request.content_length is None:
        raise ApiError(411, "Send a Content-Length: chunked bodies are not accepted")
    if request.content_length > max_bytes:
        raise ApiError(413, f"The body is {request.content_length} bytes; the sandbox takes at most {max_bytes}")
    request.send_continue()
    try:
        return parse_form(request.body_reader(), boundary)
    except MultipartError as error:
        raise ApiError(400, f"There was an error parsing the body: {error}") from None


def file_part(form):
    upload = form.get("file")
    if upload is None or not upload.is_file:
        raise invalid(file_problem(upload))
    return upload


def file_problem(part):
    if part is None:
        return problem(("body", "file"), "Field required", "missing")
    message = "Expected UploadFile, received: <class 'str'> (send the CSV as a file part, with a filename)"
    return problem(("body", "file"), message, "value_error")
