"""A user's time zone in the admin: the preferences page, and the middleware that applies it.

The zone is read once per login and kept in the session, so a page costs no query for it; the
preferences page updates both. Without a preference, times are in ``settings.ADMIN_TIME_ZONE``.
"""

from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from portfolio.models import UserPreference

__all__ = ["TimeZoneMiddleware", "preferences_view", "preferred_zone"]

SESSION_KEY = "portfolio_time_zone"


def _stored_zone(user):
    return UserPreference.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""


@receiver(user_logged_in, dispatch_uid="portfolio.remember_time_zone")
def remember_time_zone(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = _stored_zone(user)


def preferred_zone(request):
    """The zone name this request's times are shown in: the user's, else ADMIN_TIME_ZONE."""
    user = getattr(request, "user", None)
    zone = ""
    if user is not None and user.is_authenticated:
        zone = request.session.get(SESSION_KEY)
        if zone is None:  # a session from before preferences existed
            zone = request.session[SESSION_KEY] = _stored_zone(user)
    return zone or settings.ADMIN_TIME_ZONE


class TimeZoneMiddleware:
    """Activate the request's zone (after the authentication middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            zone = ZoneInfo(preferred_zone(request))
        except (ValueError, LookupError):  # a zone this machine's tz database no longer has
            zone = ZoneInfo(settings.ADMIN_TIME_ZONE)
        with timezone.override(zone):
            return self.get_response(request)


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = UserPreference
        fields = ["time_zone"]


def preferences_view(request):
    """Each user's own preferences: any staff user may set theirs, and only theirs."""
    preference = UserPreference.objects.filter(user=request.user).first() or UserPreference(user=request.user)
    form = PreferencesForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        form.save()
        request.session[SESSION_KEY] = preference.time_zone
        shown = preference.time_zone or f"the default, {settings.ADMIN_TIME_ZONE}"
        messages.success(request, f"Times are now shown in {shown}.")
        return redirect("admin_preferences")
    context = {
        **admin.site.each_context(request),
        "title": "Preferences",
        "form": form,
        "default_zone": settings.ADMIN_TIME_ZONE,
    }
    return TemplateResponse(request, "admin/preferences.html", context)
