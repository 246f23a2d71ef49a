"""How far a run or sync has got, told as it goes: saved on its record and passed to whoever watches.

The run's own code reports after each piece of real work (a part PUT, a meter, an asset); the
record's ``progress`` field is what its admin page polls, and the observer is a command's
console (``portfolio.console.ConsoleProgress``) or nothing. A report that says something new (a
phase, a count) is one UPDATE, after an HTTP call that cost far more; reports of nothing done (a
sync going over meters with nothing to send) are written twice a second at most.
"""

import time

from portfolio.console import Step

__all__ = ["RunProgress"]

SAVE_SECONDS = 0.5


class RunProgress:
    """Call it as ``progress(phase, done=..., total=..., unit=..., figures=(...))``.

    ``counts`` names fields of the run (its counters, kept in memory as it goes) written in the
    same UPDATE, so the page's fields agree with its status box.
    """

    def __init__(self, run, observer=None):
        self.run = run
        self.observer = observer
        self._saved_at = None
        self._saved = None  # (phase, figures) last written

    def __call__(self, phase, done=0, total=None, unit="", figures=(), rate=None, counts=()):
        step = Step(phase, done, total, unit, tuple(figures), rate)
        run = self.run
        run.progress = step.as_json()  # kept in memory too: the run's final save() writes it again
        now = time.monotonic()
        news = (phase, step.figures) != self._saved or done == total
        if run.pk is not None and (news or now - self._saved_at >= SAVE_SECONDS):
            fields = {name: getattr(run, name) for name in counts}
            type(run).objects.filter(pk=run.pk).update(progress=run.progress, **fields)
            self._saved_at, self._saved = now, (phase, step.figures)
        if self.observer is not None:
            self.observer(step)
        return step
