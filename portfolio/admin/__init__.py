from django.contrib import admin

from portfolio.admin import assets, farms, imports, logins, meters, portfolios, task_queue  # noqa: F401  (registers the ModelAdmins)

admin.site.site_header = "Solar portfolio"
admin.site.site_title = "Solar portfolio"
admin.site.index_title = "Portfolio, farms, meters and assets"
# The admin is the whole site: a "View site" link would only lead back to it.
admin.site.site_url = None
# Changelists are wide; the page needs the room more than the sidebar.
admin.site.enable_nav_sidebar = False
