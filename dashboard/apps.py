from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortfolioAdminConfig(admin_apps.AdminConfig):
    """Django's admin, on the project's site: the dashboard on its index, the portfolio first."""

    default = False  # named in INSTALLED_APPS; "dashboard" alone means DashboardConfig
    default_site = "dashboard.site.PortfolioAdminSite"


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"
