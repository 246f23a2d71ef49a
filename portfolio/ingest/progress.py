"""Show an import's progress on a console: a redrawn bar on a terminal, plain lines otherwise."""

import time
from datetime import timedelta

BAR_WIDTH = 24
LINE_SECONDS = 5.0  # how often plain progress lines are written


def _eta(elapsed, fraction):
    if not 0 < fraction < 1:
        return "--:--"
    return str(timedelta(seconds=round(elapsed * (1 - fraction) / fraction)))


class ConsoleProgress:
    """A ``progress`` callback for ``import_readings`` that writes to ``stream``.

    On a terminal the line is redrawn in place with a bar, rows, rows/s and the time left;
    elsewhere (a log, cron mail) a plain line every few seconds and at each phase change.
    """

    def __init__(self, stream, name, *, is_terminal=None):
        self.stream = stream
        self.name = name
        self.is_terminal = stream.isatty() if is_terminal is None else is_terminal
        self.started = time.monotonic()
        self._last_line = -LINE_SECONDS
        self._last_phase = None
        self._drawn = False

    def __call__(self, progress):
        elapsed = max(time.monotonic() - self.started, 1e-9)
        fraction = progress.bytes_read / progress.bytes_total if progress.bytes_total else 0.0
        rate = progress.rows_read / elapsed
        if progress.phase == "reading":
            status = f"{fraction:4.0%}  {progress.rows_read:,} rows  {rate:,.0f} rows/s  ETA {_eta(elapsed, fraction)}"
        else:
            status = f"{progress.phase} ({progress.rows_read:,} rows read in {elapsed:.1f} s)"
        if self.is_terminal:
            filled = round(BAR_WIDTH * min(fraction, 1.0))
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(f"\r\x1b[2K{self.name} [{bar}] {status}")
            self.stream.flush()
            self._drawn = True
        elif progress.phase != self._last_phase or elapsed - self._last_line >= LINE_SECONDS:
            self._last_line = elapsed
            self.stream.write(f"{self.name}: {status}\n")
            self.stream.flush()
        self._last_phase = progress.phase

    def close(self):
        """End the redrawn line, so what follows starts on a line of its own."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
