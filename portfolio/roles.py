"""The three roles people work in, as Django groups (docs/security.md, "Roles").

- viewer: reads everything except secrets;
- operator: a viewer who also imports, presses Upload now / Sync now and retries;
- administrator: integrations, accounts, credentials, users, schedules and the task queue.

A superuser counts as an administrator.
"""

__all__ = ["ADMINISTRATOR", "OPERATOR", "ROLES", "VIEWER", "has_role", "is_administrator"]

VIEWER = "viewer"
OPERATOR = "operator"
ADMINISTRATOR = "administrator"
# Each role includes the ones before it.
ROLES = (VIEWER, OPERATOR, ADMINISTRATOR)


def _group_names(user):
    cached = getattr(user, "_role_group_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True)) if user.is_authenticated else frozenset()
        user._role_group_names = cached
    return cached


def has_role(user, role):
    """True when ``user`` is active and holds ``role`` or a role above it (superusers hold all)."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    held = _group_names(user)
    return any(name in held for name in ROLES[ROLES.index(role) :])


def is_administrator(user):
    return has_role(user, ADMINISTRATOR)
