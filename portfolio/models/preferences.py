"""What a user chooses for themselves in the admin."""

from django.conf import settings
from django.db import models

from portfolio.fields import TimeZoneField

__all__ = ["UserPreference"]


class UserPreference(models.Model):
    """A user's choices: for now, the time zone the admin shows times in (where not a site's own)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    time_zone = TimeZoneField(
        "time zone",
        blank=True,
        help_text="Times in the admin are shown in this zone, except a farm's and an asset's, which are shown in "
        "the site's own zone. Empty: the site's default (ADMIN_TIME_ZONE).",
    )

    class Meta:
        verbose_name = "user preference"

    def __str__(self):
        return f"Preferences of {self.user}"
