"""django-q2's pages (queued, successful and failed tasks, schedules) belong to administrators.

A schedule names any function to run and a resubmitted task runs again with its arguments: both
are code execution. django-q2's own admin lets whoever may see a failed task resubmit it (its
action asks for no permission), so its ModelAdmins are registered again here: every page needs
the administrator role on top of the model's permission (a permission granted by hand to someone
else opens nothing), and Resubmit needs the change permission as well.
"""

from django.contrib import admin
from django_q import admin as q_admin
from django_q.models import Failure, OrmQ, Schedule, Success

from portfolio.roles import is_administrator

__all__ = ["AdministratorsOnlyAdminMixin"]


class AdministratorsOnlyAdminMixin:
    """Every permission of the ModelAdmin also needs the administrator role."""

    def has_module_permission(self, request):
        return is_administrator(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return is_administrator(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return is_administrator(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return is_administrator(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_administrator(request.user) and super().has_delete_permission(request, obj)


@admin.action(description=q_admin.resubmit_task.short_description, permissions=["change"])
def resubmit_task(model_admin, request, queryset):
    """django-q2's Resubmit, for those who may change tasks (administrators) only."""
    return q_admin.resubmit_task(model_admin, request, queryset)


class ScheduleAdmin(AdministratorsOnlyAdminMixin, q_admin.ScheduleAdmin):
    pass


class SuccessAdmin(AdministratorsOnlyAdminMixin, q_admin.TaskAdmin):
    actions = [resubmit_task]


class FailureAdmin(AdministratorsOnlyAdminMixin, q_admin.FailAdmin):
    actions = [resubmit_task]


class QueueAdmin(AdministratorsOnlyAdminMixin, q_admin.QueueAdmin):
    pass


for model, model_admin in [(Schedule, ScheduleAdmin), (Success, SuccessAdmin), (Failure, FailureAdmin)]:
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
# The queue's page exists only with the ORM broker (django-q2 registers it only then).
if admin.site.is_registered(OrmQ):
    admin.site.unregister(OrmQ)
    admin.site.register(OrmQ, QueueAdmin)
