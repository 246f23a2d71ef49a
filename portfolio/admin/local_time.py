from zoneinfo import ZoneInfo

from django.contrib.admin.utils import unquote
from django.utils import timezone


class SiteTimeZoneMixin:
    """On an object's change page, show and read its times in the object's own time zone.

    Staff think of a farm's commissioning or a demand-response event in site time; the
    rest of the admin stays in UTC. The zone is the one saved on the object.
    """

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not obj.timezone:
            return super().change_view(request, object_id, form_url, extra_context)
        zone = obj.timezone
        with timezone.override(ZoneInfo(zone)):
            extra_context = {**(extra_context or {}), "subtitle": f"Times on this page are in {zone}."}
            response = super().change_view(request, object_id, form_url, extra_context)
            # Render now: a TemplateResponse would otherwise render after the zone is reset.
            if hasattr(response, "render"):
                response.render()
        return response
