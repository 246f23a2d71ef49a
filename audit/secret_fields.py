"""Secret fields in the audit trail: that they changed, never what they hold.

auditlog can only mask a value (it keeps half of it), and it compares values as text, which an
encrypted field shows as ``Secret('********')`` whatever it holds, so a new API key would not
even count as a change. For a model with secret fields, the create and update receivers are
replaced by ones that add each secret field's state to auditlog's own diff of the other fields.
"""

from functools import partial

from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from auditlog.receivers import check_disable, log_create, log_update
from auditlog.registry import auditlog
from django.db.models.signals import post_save, pre_save

__all__ = ["CHANGED", "NOT_SET", "SET", "secret_changes", "track_secret_fields"]

SET, CHANGED, NOT_SET = "(set)", "(changed)", "(not set)"


def track_secret_fields(model, fields):
    """Log ``model``'s creates and updates with ``fields`` shown as set, changed or not set."""
    post_save.disconnect(sender=model, dispatch_uid=auditlog._dispatch_uid(post_save, log_create))
    pre_save.disconnect(sender=model, dispatch_uid=auditlog._dispatch_uid(pre_save, log_update))
    post_save.connect(
        partial(_log_create, fields=fields), sender=model, weak=False, dispatch_uid=f"audit.create.{model._meta.label}"
    )
    pre_save.connect(
        partial(_log_update, fields=fields), sender=model, weak=False, dispatch_uid=f"audit.update.{model._meta.label}"
    )


def secret_changes(model, fields, old, new, only=None):
    """{field: [before, after]} for the secret ``fields`` that differ between ``old`` and ``new``."""
    changes = {}
    for name in fields:
        if only is not None and name not in only:
            continue
        field = model._meta.get_field(name)
        before = field.to_python(getattr(old, name)) if old is not None else field.to_python("")
        after = field.to_python(getattr(new, name))
        if before == after:
            continue
        if not after:
            changes[name] = [SET, NOT_SET]
        else:
            changes[name] = [SET if before else NOT_SET, CHANGED if before else SET]
    return changes


@check_disable
def _log_create(sender, instance, created, fields, **kwargs):
    if not created:
        return
    changes = model_instance_diff(None, instance) or {}
    changes.update(secret_changes(sender, fields, None, instance))
    _write(instance, LogEntry.Action.CREATE, changes)


@check_disable
def _log_update(sender, instance, fields, update_fields=None, **kwargs):
    if instance._state.adding or instance.pk is None:
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    only = set(update_fields) if update_fields is not None else None
    changes = model_instance_diff(old, instance, fields_to_check=only) or {}
    changes.update(secret_changes(sender, fields, old, instance, only))
    _write(instance, LogEntry.Action.UPDATE, changes)


def _write(instance, action, changes):
    if changes:
        LogEntry.objects.log_create(instance, action=action, changes=changes)
