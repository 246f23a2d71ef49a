"""A Raptor Maps integration: where a set of farms' readings go, with which credentials, how often."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from portfolio.models import Farm
from portfolio.timefmt import time_text
from uploads.models.outbound import OutboundConnection, base_url_field
from uploads.secrets.fields import EncryptedSecretField

__all__ = ["RaptorMapsIntegration", "TimeBasis", "UploadWatermark"]

DEFAULT_BASE_URL = "https://api.raptormaps.com"
# The contract's limit per PUT is 5 GB; the cap is per integration so tests can cut tiny parts.
DEFAULT_PART_BYTES = 5_000_000_000
MIN_PART_BYTES = 256
# Used when neither the integration nor its org integration says how often (contract 1.2).
DEFAULT_INTERVAL_SECONDS = 15 * 60
MIN_INTERVAL_SECONDS = 60


class TimeBasis(models.TextChoices):
    LOCAL = "local", "farm local time"
    UTC = "utc", "UTC"


class RaptorMapsIntegration(OutboundConnection):
    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True, help_text="Disabled integrations have no schedule.")
    portfolio = models.ForeignKey(
        "portfolio.Portfolio",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="raptormaps_integrations",
        help_text="Every farm of this portfolio, including farms added later. Or choose farms below.",
    )
    farms = models.ManyToManyField(
        Farm, blank=True, related_name="raptormaps_integrations", help_text="Only these farms (when no portfolio)."
    )
    base_url = base_url_field(DEFAULT_BASE_URL)
    api_token = EncryptedSecretField(what="API token", help_text="A ready API access token (Bearer).")
    client_id = models.CharField("client ID", max_length=200, blank=True)
    client_secret = EncryptedSecretField(what="client secret")
    org_id = models.PositiveBigIntegerField(
        "org ID", null=True, blank=True, help_text="Sent as ?org_id= on API calls when set."
    )
    integration_id = models.PositiveBigIntegerField(
        "org integration ID",
        help_text="The org integration to request signed URLs for ('Test connection' lists them).",
    )
    time_basis = models.CharField(
        "time basis of observation_time", max_length=8, choices=TimeBasis.choices, default=TimeBasis.LOCAL
    )
    part_bytes = models.PositiveBigIntegerField(
        "bytes per file part",
        default=DEFAULT_PART_BYTES,
        validators=[MinValueValidator(MIN_PART_BYTES), MaxValueValidator(DEFAULT_PART_BYTES)],
        help_text="Files are cut into parts below this size, each PUT to its own signed URL (at most 5 GB).",
    )
    upload_interval_seconds = models.PositiveIntegerField(
        "upload interval (seconds)",
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_INTERVAL_SECONDS)],
        help_text="Blank: the interval Raptor Maps set for the org integration, else 15 minutes.",
    )
    # Learned from the org integration (Test connection, or a run); never typed in.
    remote_interval_seconds = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # The client-credentials token, cached between runs until it expires.
    access_token = EncryptedSecretField(what="access token")
    access_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Raptor Maps integration"
        ordering = ["name"]
        # "Upload now" and retrying a run: the operator's, without changing the integration.
        permissions = [("upload_now", "Can queue an upload now or retry a run")]
        constraints = [
            models.CheckConstraint(condition=Q(part_bytes__gte=MIN_PART_BYTES), name="raptormaps_part_bytes_min"),
            models.CheckConstraint(
                condition=Q(upload_interval_seconds__isnull=True)
                | Q(upload_interval_seconds__gte=MIN_INTERVAL_SECONDS),
                name="raptormaps_interval_min",
            ),
        ]

    def __str__(self):
        return self.name

    # What the learned fields were learned from: another org integration (or another service) may
    # expect data at another interval, so they are forgotten when it changes, and the next run asks.
    REMOTE_IDENTITY = ("base_url", "org_id", "integration_id")

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._learned_from = instance._remote_identity()
        return instance

    def _remote_identity(self):
        """The loaded ones of REMOTE_IDENTITY (a deferred field is not a change)."""
        return {name: self.__dict__[name] for name in self.REMOTE_IDENTITY if name in self.__dict__}

    def _remote_changed(self):
        learned_from, now = getattr(self, "_learned_from", {}), self._remote_identity()
        return any(now.get(name, value) != value for name, value in learned_from.items())

    def save(self, *args, **kwargs):
        if self._remote_changed():
            self.remote_interval_seconds = None
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "remote_interval_seconds"}
        super().save(*args, **kwargs)
        self._learned_from = self._remote_identity()

    @property
    def uses_client_credentials(self):
        return bool(self.client_id)

    @property
    def interval_seconds(self):
        return self.upload_interval_seconds or self.remote_interval_seconds or DEFAULT_INTERVAL_SECONDS

    def covered_farms(self):
        """The farms whose readings this integration sends."""
        if self.portfolio_id:
            return Farm.objects.filter(portfolio_id=self.portfolio_id)
        if self.pk is None:
            return Farm.objects.none()
        return self.farms.all()

    def clean(self):
        errors = {}
        if self.client_id and not self.client_secret:
            errors["client_secret"] = "A client ID needs its client secret."
        if self.client_secret and not self.client_id:
            errors["client_id"] = "A client secret needs its client ID."
        if not self.client_id and not self.api_token:
            errors["api_token"] = "Give an API token, or a client ID and secret."
        if errors:
            raise ValidationError(errors)


class UploadWatermark(models.Model):
    """How far one farm's readings have reached Raptor Maps through one integration.

    Everything ingested up to ``ingested_through`` has been uploaded; it moves only when every
    part of a run was accepted, so a failed or killed run sends the same data again.
    """

    integration = models.ForeignKey(RaptorMapsIntegration, on_delete=models.CASCADE, related_name="watermarks")
    farm = models.ForeignKey(Farm, on_delete=models.CASCADE, related_name="+")
    ingested_through = models.DateTimeField()
    run = models.ForeignKey(
        "uploads.UploadRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="Moved by."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "farm"], name="watermark_unique_farm")]

    def __str__(self):
        return f"{self.farm} through {time_text(self.ingested_through, 'UTC', precision='seconds')}"
