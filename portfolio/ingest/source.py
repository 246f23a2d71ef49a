"""Open a file of readings as CSV text: refuse what is not text, find the encoding, count bytes."""

import codecs
import io
import os
from pathlib import Path

from portfolio.ingest.errors import Problem, ReadingsFileError
from portfolio.ingest.records import UNDECODABLE_ERRORS

SNIFF_BYTES = 64 * 1024

# Leading bytes of files people upload by mistake.
_BINARY_SIGNATURES = {
    b"PK\x03\x04": "an XLSX workbook or ZIP archive; save the sheet as CSV (UTF-8)",
    b"\xd0\xcf\x11\xe0": "an old Excel (XLS) workbook; save the sheet as CSV (UTF-8)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive; unpack it first",
}


def refuse(message):
    return ReadingsFileError([Problem(None, None, message)])


class TextSource:
    """A CSV file opened for ``csv.reader``, with the encoding it was read in.

    UTF-8 (with or without a byte order mark) unless the first 64 KB are not UTF-8, in
    which case Windows-1252, what Excel saves as "CSV" on Windows (Latin-1 for the few
    bytes Windows-1252 leaves undefined). Bytes that are not text in that encoding further
    on do not stop reading: they decode to a marker that ``Records`` reports against their
    line. ``bytes_read`` is how far into the file reading has got, for progress.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.size = os.path.getsize(self.path)
        self._raw = open(self.path, "rb", buffering=0)  # noqa: SIM115  (closed by close())
        try:
            self.encoding = self._sniff()
        except BaseException:
            self._raw.close()
            raise
        buffered = io.BufferedReader(self._raw, buffer_size=1024 * 1024)
        self.text = io.TextIOWrapper(buffered, encoding=self.encoding, errors=UNDECODABLE_ERRORS, newline="")

    def _sniff(self):
        head = self._raw.read(SNIFF_BYTES)
        self._raw.seek(0)
        if not head:
            raise refuse("The file is empty.")
        for signature, what in _BINARY_SIGNATURES.items():
            if head.startswith(signature):
                raise refuse(f"This is not a CSV file: it is {what}.")
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        # A zero byte in the header line is binary data; one further on is that line's problem.
        first_line = head.split(b"\n", 1)[0]
        if b"\x00" in first_line:
            raise refuse(f"This is not a CSV text file: it holds binary data (a zero byte at byte {head.index(0)}).")
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SNIFF_BYTES)
        except UnicodeDecodeError:
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                return "latin-1"
            return "cp1252"
        return "utf-8"

    @property
    def bytes_read(self):
        return self._raw.tell()

    def close(self):
        self.text.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
