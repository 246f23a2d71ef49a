from zoneinfo import ZoneInfo

from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.utils import timezone


class SiteTimeZoneMixin:
    """On an object's change page, show and read its times in the object's own time zone.

    Staff think of a farm's commissioning or a demand-response event in site time; the
    rest of the admin stays in UTC. The zone is the one saved on the object.
    """

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
            return self.model._default_manager.filter(pk=unquote(object_id)).values_list("timezone", flat=True).first()
        except (ValueError, ValidationError):
            return None  # a malformed id: Django's own view answers it
