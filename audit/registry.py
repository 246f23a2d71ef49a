"""What the audit trail tracks, and which fields it leaves out or keeps secret.

Tracked: the portfolio data people edit, import and delete, the integrations and accounts
that hold credentials, users and groups (who may do what), and django-q2's schedules. Not
tracked: observations (bulk-loaded by ``COPY`` in millions; each load's record is its
ImportRecord), and what the application writes for itself: import records, runs, attempts,
leases, watermarks and sync links (each is a record already).
"""

from auditlog.registry import auditlog
from django.apps import apps

from audit.secret_fields import track_secret_fields

__all__ = ["SECRET_FIELDS", "TRACKED", "track_models"]

# The outcome of the last Test connection: a record of the connection, not a change of it.
CONNECTION_TEST = ("connection_tested_at", "connection_ok", "connection_status", "connection_summary")

# model → fields left out of the trail: bookkeeping the application moves on every run or
# login (it would bury the changes people make), values the database computes, and caches.
TRACKED = {
    "portfolio.Portfolio": (),
    "portfolio.Farm": (),
    "portfolio.Equipment": (),
    "portfolio.Sensor": (),
    "portfolio.Meter": ("derived_through",),
    "portfolio.IntervalReading": ("ingested_at", "energy_kwh"),
    "portfolio.BillReading": ("ingested_at", "energy_kwh"),
    "portfolio.Asset": (),
    "portfolio.DemandResponseEvent": (),
    "uploads.RaptorMapsIntegration": (
        "access_token",
        "access_token_expires_at",
        "remote_interval_seconds",
        "created_at",
        "updated_at",
        *CONNECTION_TEST,
    ),
    "uploads.WattCarbonAccount": (
        "access_token",
        "access_token_expires_at",
        "created_at",
        "updated_at",
        *CONNECTION_TEST,
    ),
    "auth.User": ("last_login",),
    "auth.Group": (),
    "django_q.Schedule": ("next_run", "task"),
}

# Recorded as "(set)", "(changed)" or "(not set)", never their values (audit/secret_fields.py).
SECRET_FIELDS = {
    "uploads.RaptorMapsIntegration": ("api_token", "client_secret"),
    "uploads.WattCarbonAccount": ("api_key",),
    "auth.User": ("password",),
}

M2M_FIELDS = {
    "uploads.RaptorMapsIntegration": ("farms",),
    "auth.User": ("groups", "user_permissions"),
    "auth.Group": ("permissions",),
}


def track_models():
    """Register every tracked model with django-auditlog (called once, when the app is ready)."""
    for label, left_out in TRACKED.items():
        model = apps.get_model(label)
        if auditlog.contains(model):
            continue
        secrets = SECRET_FIELDS.get(label, ())
        # Reverse relations (a farm's equipment) are other objects' fields: auditlog would write
        # "portfolio.Equipment.None" into every create and delete.
        reverse = [field.name for field in model._meta.get_fields() if field.auto_created and not field.concrete]
        auditlog.register(
            model, exclude_fields=[*left_out, *secrets, *reverse], m2m_fields=set(M2M_FIELDS.get(label, ()))
        )
        if secrets:
            track_secret_fields(model, secrets)
