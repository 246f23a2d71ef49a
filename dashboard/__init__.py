"""The admin index as a dashboard: what is wrong right now, above the list of models.

Panels, each a module computing plain data and a template showing it:

- ``freshness``: per portfolio, each active farm's last reading and last successful Raptor Maps
  upload; farms whose readings are older than ``DASHBOARD_STALE_READINGS_SECONDS``, that have no
  readings at all, or whose integration has not succeeded for ``DASHBOARD_STALE_UPLOAD_INTERVALS``
  upload intervals are flagged and listed first;
- ``activity``: upload runs, WattCarbon syncs and HTTP attempts of the last 24 hours, failures
  first, each linked to its attempts;
- ``sync_states``: how many meters and assets stand in each WattCarbon sync state;
- ``schedules``: the worker's schedules and when each runs next (an overdue one says the worker
  may be down);
- ``imports``: imports queued or running.

The dashboard reads ``portfolio`` and ``uploads``; nothing imports it (tests/test_layering.py).
Each panel is shown only to those who may view what it counts, and links only to pages they may
open. Every panel costs a fixed number of queries, whatever the number of farms or readings.
"""
