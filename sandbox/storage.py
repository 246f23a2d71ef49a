"""The object storage behind the signed URLs: S3's error bodies, and a body streamed to a file.

A body goes from the socket to the file in 1 MiB reads, hashed (sha256) on the way and, when
asked, checked as the contract's CSV while it arrives; it is never held whole in memory.
"""

import hashlib
import io
import secrets
from dataclasses import dataclass
from xml.sax.saxutils import escape

from sandbox.csvcheck import check_csv
from sandbox.exchange import IncompleteBody, Response

READ_SIZE = 1 << 20


def s3_error(status, code, message, headers=None, details=None, problems=(), note=None):
    """An S3-style XML error: ``<Error><Code>..</Code><Message>..</Message>...</Error>``.

    ``details`` adds elements as S3 does (``MaxSizeAllowed``); ``problems`` lists a CSV's problems.
    """
    parts = [f"<Code>{escape(code)}</Code>", f"<Message>{escape(message)}</Message>"]
    parts += [f"<{name}>{escape(str(value))}</{name}>" for name, value in (details or {}).items()]
    if problems:
        parts.append("<Problems>" + "".join(f"<Problem>{escape(item)}</Problem>" for item in problems) + "</Problems>")
    parts.append(f"<RequestId>{secrets.token_hex(8).upper()}</RequestId>")
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>"
    return Response(status, body.encode(), "application/xml", dict(headers or {}), note)


@dataclass(frozen=True)
class StoredBody:
    size: int
    sha256: str
    report: object  # a csvcheck.CsvReport, or None when the CSV was not checked


def store_body(body, path, check):
    """Write the body (a BodyReader) to ``path``; on IncompleteBody remove the partial file and re-raise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        # Unbuffered: each 1 MiB read goes straight to the file, and the duplicates pass of the
        # CSV check can read the file back while it is still open here.
        with open(path, "wb", buffering=0) as sink:
            tee = _Tee(body, sink, digest)
            if check:
                report = check_csv(tee, path)
            else:
                report = None
                tee.drain()
            size = tee.size
    except IncompleteBody:
        path.unlink(missing_ok=True)
        raise
    return StoredBody(size, digest.hexdigest(), report)


class _Tee(io.RawIOBase):
    """The body as a stream; every byte read is also written to the file and hashed."""

    def __init__(self, body, sink, digest):
        self._body = body
        self._sink = sink
        self._digest = digest
        self.size = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        count = self._body.readinto(buffer)
        if count:
            view = memoryview(buffer)[:count]
            self._digest.update(view)
            written = 0
            while written < count:  # a raw write may be short
                written += self._sink.write(view[written:])
            self.size += count
        return count

    def drain(self):
        buffer = bytearray(READ_SIZE)
        while self.readinto(buffer):
            pass
