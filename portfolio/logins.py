"""What a locked-out login sees (django-axes calls ``lockout_response``; docs/security.md, "Logins")."""

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.contrib import admin
from django.shortcuts import render
from django.utils import timezone

__all__ = ["lockout_response"]

TEMPLATE = "admin/lockout.html"
STATUS = 429  # Too Many Requests


def lockout_response(request, original_response=None, credentials=None):
    """The admin-styled page that says the login is locked, why, and when to try again.

    Every attempt while locked counts as a failure and starts the wait again (axes'
    ``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT``), so the wait runs from now.
    """
    cool_off = get_cool_off(request)
    context = {
        **admin.site.each_context(request),
        "title": "Login locked",
        "failure_limit": get_failure_limit(request, credentials),
        "username": get_client_username(request, credentials) or "",
        "cool_off_minutes": round(cool_off.total_seconds() / 60) if cool_off else None,
        "retry_at": timezone.now() + cool_off if cool_off else None,
    }
    return render(request, TEMPLATE, context, status=STATUS)
