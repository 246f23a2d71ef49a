"""multipart/form-data bodies (RFC 7578), read as a stream: file parts go to spooled temporary files.

``parse_form(body, content_type)`` reads a request body to its end and returns a ``Form``: each
part by its name, a file part's bytes in a ``SpooledTemporaryFile`` (in memory up to 1 MiB, on
disk beyond), a plain field's bytes in memory (64 KiB at most). Memory stays small whatever the
body's size. Close the form when done with it.
"""

import tempfile
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

READ_SIZE = 1 << 16
SPOOL_BYTES = 1 << 20  # a file part larger than this goes to disk
MAX_HEADER_BYTES = 16 * 1024  # one part's headers
MAX_FIELD_BYTES = 64 * 1024  # a plain (not file) field's value
CRLF = b"\r\n"


class MultipartError(Exception):
    """The body is not well-formed multipart/form-data (the text says where it went wrong)."""


@dataclass
class Part:
    name: str
    filename: str | None  # None for a plain field; a file part has one (possibly empty)
    content_type: str
    value: bytes | None = None  # a plain field's bytes
    file: object = None  # a file part's bytes: a binary file positioned at its start

    @property
    def is_file(self):
        return self.filename is not None

    def text(self):
        """A plain field's value as text (UTF-8, with undecodable bytes replaced)."""
        return (self.value or b"").decode("utf-8", errors="replace")

    def close(self):
        if self.file is not None:
            self.file.close()


class Form:
    """The parts of a multipart body by name (the last one wins when a name repeats)."""

    def __init__(self):
        self._parts = {}

    def add(self, part):
        previous = self._parts.pop(part.name, None)
        if previous is not None:
            previous.close()
        self._parts[part.name] = part

    def get(self, name):
        return self._parts.get(name)

    def names(self):
        return list(self._parts)

    def close(self):
        for part in self._parts.values():
            part.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def form_boundary(content_type):
    """The boundary of a ``multipart/form-data`` Content-Type; None for any other type.

    Raises MultipartError when the type is multipart/form-data but names no boundary.
    """
    if not content_type:
        return None
    header = Message()
    header["Content-Type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        return None
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise MultipartError("the Content-Type multipart/form-data names no boundary")
    return boundary


def parse_form(body, boundary, spool_dir=None):
    """Read ``body`` (a binary stream) to its end as multipart/form-data with ``boundary``."""
    reader = _Reader(body)
    form = Form()
    try:
        # The first delimiter may open the body, with no line end before it: pretend there was one.
        reader.buffer[:0] = CRLF
        delimiter = CRLF + b"--" + boundary.encode("latin-1")
        reader.skip_until(delimiter)  # the preamble, if any
        while True:
            after = reader.take(2)
            if after == b"--":
                return form  # the closing delimiter; an epilogue is ignored
            if after != CRLF:
                raise MultipartError("a boundary is not followed by a line end or by --")
            reader.buffer[:0] = CRLF  # back: a part without headers starts with an empty line
            form.add(_read_part(reader, delimiter, spool_dir))
    except BaseException:
        form.close()
        raise


def _read_part(reader, delimiter, spool_dir):
    # From the line end after the delimiter to the empty line: empty when the part has no headers.
    raw_headers = reader.collect_until(CRLF + CRLF, MAX_HEADER_BYTES, "a part's headers")
    headers = BytesHeaderParser().parsebytes(raw_headers[len(CRLF) :] + CRLF + CRLF) if raw_headers else Message()
    if "Content-Disposition" not in headers:
        raise MultipartError("a part has no Content-Disposition header")
    if headers.get_content_disposition() != "form-data":
        raise MultipartError("a part's Content-Disposition is not form-data")
    name = headers.get_param("name", header="Content-Disposition")
    if not isinstance(name, str):
        raise MultipartError("a part's Content-Disposition names no field (name=...)")
    filename = headers.get_filename()
    part = Part(name, filename, headers.get_content_type())
    if filename is None:
        part.value = reader.collect_until(delimiter, MAX_FIELD_BYTES, f"the field {name!r}")
        return part
    part.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, dir=spool_dir)  # noqa: SIM115 (the form closes it)
    try:
        reader.copy_until(delimiter, part.file.write)
        part.file.seek(0)
    except BaseException:
        part.close()
        raise
    return part


class _Reader:
    """A buffered view of the body for finding delimiters across reads."""

    def __init__(self, body):
        self._body = body
        self.buffer = bytearray()

    def _fill(self):
        chunk = self._body.read(READ_SIZE)
        if not chunk:
            raise MultipartError("the body ended before the closing boundary")
        self.buffer += chunk

    def take(self, size):
        while len(self.buffer) < size:
            self._fill()
        taken = bytes(self.buffer[:size])
        del self.buffer[:size]
        return taken

    def copy_until(self, marker, write, limit=None, what="a part"):
        """Pass the bytes before ``marker`` to ``write``; consume the marker too."""
        written = 0
        keep = len(marker) - 1  # a marker may be cut across two reads
        while True:
            index = self.buffer.find(marker)
            end = index if index >= 0 else max(len(self.buffer) - keep, 0)
            if end:
                written += end
                if limit is not None and written > limit:
                    raise MultipartError(f"{what} is longer than {limit} bytes")
                write(bytes(self.buffer[:end]))
                del self.buffer[:end]
            if index >= 0:
                del self.buffer[: len(marker)]
                return
            self._fill()

    def collect_until(self, marker, limit, what):
        pieces = []
        self.copy_until(marker, pieces.append, limit, what)
        return b"".join(pieces)

    def skip_until(self, marker):
        self.copy_until(marker, lambda data: None)
