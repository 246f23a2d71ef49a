"""No internal codes in what a person reads: choice labels, column headings, filters and every list and
object page of the portfolio and uploads admin are in words (no ``stale_lease``, ``remote_missing``).

The documents a service sent or was sent (an attempt's response, an asset's last payload) are shown
as they are, marked ``raw-document``; spreadsheet column names appear only on the import pages,
which are not read here.
"""

import html
import io
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import label_for_field, quote
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from portfolio.demo import load_demo_portfolio
from tests.roles.objects import make_objects
from tests.uploads.test_wattcarbon_admin import failed_sync, make_account

# A lower-case word with an underscore inside: a code, not a word.
SNAKE_CASE = re.compile(r"(?<![\w./%{?&-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w(/}]|\.\w)")
APPS = ("portfolio", "uploads")
# Texts no page shows: the attempt log is read-only and shows the operation in words, without this help.
# The integration's form and its viewer's page say these in words (uploads/admin/forms.py, integrations.py).
SHOWN_NOWHERE = {
    ("uploads.Attempt", "operation", "help_text"),
    ("uploads.RaptorMapsIntegration", "time_basis", "verbose_name"),
    ("uploads.RaptorMapsIntegration", "upload_interval_seconds", "help_text"),
}


def codes_in(text):
    return sorted(set(SNAKE_CASE.findall(str(text))))


def visible_text(page):
    """What a person reads on a page: no markup, attributes, scripts, or raw documents."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'<pre class="[^"]*raw-document[^"]*">.*?</pre>', " ", page, flags=re.S)
    content = page.split('<div id="content"', 1)[-1]
    return html.unescape(re.sub(r"<[^>]+>", " ", content))


def test_the_pattern_finds_codes_and_leaves_words():
    assert codes_in("The lease was stale_lease; remote_missing.") == ["remote_missing", "stale_lease"]
    assert codes_in("America/Argentina/Buenos_Aires, 2026-03-08 02:15 UTC, W/m², manage.py") == []


def models():
    return [model for app in APPS for model in apps.get_app_config(app).get_models()]


@pytest.mark.parametrize("model", models(), ids=lambda model: model._meta.label)
def test_choice_labels_names_and_help_texts_are_words(model):
    found = {}
    for field in model._meta.get_fields():
        for label in [label for _value, label in getattr(field, "flatchoices", None) or ()]:
            if codes_in(label):
                found[f"{field.name} choice"] = label
        for what in ("verbose_name", "help_text"):
            if codes_in(getattr(field, what, "")) and (model._meta.label, field.name, what) not in SHOWN_NOWHERE:
                found[f"{field.name} {what}"] = getattr(field, what)
    assert found == {}


def registered():
    return [
        (model, model_admin) for model, model_admin in admin.site._registry.items() if model._meta.app_label in APPS
    ]


@pytest.mark.parametrize(("model", "model_admin"), registered(), ids=lambda item: getattr(item, "__name__", ""))
def test_column_headings_and_filter_titles_are_words(rf, model, model_admin):
    request = rf.get("/")
    request.user = User(is_superuser=True, is_staff=True)
    headings = {
        name: label_for_field(name, model, model_admin)
        for name in model_admin.get_list_display(request)
        if name != "__str__"
    }
    titles = {}
    for item in model_admin.get_list_filter(request):
        if isinstance(item, type):
            titles[item.__name__] = getattr(item, "title", "")
    assert {name: heading for name, heading in headings.items() if codes_in(heading)} == {}
    assert {name: title for name, title in titles.items() if codes_in(title)} == {}


@pytest.fixture
def everything(db):
    """One of every object the admin shows, a demo portfolio, failures with their errors."""
    owner = User.objects.create_user("owner", is_staff=True)
    objects = make_objects(SimpleNamespace(url="http://127.0.0.1:9"), owner)
    load_demo_portfolio(now=datetime(2026, 3, 8, 18, 0, tzinfo=UTC), reading_span=timedelta(hours=1))
    failed_sync(make_account(name="Words account"))
    return objects


def pages(objects):
    yield reverse("admin:index")
    for model, _model_admin in registered():
        opts = model._meta
        yield reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        obj = objects.get(opts.label_lower) or model._default_manager.first()
        if obj is not None:
            yield reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])
        for other in model._default_manager.all()[:5]:
            yield reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(other.pk)])


def test_no_page_shows_a_code(admin_client, everything):
    found = {}
    for url in dict.fromkeys(pages(everything)):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        codes = codes_in(visible_text(response.content.decode()))
        if codes:
            found[url] = codes
    assert found == {}


def test_a_viewer_reads_an_integrations_settings_in_words(client, everything):
    call_command("set_role", "reader", "viewer", "--create", stdout=io.StringIO())
    client.force_login(User.objects.get(username="reader"))
    integration = everything["uploads.raptormapsintegration"]
    page = client.get(reverse("admin:uploads_raptormapsintegration_change", args=[integration.pk]))
    assert page.status_code == 200
    assert codes_in(visible_text(page.content.decode())) == []
    assert "Time basis:" in visible_text(page.content.decode())
