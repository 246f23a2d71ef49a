"""A django-q2 task's changes are attributed to whoever queued it.

When a task is queued inside an audit context (a request, a command), the person and address
go into the task itself (``pre_enqueue``); the worker, in another process, puts them back
around the function (``pre_execute`` … ``post_execute_in_worker``). Scheduled tasks, queued by
the cluster, have nobody: their changes name the task only.
"""

from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django_q.signals import post_execute_in_worker, pre_enqueue, pre_execute

from audit.context import audit_context, current_context

__all__ = ["TASK_KEY", "connect"]

TASK_KEY = "audit"  # the key of the task package that carries who queued it
_running = ContextVar("audit_task_context", default=None)


def _remember_who_queued(sender, task, **kwargs):
    context = current_context()
    if context is None:
        return
    actor = context.get("actor")
    task[TASK_KEY] = {
        "actor_id": getattr(actor, "pk", None),
        "remote_addr": context.get("remote_addr"),
        "queued_from": context.get("additional_data"),
    }


def _enter(sender, func, task, **kwargs):
    carried = task.get(TASK_KEY) or {}
    actor = None
    if carried.get("actor_id") is not None:
        actor = get_user_model()._default_manager.filter(pk=carried["actor_id"]).first()
    named = task["func"]
    name = named if isinstance(named, str) else f"{named.__module__}.{named.__qualname__}"
    source = {"source": "task", "task": name, "task_id": task.get("id")}
    if carried.get("queued_from"):
        source["queued_from"] = carried["queued_from"]
    context = audit_context(actor=actor, remote_addr=carried.get("remote_addr"), **source)
    context.__enter__()
    _running.set(context)


def _leave(sender, task, **kwargs):
    context = _running.get()
    if context is not None:
        _running.set(None)
        context.__exit__(None, None, None)


def connect():
    pre_enqueue.connect(_remember_who_queued, dispatch_uid="audit.task_queued")
    pre_execute.connect(_enter, dispatch_uid="audit.task_started")
    post_execute_in_worker.connect(_leave, dispatch_uid="audit.task_done")
