"""django-q2's pages belong to administrators: a schedule runs any function, Resubmit runs a task again.

Before, django-q2's Resubmit asked for no permission: whoever could see a failed task could run it
again (and queue an upload with it).
"""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse
from django_q.models import Failure, Schedule

from portfolio.roles import ADMINISTRATOR, OPERATOR
from tests.roles.objects import make_task

pytestmark = pytest.mark.django_db


def staff(username, *codenames, role=None):
    user = User.objects.create_user(username, password="x", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="django_q", codename=codename))
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def resubmit(client, failure):
    return client.post(
        reverse("admin:django_q_failure_changelist"),
        {"action": "resubmit_task", "_selected_action": [failure.pk], "index": "0"},
    )


def test_staff_given_the_task_permissions_by_hand_cannot_resubmit_or_schedule(client, queued_tasks):
    failure = make_task(success=False)
    schedules = set(Schedule.objects.values_list("pk", flat=True))  # the project's own (migrations make some)
    client.force_login(staff("clerk", "view_failure", "change_failure", "add_schedule", "view_schedule"))
    assert client.get(reverse("admin:django_q_failure_changelist")).status_code == 403
    assert resubmit(client, failure).status_code == 403
    assert client.get(reverse("admin:django_q_schedule_add")).status_code == 403
    response = client.post(
        reverse("admin:django_q_schedule_add"), {"func": "uploads.tasks.run_upload", "schedule_type": "O"}
    )
    assert response.status_code == 403
    assert Failure.objects.filter(pk=failure.pk).exists()
    assert set(Schedule.objects.values_list("pk", flat=True)) == schedules
    assert queued_tasks() == {}


def test_operators_do_not_see_the_task_queue(client):
    client.force_login(staff("ops", role=OPERATOR))
    assert client.get(reverse("admin:django_q_failure_changelist")).status_code == 403
    assert "django_q" not in client.get(reverse("admin:index")).content.decode()


def test_administrators_resubmit_a_failed_task(client, queued_tasks):
    failure = make_task(success=False)
    client.force_login(staff("boss", role=ADMINISTRATOR))
    assert resubmit(client, failure).status_code == 302
    assert [task["func"] for task in queued_tasks().values()] == ["math.floor"]
    assert not Failure.objects.filter(pk=failure.pk).exists()
