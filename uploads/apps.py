from django.apps import AppConfig


class UploadsConfig(AppConfig):
    """Everything that leaves the building: Raptor Maps and WattCarbon (later issues)."""

    name = "uploads"
    verbose_name = "Uploads"
    default_auto_field = "django.db.models.BigAutoField"
