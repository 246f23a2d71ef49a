"""The 403 page: a refusal in the admin's look that says which role is needed.

A view that refuses with a reason (``roles.refuse("Upload now", OPERATOR)``) has it shown as
is. Django's own admin views refuse without one; the page then works out, from the URL, which
model and which kind of page it was, and names the lowest role ``roles.RULES`` gives it to.
"""

from django.contrib import admin
from django.shortcuts import render
from django.urls import Resolver404, resolve

from portfolio.roles import role_needed, role_of

__all__ = ["permission_denied", "reason_for"]

# An admin page (the end of its URL name) → (what the permission allows, the words for doing it).
PAGE_ACTIONS = {
    "changelist": ("view", "Seeing {}"),
    "change": ("view", "Seeing {}"),
    "history": ("view", "Seeing the history of {}"),
    "add": ("add", "Adding {}"),
    "delete": ("delete", "Deleting {}"),
    "export": ("view", "Exporting {}"),
    "import": ("change", "Importing {}"),
    "process_import": ("change", "Importing {}"),
    "password_change": ("change", "Changing the passwords of {}"),
    "progress": ("view", "Following {}"),
}


def reason_for(request):
    """The reason a refused admin page needs ("Adding farms needs the operator role."), or "" when unknown."""
    try:
        url_name = (request.resolver_match or resolve(request.path_info)).url_name or ""
    except Resolver404:
        return ""
    for model in admin.site._registry:
        opts = model._meta
        prefix = f"{opts.app_label}_{opts.model_name}_"
        page = url_name.removeprefix(prefix)
        if page == url_name or page not in PAGE_ACTIONS:
            continue
        action, words = PAGE_ACTIONS[page]
        if page == "change" and request.method == "POST":
            action, words = "change", "Changing {}"
        role = role_needed(opts.app_label, opts.model_name, action)
        return f"{words.format(opts.verbose_name_plural)} needs the {role} role."
    return ""


def permission_denied(request, exception=None):
    """handler403: the admin's page frame, the reason, and the role the user holds."""
    reason = str(exception or "") or reason_for(request) or "This page needs a role you do not have."
    user = getattr(request, "user", None)
    context = {
        **admin.site.each_context(request),
        "title": "Not allowed",
        "reason": reason,
        "role": role_of(user) if user is not None else None,
    }
    return render(request, "403.html", context, status=403)
