"""The sandbox's multipart/form-data reader, on its own: bodies as requests and browsers build them, and broken ones."""

import io

import pytest
import requests

from sandbox.multipart import MAX_FIELD_BYTES, MultipartError, form_boundary, parse_form


class Trickle(io.RawIOBase):
    """A body that arrives a few bytes at a time, so that delimiters are cut across reads."""

    def __init__(self, data, step=7):
        self._data = memoryview(data)
        self._step = step

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self._step, len(self._data))
        buffer[:count] = self._data[:count]
        self._data = self._data[count:]
        return count


def encoded(files=None, data=None):
    """(body, boundary) as requests encodes a multipart form."""
    prepared = requests.Request("POST", "http://sandbox.invalid/", files=files, data=data).prepare()
    return prepared.body, form_boundary(prepared.headers["Content-Type"])


@pytest.mark.parametrize("step", [1, 7, 1 << 16])
def test_a_file_and_a_field_whatever_the_reads(step):
    content = b"start_datetime,energy_kwh\r\n" + b"\r\n--not-the-boundary\r\n" * 100
    body, boundary = encoded(files={"file": ("data.csv", content, "text/csv")}, data={"type": "demand_response_events"})
    with parse_form(Trickle(body, step), boundary) as form:
        assert form.names() == ["type", "file"]
        kind, upload = form.get("type"), form.get("file")
        assert (kind.is_file, kind.text()) == (False, "demand_response_events")
        assert (upload.is_file, upload.filename, upload.content_type) == (True, "data.csv", "text/csv")
        assert upload.file.read() == content


def test_a_big_file_part_is_spooled_to_disk():
    content = b"x" * (3 << 20)
    body, boundary = encoded(files={"file": ("big.csv", content)})
    with parse_form(io.BytesIO(body), boundary) as form:
        upload = form.get("file")
        assert upload.file._rolled  # on disk, not in memory
        assert upload.file.read() == content


def test_a_preamble_and_an_epilogue_are_ignored_and_a_part_may_have_no_content_type():
    body = (
        b"preamble\r\n--B\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        b"a,b\r\n1,2\r\n--B--\r\nepilogue"
    )
    with parse_form(io.BytesIO(body), "B") as form:
        assert form.get("file").file.read() == b"a,b\r\n1,2"
        assert form.get("file").content_type == "text/plain"


def test_the_last_part_of_a_repeated_name_wins():
    body = b'--B\r\nContent-Disposition: form-data; name="type"\r\n\r\none\r\n--B\r\n'
    body += b'Content-Disposition: form-data; name="type"\r\n\r\ntwo\r\n--B--\r\n'
    with parse_form(io.BytesIO(body), "B") as form:
        assert form.get("type").text() == "two"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body ended before the closing boundary"),
        (b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue', "the body ended before the closing boundary"),
        (b"--Bjunk", "a boundary is not followed by a line end or by --"),
        (b"--B\r\n\r\nvalue\r\n--B--", "a part has no Content-Disposition header"),
        (b'--B\r\nContent-Disposition: attachment; name="a"\r\n\r\nv\r\n--B--', "a part's Content-Disposition is not"),
        (b"--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--", "a part's Content-Disposition names no field"),
        (
            b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n' + b"v" * (MAX_FIELD_BYTES + 1) + b"\r\n--B--",
            f"the field 'a' is longer than {MAX_FIELD_BYTES} bytes",
        ),
    ],
    ids=[
        "empty",
        "no closing boundary",
        "junk after a boundary",
        "no headers",
        "not form-data",
        "no name",
        "long field",
    ],
)
def test_a_broken_body_raises_naming_the_problem(body, message):
    with pytest.raises(MultipartError) as caught:
        parse_form(io.BytesIO(body), "B")
    assert str(caught.value).startswith(message)


def test_the_boundary_comes_from_the_content_type():
    assert form_boundary('multipart/form-data; boundary="a;b"') == "a;b"
    assert form_boundary("multipart/form-data; charset=utf-8; boundary=xyz") == "xyz"
    assert form_boundary("application/json") is None
    assert form_boundary(None) is None
    with pytest.raises(MultipartError, match="names no boundary"):
        form_boundary("multipart/form-data")
