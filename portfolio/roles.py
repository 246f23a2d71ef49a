"""The three roles people work in, as Django groups (docs/security.md, "Roles").

- viewer: reads everything except secrets (portfolio data, integrations and accounts without
  their credentials, runs, syncs, attempts, the import log);
- operator: a viewer who also imports and edits portfolio data, and presses Upload now /
  Sync now / Retry;
- administrator: integrations, accounts and their credentials, users and groups, schedules and
  the task queue (django-q2), the audit trail and login lockouts: every permission.

A superuser counts as an administrator.

``RULES`` is the one table of who may do what. The groups' permissions are set from it by the
data migration ``portfolio/0005_roles`` and again after every ``migrate`` (apps.py), so models
added later are covered: a model of an app the table does not name is the administrator's alone.
The admin checks Django permissions; the role matrix test (tests/roles/test_role_matrix.py)
walks every admin page for every role against this table.
"""

from django.contrib.auth.management import create_permissions
from django.core.exceptions import PermissionDenied

__all__ = [
    "ADMINISTRATOR",
    "OPERATOR",
    "ROLES",
    "RULES",
    "VIEWER",
    "action_of",
    "grants",
    "has_role",
    "is_administrator",
    "refuse",
    "role_needed",
    "role_of",
    "sync_role_groups",
]

VIEWER = "viewer"
OPERATOR = "operator"
ADMINISTRATOR = "administrator"
# Each role includes the ones before it.
ROLES = (VIEWER, OPERATOR, ADMINISTRATOR)

EDIT = {"view", "add", "change", "delete"}

# (app label, model name or "*" for the app's other models) → {role: what that role adds}.
# What a role may do is a permission's action: "view", "add", "change", "delete", or a custom
# permission's codename ("upload_now"). The administrator holds every permission, so an entry
# with nothing ({}), or an app not named here, is the administrator's alone.
RULES = {
    # Portfolio data: everyone reads it, operators edit and import it.
    ("portfolio", "*"): {VIEWER: {"view"}, OPERATOR: EDIT},
    # The import log is written by the imports themselves; nobody edits it.
    ("portfolio", "importrecord"): {VIEWER: {"view"}},
    # Each user sets their own on the Preferences page; nobody edits another's.
    ("portfolio", "userpreference"): {},
    # Runs, syncs, attempts: read by all. Integrations and accounts are seen without their
    # secrets (the admin never shows one); operators run them, administrators change them.
    ("uploads", "*"): {VIEWER: {"view"}},
    ("uploads", "raptormapsintegration"): {VIEWER: {"view"}, OPERATOR: {"upload_now"}},
    ("uploads", "wattcarbonaccount"): {VIEWER: {"view"}, OPERATOR: {"sync_now"}},
    # Users, groups and their permissions; the task queue and its schedules (a schedule runs any
    # function, a resubmitted task runs again); the audit trail; login lockouts; Django's own.
    ("auth", "*"): {},
    ("django_q", "*"): {},
    ("auditlog", "*"): {},
    ("axes", "*"): {},
    ("admin", "*"): {},
    ("contenttypes", "*"): {},
    ("sessions", "*"): {},
}

DEFAULT_ACTIONS = ("view", "add", "change", "delete")


def action_of(codename, model_name):
    """The action a permission grants: "view" for "view_farm", the codename itself for a custom one."""
    for action in DEFAULT_ACTIONS:
        if codename == f"{action}_{model_name}":
            return action
    return codename


def _rule(app_label, model_name):
    rule = RULES.get((app_label, model_name))
    return rule if rule is not None else RULES.get((app_label, "*"), {})


def grants(role, app_label, model_name, action):
    """True when ``role`` may do ``action`` ("view", "upload_now", ...) on the model, by ``RULES``."""
    if role == ADMINISTRATOR:
        return True
    rule = _rule(app_label, model_name)
    return any(action in rule.get(held, ()) for held in ROLES[: ROLES.index(role) + 1])


def role_needed(app_label, model_name, action):
    """The lowest role that may do ``action`` on the model (the administrator when no other may)."""
    return next(role for role in ROLES if grants(role, app_label, model_name, action))


def refuse(what, role):
    """Raise the refusal the 403 page shows: "<what> needs the <role> role."."""
    raise PermissionDenied(f"{what} needs the {role} role.")


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


def role_of(user):
    """The highest role ``user`` holds, or None."""
    return next((role for role in reversed(ROLES) if has_role(user, role)), None)


def sync_role_groups(apps, using="default"):
    """Create the three groups when missing and give each exactly the permissions ``RULES`` grants it.

    ``apps`` is a migration's historical app registry or the real one (``django.apps.apps``).
    Permissions of every app are created first: Django creates them only after ``migrate``,
    and a data migration runs before that. Returns {role: number of permissions}.
    """
    for app_config in apps.get_app_configs():
        # The documented way to create permissions inside a migration: the historical app
        # configs have no models module, which create_permissions takes for "no models".
        models_module, app_config.models_module = getattr(app_config, "models_module", None), True
        try:
            create_permissions(app_config, apps=apps, verbosity=0, using=using)
        finally:
            app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(Permission.objects.using(using).select_related("content_type"))
    counts = {}
    for role in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=role)
        granted = [
            permission.pk
            for permission in permissions
            if grants(
                role,
                permission.content_type.app_label,
                permission.content_type.model,
                action_of(permission.codename, permission.content_type.model),
            )
        ]
        group.permissions.set(granted)
        counts[role] = len(granted)
    return counts
