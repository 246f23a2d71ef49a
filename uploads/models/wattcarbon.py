"""WattCarbon: the accounts the portfolio syncs to, and what each account knows of every meter and asset."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from uploads.models.outbound import OutboundConnection, base_url_field
from uploads.secrets.fields import EncryptedSecretField

__all__ = ["SyncState", "WattCarbonAccount", "WattCarbonAssetLink", "WattCarbonMeterLink"]

DEFAULT_BASE_URL = "https://api.wattcarbon.com"
DEFAULT_SYNC_INTERVAL_SECONDS = 3600
MIN_SYNC_INTERVAL_SECONDS = 60
# Rows per timeseries upload: a year of hourly intervals (8,760 rows, about 350 kB) goes in one.
DEFAULT_CHUNK_ROWS = 10_000
MAX_CHUNK_ROWS = 500_000
# Timeseries uploads in flight at once: each holds one file in memory (at most chunk_rows rows).
DEFAULT_UPLOAD_CONCURRENCY = 4
MAX_UPLOAD_CONCURRENCY = 16


class WattCarbonAccount(OutboundConnection):
    """One WattCarbon account (personal or organisational) and the portfolio synced to it.

    The API key decides where assets land (contract 2.1), so it is held with the account it
    belongs to. The access token is cached here, encrypted, until shortly before it expires.
    """

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True, help_text="Disabled accounts have no schedule.")
    portfolio = models.ForeignKey(
        "portfolio.Portfolio",
        on_delete=models.PROTECT,
        related_name="wattcarbon_accounts",
        help_text="Its meters and assets are synced to this account.",
    )
    base_url = base_url_field(DEFAULT_BASE_URL)
    email = models.EmailField("login email")
    api_key = EncryptedSecretField(what="API key", help_text="From the account's settings page on WattCarbon.")
    account_id = models.CharField("account ID", max_length=100, help_text="The {account_id} of the API's paths.")
    sync_interval_seconds = models.PositiveIntegerField(
        "sync interval (seconds)",
        default=DEFAULT_SYNC_INTERVAL_SECONDS,
        validators=[MinValueValidator(MIN_SYNC_INTERVAL_SECONDS)],
    )
    chunk_rows = models.PositiveIntegerField(
        "rows per timeseries upload",
        default=DEFAULT_CHUNK_ROWS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CHUNK_ROWS)],
        help_text="Interval and bill readings are sent in CSV files of at most this many rows.",
    )
    upload_concurrency = models.PositiveSmallIntegerField(
        "uploads at once",
        default=DEFAULT_UPLOAD_CONCURRENCY,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_UPLOAD_CONCURRENCY)],
        help_text=(
            f"Interval and bill files sent at the same time (1 to {MAX_UPLOAD_CONCURRENCY}), each for another meter. "
            "A 429 from WattCarbon holds them all back until its Retry-After. 1 sends one file at a time."
        ),
    )
    access_token = EncryptedSecretField(what="access token")
    access_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "WattCarbon account"
        ordering = ["name"]
        # "Sync now" and retrying a sync: the operator's, without changing the account.
        permissions = [("sync_now", "Can queue a sync now or retry a sync")]
        constraints = [
            models.CheckConstraint(
                condition=Q(sync_interval_seconds__gte=MIN_SYNC_INTERVAL_SECONDS), name="wattcarbon_interval_min"
            ),
            models.CheckConstraint(
                condition=Q(chunk_rows__gte=1, chunk_rows__lte=MAX_CHUNK_ROWS), name="wattcarbon_chunk_rows_range"
            ),
            models.CheckConstraint(
                condition=Q(upload_concurrency__gte=1, upload_concurrency__lte=MAX_UPLOAD_CONCURRENCY),
                name="wattcarbon_upload_concurrency_range",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def interval_seconds(self):
        return self.sync_interval_seconds


class SyncState(models.TextChoices):
    NOT_SYNCED = "not_synced", "not synced"
    SYNCED = "synced", "synced"
    CHANGED = "changed", "changed since sync"
    ERROR = "error", "error"
    MISSING = "missing", "missing on WattCarbon"


class RemoteLink(models.Model):
    """What one account knows of one local object: its remote id, when it last synced, what went wrong."""

    synced_at = models.DateTimeField("last synced", null=True, blank=True)
    error = models.TextField("last error", blank=True)
    error_at = models.DateTimeField("last error at", null=True, blank=True)
    # Set when WattCarbon answered 404 for the stored remote id (deleted there, an account reset);
    # the error says what was found and what brings it back (docs/wattcarbon-sync.md).
    missing_at = models.DateTimeField("missing on WattCarbon since", null=True, blank=True)

    class Meta:
        abstract = True

    def record_error(self, message, at):
        self.error, self.error_at = message, at

    def clear_error(self):
        self.error, self.error_at = "", None


class WattCarbonMeterLink(RemoteLink):
    """A meter on one account: its remote id, and how far its readings have been uploaded.

    Readings are uploaded in the order they were ingested; the watermark is the (ingested_at,
    id) of the last row accepted, so rows ingested in the same instant are neither skipped nor
    sent twice. It moves after each accepted chunk.
    """

    account = models.ForeignKey(WattCarbonAccount, on_delete=models.CASCADE, related_name="meter_links")
    meter = models.ForeignKey("portfolio.Meter", on_delete=models.CASCADE, related_name="wattcarbon_links")
    remote_id = models.PositiveBigIntegerField("WattCarbon meter ID", null=True, blank=True)
    intervals_through_at = models.DateTimeField(null=True, blank=True)
    intervals_through_id = models.PositiveBigIntegerField(null=True, blank=True)
    bills_through_at = models.DateTimeField(null=True, blank=True)
    bills_through_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "WattCarbon meter"
        constraints = [
            models.UniqueConstraint(fields=["account", "meter"], name="wattcarbon_meter_link_unique"),
            models.UniqueConstraint(
                fields=["account", "remote_id"], condition=Q(remote_id__isnull=False), name="wattcarbon_meter_remote"
            ),
        ]

    def __str__(self):
        return f"{self.meter} on {self.account}"


class WattCarbonAssetLink(RemoteLink):
    """An asset on one account: its remote id, and the last payload and events document accepted.

    The payload is kept (not only its fingerprint) so that an update sends just the fields
    that changed.
    """

    account = models.ForeignKey(WattCarbonAccount, on_delete=models.CASCADE, related_name="asset_links")
    asset = models.ForeignKey("portfolio.Asset", on_delete=models.CASCADE, related_name="wattcarbon_links")
    remote_id = models.CharField("WattCarbon asset ID", max_length=64, blank=True)
    payload = models.JSONField("last payload accepted", null=True, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    events_fingerprint = models.CharField("events document fingerprint", max_length=64, blank=True)
    events_synced_at = models.DateTimeField("events last uploaded", null=True, blank=True)

    class Meta:
        verbose_name = "WattCarbon asset"
        constraints = [
            models.UniqueConstraint(fields=["account", "asset"], name="wattcarbon_asset_link_unique"),
        ]

    def __str__(self):
        return f"{self.asset} on {self.account}"
