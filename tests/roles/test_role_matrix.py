"""The role matrix: every admin page and action, for an anonymous visitor, a staff member without a
role, and each role, against what the roles are documented to allow (expectations.py).

The pages come from the admin's registry, not a list: every registered model's changelist, add,
change, delete and history pages (on a real object), every custom URL of its ModelAdmin, and
every action it has (POSTed to the changelist with one object selected). One database, one
client per role; the whole matrix is printed, and the test fails on any cell that differs, with
the cells that differ listed.
"""

import re
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from portfolio.roles import ROLES
from tests.roles.expectations import action_need, custom_page_need, standard_page_need
from tests.roles.objects import make_objects, someone

pytestmark = pytest.mark.django_db

ANONYMOUS, NO_ROLE = "anonymous", "staff, no role"
COLUMNS = (ANONYMOUS, NO_ROLE, *ROLES)
STANDARD_URLS = ("changelist", "add", "change", "history", "delete")
LOGIN_URL = "/admin/login/"
# The admin's header, then the reason naming the role (templates/403.html).
REFUSAL = re.compile(
    r'<div id="site-name">.*class="errornote">[^<]* needs the (?:viewer|operator|administrator) role\.', re.S
)


@dataclass
class Page:
    label: str
    url: str
    need: object
    action: str = ""  # an action's name: the page is a POST to the changelist
    object_pk: object = None


def admin_pages(objects):
    """Every page and action of every registered ModelAdmin, with what it needs; and what is undocumented."""
    pages, undocumented = [], []
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        opts = model._meta
        obj = objects.get(opts.label_lower) or model._default_manager.first()
        if obj is None:
            undocumented.append(f"{opts.label}: no object to open; add a maker to tests/roles/objects.py")
            continue
        prefix = f"{opts.app_label}_{opts.model_name}_"
        name = opts.label_lower
        for page in STANDARD_URLS:
            args = [] if page in ("changelist", "add") else [quote(obj.pk)]
            url = reverse(f"admin:{prefix}{page}", args=args)
            pages.append(Page(f"{name} {page}", url, standard_page_need(opts, page)))
        for pattern in model_admin.get_urls():
            if not pattern.name or pattern.name.removeprefix(prefix) in STANDARD_URLS:
                continue
            need = custom_page_need(opts, pattern.name)
            if need is None:
                undocumented.append(f"custom page {pattern.name}: say what it needs in tests/roles/expectations.py")
                continue
            # The object's id, whatever the URL calls it (object_id, id).
            kwargs = {name: quote(obj.pk) for name in pattern.pattern.converters}
            label = f"{name} {pattern.name.removeprefix(prefix)}"
            pages.append(Page(label, reverse(f"admin:{pattern.name}", kwargs=kwargs), need))
        for _func, action, _description in model_admin._get_base_actions():
            need = action_need(opts, action)
            if need is None:
                undocumented.append(f"action {action} of {opts.label}: say what it needs in expectations.py")
                continue
            changelist = reverse(f"admin:{prefix}changelist")
            pages.append(Page(f"{name} action {action}", changelist, need, action=action, object_pk=obj.pk))
    return pages, undocumented


def visit(client, page):
    """(what happened: "login", "refused", "allowed" or "error", the cell's text)."""
    if page.action:
        data = {"action": page.action, "_selected_action": [page.object_pk], "index": "0", "select_across": "0"}
        response = client.post(page.url, data)
        method = "POST"
    else:
        response, method = client.get(page.url), "GET"
        if response.status_code == 405:  # a button's view: POST only
            response, method = client.post(page.url), "POST"
    status = response.status_code
    if status == 302 and response["Location"].startswith(LOGIN_URL):
        return "login", "302 login"
    if status == 403:
        # A refusal is the admin-styled page that names the role needed, never a bare 403.
        styled = REFUSAL.search(response.content.decode())
        return ("refused", "403") if styled else ("error", "403 without the role")
    if page.action:
        return action_outcome(response)
    if status in (200, 302):
        return "allowed", f"{status}" if method == "GET" else f"{status} {method}"
    return "error", str(status)


def action_outcome(response):
    """Whether a POSTed action ran: Django ignores an action the user may not run (no 403)."""
    if response.status_code == 200:
        if any("delete_selected_confirmation" in (template.name or "") for template in response.templates):
            return "allowed", "200 ran"
        return "refused", "200 not run"  # the list again: the action is not among the user's
    if response.status_code == 302:
        queued = [str(message) for message in response.wsgi_request._messages._queued_messages]
        if "No action selected." in queued:
            return "refused", "302 not run"
        return "allowed", "302 ran"
    return "error", str(response.status_code)


@pytest.fixture
def clients(db):
    """A logged-in client per column (the anonymous one logs in as nobody)."""
    result = {ANONYMOUS: Client(raise_request_exception=False)}
    staff = User.objects.create_user("staff-no-role", password="x", is_staff=True)
    result[NO_ROLE] = Client(raise_request_exception=False)
    result[NO_ROLE].force_login(staff)
    for role in ROLES:
        user = User.objects.create_user(f"staff-{role}", password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=role))  # made by the data migration
        result[role] = Client(raise_request_exception=False)
        result[role].force_login(user)
    return result


def expected(column, need):
    if column == ANONYMOUS:
        return "login"
    return "allowed" if need.allows(None if column == NO_ROLE else column) else "refused"


def test_every_admin_page_and_action_is_open_to_exactly_the_documented_roles(
    clients, sandbox, settings, tmp_path, capsys, queued_tasks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    objects = make_objects(sandbox, owner=someone())
    pages, undocumented = admin_pages(objects)
    assert not undocumented, "\n".join(undocumented)

    rows, differences = [], []
    for page in pages:
        cells = []
        for column in COLUMNS:
            outcome, text = visit(clients[column], page)
            want = expected(column, page.need)
            if outcome != want:
                differences.append(f"{page.label} for {column}: {text}, expected {want} (needs {page.need})")
                text = f"{text} (!)"
            cells.append(text)
        rows.append((page.label, str(page.need), cells))

    queued_tasks()  # what the allowed Upload now, Sync now, Retry and Resubmit queued is taken out afterwards
    with capsys.disabled():
        print_matrix(rows)
    assert not differences, "\n".join(differences)
    # Every model of the admin was walked.
    assert {page.label.split()[0] for page in pages} == {m._meta.label_lower for m in admin.site._registry}


def print_matrix(rows):
    width = max(len(label) for label, _, _ in rows)
    need_width = max(len(need) for _, need, _ in rows)
    header = f"{'page':<{width}}  {'needs':<{need_width}}  " + "  ".join(f"{column:<14}" for column in COLUMNS)
    print(f"\nRole matrix: {len(rows)} pages and actions x {len(COLUMNS)} roles = {len(rows) * len(COLUMNS)} cells")
    print(header)
    for label, need, cells in rows:
        print(f"{label:<{width}}  {need:<{need_width}}  " + "  ".join(f"{cell:<14}" for cell in cells))
