"""The life of a run record, the same for Raptor Maps uploads and WattCarbon syncs.

queued → running → a finished status; skipped when another run of the same integration or
account holds the lease; interrupted (stored as ``abandoned``) when its worker died while it ran:
found by the reaper (uploads/reaper.py) once its lease lapsed, or by the next run.
"""

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

# The stored value of "running", the same for upload runs and syncs.
RUNNING = "running"

__all__ = ["abandon_dead_runs", "fail", "finish", "interrupt", "send_to_worker", "skip", "start"]


def send_to_worker(run, task, owner_pk, name):
    """Queue ``task(owner_pk, run.pk)`` once the transaction commits; the run record shows it at once."""

    def send():
        task_id = async_task(task, owner_pk, run.pk, task_name=f"{name} {run.pk}")
        # In sync mode the run has finished (and recorded its task id) by now.
        type(run).objects.filter(pk=run.pk, task_id="").update(task_id=task_id)

    transaction.on_commit(send)
    return run


def start(run, status):
    run.status = status
    run.started_at = timezone.now()
    run.error = ""
    run.save(update_fields=["status", "started_at", "error", "task_id"])


def finish(run, status):
    run.status = status
    run.finished_at = timezone.now()
    run.save()
    return run


def fail(run, status, message):
    run.error = message
    return finish(run, status)


def skip(run, status, lease, others, noun, owner):
    """Record that ``run`` did not start: one of ``others`` (a queryset of its kind) holds the lease.

    The log reads "Not started: run #3 of this integration is in progress (host:pid)."
    """
    holder = lease.holder()
    running = others.exclude(pk=run.pk).values_list("pk", flat=True).first()
    who = f"{noun} #{running}" if running else f"another {noun}"
    run.status = status
    run.started_at = run.finished_at = timezone.now()
    run.add_log(f"Not started: {who} of this {owner} is in progress" + (f" ({holder[0]})." if holder else "."))
    run.save()
    return run


def interrupt(stale, status, how, consequence, now=None):
    """Mark ``stale``, still recorded as running, as interrupted: its worker stopped before finishing.

    ``how`` says how that is known, ``consequence`` what becomes of its work; both go to its log.
    A conditional update: a run that finished meanwhile keeps its status. Returns whether it was marked.
    """
    stale.status = status
    stale.finished_at = now or timezone.now()
    stale.add_log(f"Interrupted: its worker stopped before finishing ({how}). {consequence}")
    marked = (
        type(stale)
        .objects.filter(pk=stale.pk, status=RUNNING)
        .update(status=status, finished_at=stale.finished_at, log=stale.log)
    )
    return bool(marked)


def abandon_dead_runs(run, status, stale_runs, consequence):
    """Runs still marked running whose worker died: the caller holds the lease, so none of them is alive.

    Returns the interrupted runs. ``consequence`` says what that means, for their log.
    """
    abandoned = []
    for stale in stale_runs.exclude(pk=run.pk):
        if not interrupt(stale, status, f"found by #{run.pk}", consequence):
            continue
        run.add_log(f"#{stale.pk} had been interrupted: its worker stopped. {consequence}")
        abandoned.append(stale)
    return abandoned
