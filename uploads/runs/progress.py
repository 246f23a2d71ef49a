"""How far a run or sync has got, told as it goes: saved on its record and passed to whoever watches.

The run's own code reports after each piece of real work (a part PUT, a meter, an asset); the
record's ``progress`` field is what its admin page polls, and the observer is a command's
console (``portfolio.console.ConsoleProgress``) or nothing. One UPDATE a report, most often
after an HTTP call, which costs far more; when reports come faster (a sync going over
meters with nothing to send), the record is written at each phase and twice a second at most.
"""

import time

from portfolio.console import Step

__all__ = ["RunProgress"]

SAVE_SECONDS = 0.5


class RunProgress:
    """Call it as ``progress(phase, done=..., total=..., unit=..., figures=(...))``."""

    def __init__(self, run, observer=None):
        self.run = run
        self.observer = observer
        self._saved_at = None
        self._saved_phase = None

    def __call__(self, phase, done=0, total=None, unit="", figures=(), rate=None):
        step = Step(phase, done, total, unit, tuple(figures), rate)
        run = self.run
        run.progress = step.as_json()  # kept in memory too: the run's final save() writes it again
        now = time.monotonic()
        due = self._saved_at is None or now - self._saved_at >= SAVE_SECONDS
        if run.pk is not None and (due or phase != self._saved_phase or done == total):
            type(run).objects.filter(pk=run.pk).update(progress=run.progress)
            self._saved_at, self._saved_phase = now, phase
        if self.observer is not None:
            self.observer(step)
        return step
