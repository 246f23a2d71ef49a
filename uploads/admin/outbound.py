"""What the admin of an outbound connection (a Raptor Maps integration, a WattCarbon account) has.

"Test connection" and a "run now" ("Upload now", "Sync now") work from the list, as actions, and
from an object's page, as buttons that POST to a view of their own. Test connection needs the
change permission (administrators: it also records what the service says); running now needs the
model's own permission named like the view ("uploads.upload_now": operators), so an operator runs
an integration without being able to change it. The subclass says how to test and how to queue
(``check_connection``, ``run_now``). Once a run is queued, the user lands on its page, which follows
it live (runs.py); from the list, too, when one object was selected.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from portfolio.roles import refuse, role_needed
from uploads.admin.display import readable, when

__all__ = ["OutboundConnectionAdminMixin", "follow_run", "run_now_action"]


def run_now_action(description):
    """The list action that runs each selected object now, under its own words ("Upload now").

    One run queued: its page, to follow it. Several: the list, whose messages link each.
    """

    @admin.action(description=description, permissions=["run_now"])
    def action(model_admin, request, queryset):
        # The list defers the secrets; a run needs them.
        runs = [model_admin.run_now(request, obj) for obj in queryset.defer(None)]
        queued = [run for run in runs if run is not None]
        if len(runs) == 1 and queued:
            return follow_run(request, queued[0])
        return None

    return action


def follow_run(request, run, fallback=None):
    """The page of a run just queued, where it shows how it goes; ``fallback`` if the user may not see it."""
    opts = run._meta
    if request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", run.pk)
    return fallback


class OutboundConnectionAdminMixin:
    """Test connection and Run now for a ModelAdmin: actions, views, URLs and the page's buttons.

    The subclass names its "run now" (``run_now_name``: "upload_now" is the URL ".../upload-now/"
    named "..._upload_now"), the button's words (``run_now_label``) and the word for one object
    (``noun``), and lists ``run_now_action(run_now_label)`` among its actions.
    """

    noun: str
    run_now_name: str
    run_now_label: str
    change_form_template = "admin/uploads/outbound_change_form.html"

    def check_connection(self, request, obj):
        """Test ``obj``'s connection and tell the user what the service answered."""
        raise NotImplementedError

    def run_now(self, request, obj):
        """Queue a run of ``obj`` asked for from the admin, and say so; the run, or None if refused."""
        raise NotImplementedError

    def has_run_now_permission(self, request, obj=None):
        """The model's own permission for running now ("uploads.upload_now")."""
        return request.user.has_perm(f"{self.opts.app_label}.{self.run_now_name}")

    @admin.display(description="last connection test")
    def connection_test_info(self, obj):
        """How the last Test connection went: outcome, when, status and our one-line reason (never a body)."""
        if obj.connection_tested_at is None:
            return "Never tested."
        verdict = "works" if obj.connection_ok else "failed"
        status = f" · HTTP {obj.connection_status}" if obj.connection_status else ""
        return format_html(
            '<span class="connection-{}">{}</span> {}{} · {}',
            verdict,
            verdict,
            when(obj.connection_tested_at),
            status,
            readable(obj.connection_summary),
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        run_now_path = self.run_now_name.replace("_", "-")
        return [
            path(
                "<path:object_id>/test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name="{}_{}_test_connection".format(*info),
            ),
            path(
                f"<path:object_id>/{run_now_path}/",
                self.admin_site.admin_view(self.run_now_view),
                name="{}_{}_{}".format(*info, self.run_now_name),
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The page's "run now" button (outbound_change_form.html), named for this kind of object.
        run_now = {
            "run_now_name": self.run_now_name,
            "run_now_label": self.run_now_label,
            "has_run_now_permission": self.has_run_now_permission(request),
        }
        extra_context = {**(extra_context or {}), **run_now}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Test connection", permissions=["change"])
    def test_connection_action(self, request, queryset):
        for obj in queryset.defer(None):
            self.check_connection(request, obj)

    @method_decorator(sensitive_post_parameters())
    @method_decorator(require_POST)
    def test_connection_view(self, request, object_id):
        obj = self._object(request, object_id)
        if not self.has_change_permission(request, obj):
            refuse("Test connection", self._role_for("change"))
        self.check_connection(request, obj)
        return self._back_to(obj)

    @method_decorator(require_POST)
    def run_now_view(self, request, object_id):
        obj = self._object(request, object_id)
        if not self.has_run_now_permission(request, obj):
            refuse(self.run_now_label, self._role_for(self.run_now_name))
        run = self.run_now(request, obj)
        back = self._back_to(obj)
        return follow_run(request, run, back) if run is not None else back

    def _object(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            if not self.has_view_permission(request):  # no telling who may not look whether it exists
                refuse(f"Seeing {self.opts.verbose_name_plural}", self._role_for("view"))
            raise Http404(f"No such {self.noun}.")
        return obj

    def _role_for(self, action):
        return role_needed(self.opts.app_label, self.opts.model_name, action)

    def _back_to(self, obj):
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", obj.pk)
