from django.apps import AppConfig
from django.db.models.signals import post_migrate


def resync_role_groups(sender, app_config=None, using="default", apps=None, **kwargs):
    """After ``migrate``, once every app's permissions exist, give the role groups theirs again.

    post_migrate is sent once per app with models, in INSTALLED_APPS order; the last one is when
    Django has created the permissions of all of them, including models added since 0005_roles.
    """
    from django.apps import apps as global_apps

    from portfolio.roles import sync_role_groups

    with_models = [config for config in global_apps.get_app_configs() if config.models_module is not None]
    if sender is not with_models[-1]:
        return
    sync_role_groups(global_apps, using=using)


class PortfolioConfig(AppConfig):
    name = "portfolio"
    verbose_name = "Portfolio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.core import checks

        from portfolio.sqlite import workers_on_sqlite

        post_migrate.connect(resync_role_groups, dispatch_uid="portfolio.resync_role_groups")
        checks.register(workers_on_sqlite)
