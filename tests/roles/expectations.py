"""What each admin page and action needs, as documented (README "Roles", docs/security.md "Roles").

The role matrix compares what it sees with this, never with what the code happens to do. A page
or action needs a permission, written as (app label, model, action); which roles hold it is
``portfolio.roles.grants``, the rule table the groups are made from. Custom pages and actions
are named here one by one: one added later without an entry fails the matrix until its
requirement is written down.
"""

from portfolio.roles import ADMINISTRATOR, ROLES, grants

__all__ = ["NOBODY", "Need", "action_need", "custom_page_need", "standard_page_need"]


class Need:
    """What a page needs: a permission (app label, model, action), a role, or nobody may (``NOBODY``)."""

    def __init__(self, app_label=None, model_name=None, action=None, role=None, words=""):
        self.permission = (app_label, model_name, action) if action else None
        self.role = role
        self.words = words

    def allows(self, role):
        if role is None:
            return False
        if self.role is not None:
            return ROLES.index(role) >= ROLES.index(self.role)
        return self.permission is not None and grants(role, *self.permission)

    def __str__(self):
        if self.words or self.role:
            return self.words or f"the {self.role} role"
        return ".".join(self.permission) if self.permission else "nobody"


NOBODY = Need()

# Logs the code writes and people only read: no role adds or deletes one in the admin.
READ_ONLY_LOGS = {
    ("portfolio", "importrecord"): {"add", "delete"},
    ("uploads", "uploadrun"): {"add", "delete"},
    ("uploads", "syncrun"): {"add", "delete"},
    ("uploads", "attempt"): {"add", "delete"},
    ("django_q", "success"): {"add"},
    ("django_q", "failure"): {"add"},
    ("django_q", "ormq"): {"add"},
    ("axes", "accessattempt"): {"add"},
    ("axes", "accesslog"): {"add"},
    ("axes", "accessfailurelog"): {"add"},
    ("auditlog", "logentry"): {"add", "delete"},
}

STANDARD_PAGES = {"changelist": "view", "add": "add", "change": "view", "history": "view", "delete": "delete"}


def _own(opts, action):
    if action in READ_ONLY_LOGS.get((opts.app_label, opts.model_name), ()):
        return NOBODY
    return Need(opts.app_label, opts.model_name, action)


def standard_page_need(opts, page):
    """The changelist, change and history pages need the view permission; add and delete their own."""
    return _own(opts, STANDARD_PAGES[page])


UPLOAD_NOW = Need("uploads", "raptormapsintegration", "upload_now")
SYNC_NOW = Need("uploads", "wattcarbonaccount", "sync_now")
# The errors file of an import: who ran it, and administrators (the test's record is someone else's).
RAN_IT_OR_ADMINISTRATOR = Need(role=ADMINISTRATOR, words="who ran it, or an administrator")

# Custom pages, by the end of their URL name (after "<app>_<model>_"), or by the whole name.
CUSTOM_PAGES = {
    # Readings import (portfolio/admin/readings_import.py): adding observations.
    "portfolio_observation_import": lambda opts: Need("portfolio", "observation", "add"),
    # Spreadsheets (django-import-export): importing changes the model, exporting reads it.
    "import": lambda opts: _own(opts, "change"),
    "process_import": lambda opts: _own(opts, "change"),
    "export": lambda opts: _own(opts, "view"),
    # An import's progress, for whoever may see the import.
    "progress": lambda opts: _own(opts, "view"),
    "errors_file": lambda opts: RAN_IT_OR_ADMINISTRATOR,
    # A run's or sync's live status (JSON), for whoever may see the run.
    "status": lambda opts: _own(opts, "view"),
    # Integrations and accounts: Test connection changes the object (it records what the service says).
    "test_connection": lambda opts: _own(opts, "change"),
    "upload_now": lambda opts: UPLOAD_NOW,
    "sync_now": lambda opts: SYNC_NOW,
    "uploads_uploadrun_retry": lambda opts: UPLOAD_NOW,
    "uploads_syncrun_retry": lambda opts: SYNC_NOW,
    # Charts (portfolio/admin/charts.py, uploads/admin/charts.py): JSON for whoever may see the model.
    "chart_readings": lambda opts: _own(opts, "view"),
    "chart_production": lambda opts: _own(opts, "view"),
    "chart_intervals": lambda opts: _own(opts, "view"),
    "chart_volume": lambda opts: _own(opts, "view"),
    "chart_outcomes": lambda opts: _own(opts, "view"),
    # A user's password: changing users.
    "password_change": lambda opts: _own(opts, "change"),
}

ACTIONS = {
    "delete_selected": lambda opts: _own(opts, "delete"),
    "test_connection_action": lambda opts: _own(opts, "change"),
    "upload_now_action": lambda opts: UPLOAD_NOW,
    "sync_now_action": lambda opts: SYNC_NOW,
    "wattcarbon_sync_now": lambda opts: SYNC_NOW,
    # Meters missing on WattCarbon: forget their remote id and queue the sync that creates them again.
    "wattcarbon_create_again": lambda opts: SYNC_NOW,
    "retry_action": lambda opts: {"uploadrun": UPLOAD_NOW, "syncrun": SYNC_NOW}[opts.model_name],
    # django-q2's Resubmit runs a task again: administrators.
    "resubmit_task": lambda opts: Need(role=ADMINISTRATOR),
    # django-axes: clearing expired lockouts.
    "cleanup_expired_attempts": lambda opts: _own(opts, "delete"),
}


def custom_page_need(opts, url_name):
    """What a custom page needs, or None when it is not documented here."""
    page = url_name.removeprefix(f"{opts.app_label}_{opts.model_name}_")
    need = CUSTOM_PAGES.get(url_name) or CUSTOM_PAGES.get(page)
    return need(opts) if need else None


def action_need(opts, name):
    """What an action needs, or None when it is not documented here."""
    need = ACTIONS.get(name)
    return need(opts) if need else None
