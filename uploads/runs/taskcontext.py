"""Which django-q2 task is running, so every attempt it records names its task.

django-q2 does not hand a task its own id; it does send ``pre_execute`` with the task
package just before calling the function, in the process (or, in sync mode, the thread)
that runs it.
"""

from contextvars import ContextVar

from django_q.signals import post_execute_in_worker, pre_execute

_current_task_id = ContextVar("current_task_id", default="")


def current_task_id():
    return _current_task_id.get()


def _remember_task(sender, task, **kwargs):
    _current_task_id.set(task.get("id", ""))


def _forget_task(sender, task, **kwargs):
    _current_task_id.set("")


pre_execute.connect(_remember_task, dispatch_uid="uploads.runs.taskcontext")
post_execute_in_worker.connect(_forget_task, dispatch_uid="uploads.runs.taskcontext.done")
