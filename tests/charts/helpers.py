"""Users and requests for the chart tests."""

from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from portfolio.roles import VIEWER


def client_for(role=None, name=None):
    """A logged-in client of a staff member holding ``role`` (no role when None)."""
    name = name or f"staff-{role or 'none'}-{User.objects.count()}"
    user = User.objects.create_user(name, password="x", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def viewer():
    return client_for(VIEWER)


def chart_url(model, name, *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_chart_{name}", args=args)


def chart(client, url, **query):
    response = client.get(url, query)
    assert response.status_code == 200, response.content[:500]
    return response.json()


def series(data, label_start):
    """The series whose label starts with ``label_start``."""
    found = [s for s in data["series"] if s["label"].startswith(label_start)]
    assert len(found) == 1, [s["label"] for s in data["series"]]
    return found[0]
