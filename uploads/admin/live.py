"""A run's or sync's live status: what the box on its page says, and the JSON the box polls.

While the run is queued or running, the page's box (run_change_form.html, portfolio's
live_progress.js) asks ``<id>/status/`` every 1.5 s: its state in words, how far it got (what
the run records as it goes: uploads/runs/progress.py) and the time so far. Once it finished, the
box says how it ended, with a link to its HTTP calls, and the page reloads once to show the rest.
Nothing here is a secret: counts, words and the run's error, which its page shows anyway.
"""

from django.utils import timezone

from portfolio.admin.imports import WORKER_WAIT_SECONDS
from portfolio.quantities import count
from uploads.admin.display import exact, human_duration, readable
from uploads.models import Lease

__all__ = ["POLL_MILLISECONDS", "status_of"]

POLL_MILLISECONDS = 1500
# The first line of an error is said in the box; the page shows all of it.
ERROR_SHOWN = 300


def status_of(run, summary, details_url, lease_name, now=None):
    """Where ``run`` is, for its page and its JSON.

    ``summary(run)`` says what a finished run did ("" for nothing); ``lease_name`` is the lease a
    running run renews while its worker lives.
    """
    now = now or timezone.now()
    progress = run.progress or {}
    done, total = progress.get("done") or 0, progress.get("total")
    running = run.started_at is not None and not run.is_finished
    percent = round(100 * min(done / total, 1), 1) if running and total else None
    attempts = run.attempts.count()
    done_words = f"{done:,} of {count(total, progress.get('unit') or 'steps')} done" if running and total else ""
    figures = ", ".join(progress.get("figures") or ()) if running else ""
    elapsed = _elapsed(run, now)
    if run.started_at is None:
        line = [f"In the queue for {elapsed}" if elapsed else ""]
    else:
        line = [done_words, figures, f"elapsed {elapsed}"]
    return {
        "status": run.status,
        "status_label": run.get_status_display().capitalize(),
        "finished": run.is_finished,
        "phase": _phase(run, progress, summary, lease_name, now),
        "done": done_words,
        "figures": figures,
        "percent": percent,
        "elapsed": elapsed,
        # The figures in one line, as the box shows them.
        "progress_line": " · ".join(words for words in line if words),
        "details_url": details_url,
        "details_label": f"Its {count(attempts, 'HTTP calls')} in the attempt log" if attempts else "No HTTP calls",
    }


def _phase(run, progress, summary, lease_name, now):
    if run.is_finished:
        # Its status is said next to this: what it did, why it failed, or what it left for later.
        said = [summary(run)]
        if run.error.strip():
            said.append(readable(run.error.strip().splitlines()[0])[:ERROR_SHOWN])
        elif not said[0]:
            # Nothing done: why (left for later, or not started), as the run's log ends.
            said.append(readable(run.waiting or (run.log.strip().splitlines() or [""])[-1]))
        return " ".join(words for words in said if words) or "Finished."
    if run.started_at is None:
        if (now - run.queued_at).total_seconds() > WORKER_WAIT_SECONDS:
            return "Still waiting for a worker. Is the background worker running (manage.py qcluster)?"
        return "Waiting for a worker to start it."
    lease = Lease.objects.filter(name=lease_name).values_list("expires_at", flat=True).first()
    if lease is None or lease < now:
        since = f" since {exact(lease)}" if lease else ""
        return (
            f"No sign of life from its worker{since}: it has stopped, and the reaper marks the run "
            "interrupted (a retry then sends what it did not)."
        )
    phase = progress.get("phase")
    return f"{phase[:1].upper()}{phase[1:]}." if phase else "Starting."


def _elapsed(run, now):
    start = run.started_at or run.queued_at
    if start is None:
        return None
    return human_duration(((run.finished_at or now) - start).total_seconds())
