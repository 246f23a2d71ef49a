"""Show long work's progress on a console: a redrawn bar on a terminal, plain lines otherwise.

Every command that works long (readings and spreadsheet imports, exports, Raptor Maps uploads,
WattCarbon syncs) reports through one ``ConsoleProgress``: the work calls it with a ``Step``
as it goes (after each part sent, each meter, each chunk of rows), never on a timer.
"""

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from portfolio.quantities import byte_size, count

__all__ = ["ConsoleProgress", "Step", "command_progress", "size"]

BAR_WIDTH = 24
LINE_SECONDS = 5.0  # how often plain progress lines are written, besides one at each phase


def size(number):
    """Bytes on a console or in a log: '12.3 KB', with a plain space."""
    return byte_size(number).replace("\xa0", " ")


@dataclass(frozen=True)
class Step:
    """One report of long work: what it is doing, and how far it got.

    ``done`` of ``total`` ``unit`` is what the bar measures (``total`` None: not known, no bar);
    ``figures`` are more counts already in words ("1,200 rows"); ``rate`` is (count, noun) for a
    speed ("rows" → "400 rows/s").
    """

    phase: str
    done: int = 0
    total: int | None = None
    unit: str = ""
    figures: tuple = field(default_factory=tuple)
    rate: tuple | None = None

    @property
    def fraction(self):
        if not self.total:
            return None
        return min(self.done / self.total, 1.0)

    def as_json(self):
        return {**asdict(self), "figures": list(self.figures), "rate": list(self.rate) if self.rate else None}


def _clock(seconds):
    return str(timedelta(seconds=round(seconds)))


def _eta(elapsed, fraction):
    if fraction == 1:
        return _clock(0)
    if fraction is None or not 0 < fraction < 1:
        return "--:--"
    return _clock(elapsed * (1 - fraction) / fraction)


def _rate(rate, elapsed):
    number, noun = rate
    per_second = number / elapsed
    return f"{size(per_second)}/s" if noun == "bytes" else f"{per_second:,.0f} {noun}/s"


class ConsoleProgress:
    """A progress callback that writes to ``stream``: call it with a ``Step``, ``close()`` at the end.

    On a terminal the line is redrawn in place: a bar, the percentage, what is done of what, the
    figures, the speed, the time left and the time so far. Elsewhere (a log, a pipe, cron mail) a
    plain line where each phase starts and ends, and every few seconds in between.
    """

    def __init__(self, stream, name, *, is_terminal=None):
        self.stream = stream
        self.name = name
        if is_terminal is None:
            isatty = getattr(stream, "isatty", None)
            is_terminal = bool(isatty and isatty())
        self.is_terminal = is_terminal
        self.started = time.monotonic()
        self._last_line = -LINE_SECONDS
        self._last_phase = None
        self._unwritten = None  # a plain line not written yet (throttled), for close()
        self._fraction = 0.0
        self._drawn = False
        self._line = ""  # the bar's line as last drawn
        self._log_streams = {}  # log handler → its own stream, while the bar is on their terminal

    def status(self, step, elapsed):
        """The step in words: measured ('40%  2 of 5 parts  ...'), or its phase and figures."""
        fraction = step.fraction
        if fraction is None:
            figures = ", ".join(step.figures)
            return f"{step.phase} ({figures} in {elapsed:.1f} s)" if figures else f"{step.phase} ({elapsed:.1f} s)"
        parts = [f"{fraction:4.0%}"]
        if step.unit:
            parts.append(f"{step.done:,} of {count(step.total, step.unit)}")
        parts += step.figures
        if step.rate:
            parts.append(_rate(step.rate, elapsed))
        parts.append(f"ETA {_eta(elapsed, fraction)}")
        parts.append(f"{_clock(elapsed)} elapsed")
        return "  ".join(parts)

    def __call__(self, step):
        if not isinstance(step, Step):
            step = step.as_step()  # the work's own report (the readings importer's Progress)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        if step.fraction is not None:
            self._fraction = step.fraction
        status = self.status(step, elapsed)
        if self.is_terminal:
            filled = round(BAR_WIDTH * self._fraction)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self._line = f"{self.name} [{bar}] {status}"
            if not self._drawn:
                self._log_above_the_bar()
            self._draw()
        else:
            line = f"{self.name}: {status}" if step.fraction is None else f"{self.name}: {step.phase}: {status}"
            if step.phase != self._last_phase or elapsed - self._last_line >= LINE_SECONDS:
                if self._unwritten is not None and step.phase != self._last_phase:
                    self._write_line(self._unwritten)  # where the phase ended, before the next one
                self._last_line = elapsed
                self._write_line(line)
            else:
                self._unwritten = line
        self._last_phase = step.phase

    def _write_line(self, line):
        self.stream.write(f"{line}\n")
        self.stream.flush()
        self._unwritten = None

    def _draw(self):
        self.stream.write(f"\r\x1b[2K{self._line}")
        self.stream.flush()
        self._drawn = True

    def _log_above_the_bar(self):
        """Log records written to the terminal go above the bar, not into its line (as they come, during the work)."""
        for handler in logging.getLogger().handlers:
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and _is_tty(stream) and handler not in self._log_streams:
                self._log_streams[handler] = handler.setStream(_AboveTheBar(stream, self))

    def close(self):
        """End the redrawn line (what follows starts on its own), or write the last plain line held back."""
        for handler, stream in self._log_streams.items():
            handler.setStream(stream)
        self._log_streams = {}
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
        if self._unwritten is not None:
            self._write_line(self._unwritten)


def _is_tty(stream):
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _AboveTheBar:
    """A log handler's stream while a bar is drawn on its terminal: a record clears the bar's
    line, takes it, and the bar is drawn again under it."""

    def __init__(self, stream, progress):
        self._stream = stream
        self._progress = progress

    def write(self, text):
        self._stream.write("\r\x1b[2K")
        written = self._stream.write(text)
        self._stream.flush()
        if text.endswith("\n"):
            self._progress._draw()
        return written

    def __getattr__(self, name):
        return getattr(self._stream, name)


def command_progress(command, name, verbosity=1):
    """The progress of a management command's work, on its stderr (its stdout keeps the results).

    None with ``--verbosity 0``: the work is then told no one watches.
    """
    if verbosity < 1:
        return None
    return ConsoleProgress(command.stderr._out, name)
