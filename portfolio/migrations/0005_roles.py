"""The three roles as groups: viewer, operator, administrator (portfolio/roles.py, RULES).

The same function runs again after every ``migrate`` (portfolio/apps.py), so the groups follow
the table and cover models added later.
"""

from django.db import migrations

from portfolio.roles import ROLES, sync_role_groups


def create_role_groups(apps, schema_editor):
    sync_role_groups(apps, using=schema_editor.connection.alias)


def remove_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0004_meter_wattcarbon_sync"),
        ("uploads", "0003_run_now_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
