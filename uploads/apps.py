from django.apps import AppConfig


class UploadsConfig(AppConfig):
    """Everything that leaves the building: Raptor Maps uploads (WattCarbon joins in a later issue)."""

    name = "uploads"
    verbose_name = "Uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from uploads import signals  # noqa: F401 - connect the receivers
        from uploads.runs import taskcontext  # noqa: F401 - remember which task runs
