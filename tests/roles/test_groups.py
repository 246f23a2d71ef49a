"""The role groups: made by the data migration, kept in line with the rule table after every migrate."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portfolio.roles import ADMINISTRATOR, OPERATOR, ROLES, VIEWER, has_role, role_of

ROLES_MIGRATION = ("portfolio", "0005_roles")
BEFORE_ROLES = ("portfolio", "0004_meter_wattcarbon_sync")


def codenames(role):
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename")
    }


@pytest.mark.django_db
def test_viewers_read_portfolio_and_uploads_and_nothing_else():
    viewer = codenames(VIEWER)
    assert {"portfolio.view_farm", "uploads.view_raptormapsintegration", "uploads.view_attempt"} <= viewer
    assert all(name.split(".")[1].startswith("view_") for name in viewer)
    assert {name.split(".")[0] for name in viewer} == {"portfolio", "uploads"}


@pytest.mark.django_db
def test_operators_edit_portfolio_data_and_run_but_do_not_change_integrations():
    operator = codenames(OPERATOR)
    assert {"portfolio.add_farm", "portfolio.change_asset", "portfolio.delete_observation"} <= operator
    assert {"uploads.upload_now", "uploads.sync_now"} <= operator
    assert codenames(VIEWER) <= operator
    for refused in [
        "uploads.change_raptormapsintegration",
        "uploads.add_wattcarbonaccount",
        "portfolio.change_importrecord",
        "auth.change_user",
        "django_q.change_failure",
        "django_q.add_schedule",
    ]:
        assert refused not in operator


@pytest.mark.django_db
def test_administrators_hold_every_permission():
    assert Group.objects.get(name=ADMINISTRATOR).permissions.count() == Permission.objects.count()


def migrate_to_the_latest():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_creates_the_groups(request):
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE_ROLES])
    request.addfinalizer(migrate_to_the_latest)  # the tests after this one need every later migration
    assert not Group.objects.filter(name__in=ROLES).exists()
    executor = MigrationExecutor(connection)  # a fresh graph, as `migrate` would load
    executor.migrate([ROLES_MIGRATION])
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)
    assert "uploads.upload_now" in codenames(OPERATOR)
    assert "uploads.change_raptormapsintegration" not in codenames(OPERATOR)


@pytest.mark.django_db
def test_migrate_puts_back_what_the_groups_lost_and_covers_models_added_later():
    Group.objects.get(name=VIEWER).delete()
    operator = Group.objects.get(name=OPERATOR)
    operator.permissions.remove(Permission.objects.get(codename="upload_now"))
    operator.permissions.add(Permission.objects.get(codename="change_user"))  # given by hand, out of the rules
    # A model added later to the portfolio app, and one of an app the rules do not name.
    later = ContentType.objects.create(app_label="portfolio", model="inspection")
    unknown = ContentType.objects.create(app_label="reports", model="report")
    for content_type in (later, unknown):
        for action in ("view", "add"):
            Permission.objects.create(content_type=content_type, codename=f"{action}_{content_type.model}", name=action)

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    assert "portfolio.view_inspection" in codenames(VIEWER)
    assert {"portfolio.add_inspection", "uploads.upload_now"} <= codenames(OPERATOR)
    assert "auth.change_user" not in codenames(OPERATOR)
    for role in (VIEWER, OPERATOR):
        assert not {"reports.view_report", "reports.add_report"} & codenames(role)
    assert {"reports.view_report", "reports.add_report"} <= codenames(ADMINISTRATOR)


@pytest.mark.django_db
def test_each_role_includes_the_ones_before_it(django_user_model):
    user = django_user_model.objects.create_user("ops", is_staff=True)
    user.groups.add(Group.objects.get(name=OPERATOR))
    assert [has_role(user, role) for role in ROLES] == [True, True, False]
    assert role_of(user) == OPERATOR
