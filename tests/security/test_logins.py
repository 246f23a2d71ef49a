"""Logins are rate limited and locked out per user and per address (docs/security.md, "Logins").

Every attempt goes through the real admin login page, with django-axes and the client address
rules of portfolio/client_address.py, as an attacker's requests would.
"""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/"
LIMIT = 3
ATTACKER, ELSEWHERE, PROXY = "203.0.113.7", "198.51.100.20", "10.0.0.5"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.TRUSTED_PROXY_COUNT = 0


@pytest.fixture
def alice():
    return User.objects.create_user("alice", password="alice-right-password", is_staff=True)


@pytest.fixture
def bob():
    return User.objects.create_user("bob", password="bob-right-password", is_staff=True)


def attempt(client, username, password, address, **headers):
    """One login through the admin page from ``address``; the response and whether it logged in."""
    client.logout()
    response = client.post(
        LOGIN_URL, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address, **headers
    )
    return response, client.session.get("_auth_user_id") is not None


def lock_out(client, username, address):
    for _ in range(LIMIT):
        response, logged_in = attempt(client, username, "wrong password", address)
        assert not logged_in
    return response


def test_failures_below_the_limit_do_not_lock(client, alice):
    for _ in range(LIMIT - 1):
        attempt(client, "alice", "wrong password", ATTACKER)

    _, logged_in = attempt(client, "alice", "alice-right-password", ATTACKER)
    assert logged_in


def test_a_guessed_password_is_refused_once_locked_from_any_address_and_the_address_is_locked_for_everyone(
    client, alice, bob
):
    locked = lock_out(client, "alice", ATTACKER)
    assert locked.status_code == 429

    # The right password, from the same address: refused.
    response, logged_in = attempt(client, "alice", "alice-right-password", ATTACKER)
    assert (response.status_code, logged_in) == (429, False)
    # The user is locked whatever the address (per user) ...
    response, logged_in = attempt(client, "alice", "alice-right-password", ELSEWHERE)
    assert (response.status_code, logged_in) == (429, False)
    # ... and the address whatever the user (per address).
    response, logged_in = attempt(client, "bob", "bob-right-password", ATTACKER)
    assert (response.status_code, logged_in) == (429, False)
    # Someone else, elsewhere, is not affected.
    _, logged_in = attempt(client, "bob", "bob-right-password", ELSEWHERE)
    assert logged_in


def test_the_lockout_page_says_what_happened_and_when_to_try_again(client, alice, settings):
    page = lock_out(client, "alice", ATTACKER).content.decode()

    assert "Too many failed logins: this login is locked." in page
    assert f"After {LIMIT} failed attempts" in page
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"({minutes} minutes" in page and "Try again after" in page
    assert 'id="site-name"' in page  # the admin's look, not a bare message


def test_the_password_tried_is_never_kept_in_the_attempt_records(client, alice):
    attempt(client, "alice", "a-guess-Qm38Xr", ATTACKER)

    record = AccessAttempt.objects.get()
    assert "a-guess-Qm38Xr" not in f"{record.post_data} {record.get_data} {record.user_agent}"


def test_a_forged_forwarded_for_header_does_not_escape_the_address_lock(client, alice, bob):
    lock_out(client, "alice", ATTACKER)

    response, logged_in = attempt(client, "bob", "bob-right-password", ATTACKER, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    assert (response.status_code, logged_in) == (429, False)


def test_behind_trusted_proxies_the_address_they_saw_is_the_one_locked(client, alice, bob, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # Every request now arrives from the proxy; the client's address is what the proxy appended.
    for _ in range(LIMIT):
        attempt(client, "alice", "wrong password", PROXY, HTTP_X_FORWARDED_FOR=f"forged-by-client, {ATTACKER}")

    response, logged_in = attempt(
        client, "bob", "bob-right-password", PROXY, HTTP_X_FORWARDED_FOR=f"{ELSEWHERE}, {ATTACKER}"
    )
    assert (response.status_code, logged_in) == (429, False)
    assert AccessAttempt.objects.filter(ip_address=ATTACKER).exists()
    assert not AccessAttempt.objects.filter(ip_address=PROXY).exists()
    # Another client behind the same proxy is not locked (bob was refused only for the address).
    User.objects.create_user("carol", password="carol-right-password", is_staff=True)
    _, logged_in = attempt(client, "carol", "carol-right-password", PROXY, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    assert logged_in


def test_an_administrator_sees_the_lockout_and_lifts_it(client, alice, admin_client):
    lock_out(client, "alice", ATTACKER)

    changelist = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200
    assert "alice" in changelist.content.decode() and ATTACKER in changelist.content.decode()

    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))
    confirm = admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )
    assert confirm.status_code == 302
    assert not AccessAttempt.objects.exists()

    _, logged_in = attempt(client, "alice", "alice-right-password", ATTACKER)
    assert logged_in
