"""What every outbound connection (a Raptor Maps integration, a WattCarbon account) has in common.

Its base URL is checked with the outbound rules when it is saved (uploads/outbound/netguard.py), and it
remembers how its last "Test connection" went: the outcome, when, the HTTP status and one line
of reason, redacted, never what the service sent back.
"""

from django.db import models
from django.utils import timezone

from uploads.outbound.netguard import validate_outbound_base_url
from uploads.outbound.redaction import redact_text

__all__ = ["APP_VERSION", "DEFAULT_USER_AGENT", "SUMMARY_CHARS", "OutboundConnection", "base_url_field"]

SUMMARY_CHARS = 300
# How the app names itself to the services (WattCarbon asks every client to; a library's own
# User-Agent would name nobody). The version is pyproject.toml's (a test keeps them equal).
APP_VERSION = "0.1.0"
DEFAULT_USER_AGENT = f"solar-portfolio/{APP_VERSION} (solar portfolio manager)"


def base_url_field(default):
    """The API base URL of a connection: https, a public host (or one in OUTBOUND_ALLOW_HOSTS)."""
    return models.URLField(
        "API base URL",
        default=default,
        validators=[validate_outbound_base_url],
        help_text="https:// and a public host; no user:password@.",
    )


class OutboundConnection(models.Model):
    """Abstract: how the app names itself to the service, and the outcome of the last connection test."""

    user_agent = models.CharField(
        "User-Agent",
        max_length=200,
        blank=True,
        default=DEFAULT_USER_AGENT,
        help_text=(
            f"How this app names itself to the service: name/version (+how to reach you). Empty: {DEFAULT_USER_AGENT}."
        ),
    )

    connection_tested_at = models.DateTimeField("connection tested at", null=True, blank=True, editable=False)
    connection_ok = models.BooleanField("connection works", null=True, blank=True, editable=False)
    connection_status = models.PositiveSmallIntegerField(
        "connection test HTTP status", null=True, blank=True, editable=False
    )
    connection_summary = models.CharField("connection test", max_length=SUMMARY_CHARS, blank=True, editable=False)

    class Meta:
        abstract = True

    def record_connection_test(self, ok, summary, status=None, secrets=()):
        """Store a test's outcome: one redacted line, saved at once without touching other fields."""
        line = " ".join(redact_text(summary or "", secrets).split())
        if len(line) > SUMMARY_CHARS:
            line = line[: SUMMARY_CHARS - 1] + "…"
        values = {
            "connection_tested_at": timezone.now(),
            "connection_ok": ok,
            "connection_status": status,
            "connection_summary": line,
        }
        for name, value in values.items():
            setattr(self, name, value)
        type(self).objects.filter(pk=self.pk).update(**values)
