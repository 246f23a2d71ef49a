from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from portfolio.health import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    # For load balancers and supervisors: unauthenticated, says ok or what is failing, nothing else.
    path("healthz", healthz, name="healthz"),
]

# A refusal is a page in the admin's look that names the role needed (portfolio/refusals.py).
handler403 = "portfolio.refusals.permission_denied"
