"""The uploads app in the admin: integrations, their runs, and the attempt log of every HTTP call."""

from uploads.admin import attempts, integrations, runs  # noqa: F401  (registers the ModelAdmins)
