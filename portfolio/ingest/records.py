"""Split a readings file into CSV records so that one bad line costs one row, never the rest.

A record is one line, or a few when a quoted cell holds a line break. Whatever is wrong with a
line (a broken quote, a zero byte, bytes that are not text in the file's encoding, a line over
``READINGS_MAX_LINE_BYTES``) is reported against that line, and reading resumes at the next
line: a quote left open does not swallow the lines after it, they are read again on their own.
A line is read with a bounded ``readline``, so an endless line costs the limit, not its length.
"""

import codecs
import csv
from collections import deque
from dataclasses import dataclass

from django.conf import settings

# A quoted cell may span this many lines at most (a farm name with a line break needs two).
MAX_RECORD_LINES = 20
# The rest of an over-long line is skipped in pieces of this many characters.
SKIP_CHARS = 64 * 1024
# Decoding marks bytes that are not text with this lone surrogate, which no text decodes to.
UNDECODABLE = "\ud800"
UNDECODABLE_ERRORS = "portfolio.ingest.undecodable"
codecs.register_error(UNDECODABLE_ERRORS, lambda error: (UNDECODABLE, error.end))
# The most bytes one character takes in the encodings TextSource picks.
_BYTES_PER_CHAR = {"utf-8": 4, "utf-8-sig": 4, "utf-16": 4, "cp1252": 1, "latin-1": 1}
_LINE_ENDS = ("\n", "\r")


@dataclass(frozen=True)
class BadLine:
    """A line that is not a CSV record of text; ``message`` says why."""

    message: str


class _LineTrouble(Exception):
    """Raised through ``csv.reader`` from the line feed: the record read so far cannot be a row."""

    def __init__(self, bad_line, where=None):
        self.bad_line = bad_line  # this line is bad; or None: the record that ran into it is
        self.where = where


class _LineFeed:
    """The lines ``csv.reader`` pulls: bounded reads, bad lines raised, lines given back read again."""

    def __init__(self, text, encoding, max_line_bytes):
        self.max_line_bytes = max_line_bytes
        self._readline = text.readline
        self._encoding = encoding
        self._wide = max_line_bytes // _BYTES_PER_CHAR.get(encoding, 4)  # longer may be over in bytes
        self._number = 0  # of the last line read from the stream
        self._cut_at_cr = False  # see _read
        self.given_back = deque()  # (number, line) to read again, first first
        self.taken = []  # (number, line) of the record being parsed
        self.taken_chars = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.given_back:
            number, line = self.given_back.popleft()
        else:
            number, line = self._read()
        if line.__class__ is BadLine or UNDECODABLE in line or "\x00" in line:
            bad = line if line.__class__ is BadLine else self._what_is_wrong(line)
            if self.taken:  # a quoted cell ran into this line: that record is broken, this line is read again
                self.given_back.appendleft((number, line))
                raise _LineTrouble(None, f"before line {number}")
            self.taken.append((number, line))
            raise _LineTrouble(bad)
        self.taken.append((number, line))
        if self.taken_chars:
            self.taken_chars += len(line)
            if len(self.taken) > MAX_RECORD_LINES or self.taken_chars > self.max_line_bytes:
                raise _LineTrouble(None, f"within {MAX_RECORD_LINES} lines")
        else:
            self.taken_chars = len(line)
        return line

    def _read(self):
        limit = self.max_line_bytes
        line = self._readline(limit + 1)
        if self._cut_at_cr:  # the size limit cut the last read after a "\r": a "\n" now belongs to it
            self._cut_at_cr = False
            if line == "\n":
                line = self._readline(limit + 1)
        if not line:
            raise StopIteration
        self._number += 1
        if len(line) > limit and not line.endswith(_LINE_ENDS):
            while line and not line.endswith(_LINE_ENDS):  # skip the rest of it, a piece at a time
                line = self._readline(SKIP_CHARS)
            self._cut_at_cr = line.endswith("\r") and len(line) == SKIP_CHARS
            return self._number, self._too_long()
        self._cut_at_cr = line.endswith("\r") and len(line) == limit + 1
        if len(line) > self._wide and len(line.rstrip("\r\n").encode(self._encoding, "replace")) > limit:
            return self._number, self._too_long()
        return self._number, line

    def _too_long(self):
        return BadLine(f"longer than {self.max_line_bytes:,} bytes (READINGS_MAX_LINE_BYTES); the line was not read")

    def _what_is_wrong(self, line):
        if UNDECODABLE in line:
            return BadLine(
                f"not {self._encoding.upper()} text, though the start of the file is; save the whole file as UTF-8"
            )
        return BadLine(f"holds a zero byte (NUL) at character {line.index(chr(0)) + 1}, which text never does")


class Records:
    """Iterate as ``(line number, cells)`` or ``(line number, BadLine)``; line 1 is the header.

    ``text`` is a text stream opened with ``errors=UNDECODABLE_ERRORS`` and ``newline=""``
    (``TextSource.text``); ``max_line_bytes`` defaults to the setting. Once ``width`` is set
    (after the header), a record of several lines with another number of cells is a quote
    left open: its first line is reported and the lines after it are read again.
    """

    def __init__(self, text, encoding, max_line_bytes=None):
        if max_line_bytes is None:
            max_line_bytes = settings.READINGS_MAX_LINE_BYTES
        self._feed = _LineFeed(text, encoding, max_line_bytes)
        self._reader = csv.reader(self._feed, strict=True)
        self.width = None

    def __iter__(self):
        feed, reader = self._feed, self._reader
        while True:
            feed.taken = []
            feed.taken_chars = 0
            try:
                cells = next(reader)
            except StopIteration:
                return
            except _LineTrouble as trouble:
                if trouble.bad_line is not None:
                    yield feed.taken[0][0], trouble.bad_line
                else:
                    yield self._first_line_only(self._unclosed(trouble.where))
                continue
            except csv.Error as error:
                if "unexpected end of data" not in str(error):
                    message = f"not valid CSV ({error})"
                elif len(feed.taken) > 1:
                    message = self._unclosed("before the end of the file")
                else:
                    message = "not valid CSV (a quote is not closed); is the file cut short?"
                yield self._first_line_only(message)
                continue
            if len(feed.taken) > 1 and self.width is not None and len(cells) != self.width:
                yield self._first_line_only(
                    f"not valid CSV ({len(cells)} columns, expected {self.width}; a quote opened on this "
                    "line is not closed on it)"
                )
                continue
            yield feed.taken[0][0], cells

    def _unclosed(self, where):
        return (
            f"not valid CSV (a quote opened on this line is not closed {where}; a quoted cell may span "
            f"{MAX_RECORD_LINES} lines and {self._feed.max_line_bytes:,} bytes at most, READINGS_MAX_LINE_BYTES)"
        )

    def _first_line_only(self, message):
        """Report the record's first line; give the lines after it back, to be read again."""
        (first, _), *rest = self._feed.taken
        self._feed.given_back.extendleft(reversed(rest))
        return first, BadLine(message)
