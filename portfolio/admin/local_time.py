from zoneinfo import ZoneInfo

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.utils import timezone

from portfolio.timefmt import time_html


class SiteTimeZoneMixin:
    """On an object's change page, show and read its times in the object's own time zone.

    Staff think of a farm's commissioning or a demand-response event in site time; the
    rest of the admin is in the user's zone. The zone is the one saved on the object, or on the
    object it belongs to (``site_timezone_field``: "asset__timezone" for an event).
    """

    site_timezone_field = "timezone"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        zone = self._site_timezone(object_id)
        if not zone:
            return super().change_view(request, object_id, form_url, extra_context)
        with timezone.override(ZoneInfo(zone)):
            extra_context = {**(extra_context or {}), "subtitle": f"Times on this page are in {zone}."}
            response = super().change_view(request, object_id, form_url, extra_context)
            # Render now: a TemplateResponse would otherwise render after the zone is reset.
            if hasattr(response, "render"):
                response.render()
        return response

    def _site_timezone(self, object_id):
        """Only the saved zone: the view itself loads (and permission-checks) the object."""
        try:
            return (
                self.model._default_manager.filter(pk=unquote(object_id))
                .values_list(self.site_timezone_field, flat=True)
                .first()
            )
        except (ValueError, ValidationError):
            return None  # a malformed id: Django's own view answers it


def zone_at(obj, path):
    """The IANA zone name at the dotted attribute ``path`` of ``obj`` ("equipment.farm.timezone"), or None."""
    for name in path.split("."):
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def time_column(field, description, zone_path="timezone"):
    """A column showing the time ``field`` in the zone of the row's site (``zone_path``), UTC on hover.

    A list of farms spans zones: each row's time is the one its site's staff would say. Without
    ``zone_path`` the time is in the admin's zone (the user's, or ADMIN_TIME_ZONE).
    """

    @admin.display(description=description, ordering=field)
    def column(model_admin, obj):
        return time_html(getattr(obj, field), zone_at(obj, zone_path) if zone_path else None)

    column.__name__ = field
    return column
