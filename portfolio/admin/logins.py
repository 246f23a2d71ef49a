"""Failed logins and lockouts (django-axes), for administrators: docs/security.md, "Logins".

axes' own "Clean up expired attempts" action reads the time of the login attempt being handled
from the request, which only a login request carries, so from the admin it failed with a 500.
It is registered again here with the action given that time. Deleting an attempt lifts its
lockout.
"""

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.utils import timezone

from portfolio.admin.task_queue import AdministratorsOnlyAdminMixin

admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(AdministratorsOnlyAdminMixin, AxesAccessAttemptAdmin):
    actions = ["cleanup_expired_attempts"]

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        request.axes_attempt_time = timezone.now()
        return super().cleanup_expired_attempts(request, queryset)
