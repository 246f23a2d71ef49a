"""``manage.py set_role``: one role per person, the way to make the first administrator from a shell."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def set_role(*args):
    out = StringIO()
    call_command("set_role", *args, stdout=out)
    return out.getvalue()


def roles_of(username):
    return list(User.objects.get(username=username).groups.values_list("name", flat=True))


def test_the_first_administrator_is_created_without_a_password_until_they_set_one():
    assert set_role("alice", "administrator", "--create") == (
        "Created alice: the administrator role.\nSet their password with: manage.py changepassword alice\n"
    )
    alice = User.objects.get(username="alice")
    assert alice.is_staff and not alice.is_superuser and not alice.has_usable_password()
    assert roles_of("alice") == ["administrator"]
    assert alice.has_perm("auth.change_user") and alice.has_perm("django_q.add_schedule")


def test_a_person_holds_one_role_at_a_time():
    User.objects.create_user("bob", password="x")
    set_role("bob", "viewer")
    assert User.objects.get(username="bob").is_staff
    assert set_role("bob", "operator") == "Updated bob: the operator role.\n"
    assert roles_of("bob") == ["operator"]
    set_role("bob", "none")
    assert roles_of("bob") == []


def test_unknown_roles_and_users_are_refused_by_name():
    with pytest.raises(CommandError) as unknown_role:
        set_role("carol", "admin", "--create")
    assert str(unknown_role.value) == "Unknown role 'admin': use one of viewer, operator, administrator, none."
    with pytest.raises(CommandError) as unknown_user:
        set_role("carol", "viewer")
    assert str(unknown_user.value) == "There is no user 'carol': add --create to make one."
    assert not User.objects.filter(username="carol").exists()
