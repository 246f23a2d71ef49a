from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from portfolio.health import healthz
from portfolio.preferences import preferences_view

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # Each user's own time zone: any staff user, for themselves (before the admin's catch-all).
    path("admin/preferences/", admin.site.admin_view(preferences_view), name="admin_preferences"),
    path("admin/", admin.site.urls),
    # For load balancers and supervisors: unauthenticated, says ok or what is failing, nothing else.
    path("healthz", healthz, name="healthz"),
]

# A refusal is a page in the admin's look that names the role needed (portfolio/refusals.py).
handler403 = "portfolio.refusals.permission_denied"
