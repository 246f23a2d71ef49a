"""The uploads app in the admin: integrations and accounts, their runs and syncs, the attempt log of
every HTTP call, and the WattCarbon sync state on the Meter and Asset pages."""

from uploads.admin import (  # noqa: F401  (registers the ModelAdmins)
    attempts,
    integrations,
    runs,
    sync_state,
    syncs,
    wattcarbon_accounts,
)
