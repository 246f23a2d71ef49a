"""The project's admin site: Django's, with the dashboard above the index's models and the apps in
the order people work in (the portfolio first, its uploads next, the rest as Django sorts them)."""

from django.conf import settings
from django.contrib import admin

__all__ = ["APPS_FIRST", "PortfolioAdminSite"]

APPS_FIRST = ("portfolio", "uploads")


def app_rank(app):
    label = app["app_label"]
    return (APPS_FIRST.index(label) if label in APPS_FIRST else len(APPS_FIRST), app["name"].lower())


class PortfolioAdminSite(admin.AdminSite):
    def get_app_list(self, request, app_label=None):
        return sorted(super().get_app_list(request, app_label), key=app_rank)

    def index(self, request, extra_context=None):
        if settings.DASHBOARD_ENABLED:
            from dashboard.panels import panels_for

            extra_context = {"dashboard": panels_for(request), **(extra_context or {})}
        return super().index(request, extra_context)
