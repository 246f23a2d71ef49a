"""Meters and assets whose stored WattCarbon id answers 404: what is said, and what brings them back.

WattCarbon forgets an object when someone deletes it there or the account (a sandbox) is reset;
the id kept here then names nothing. The sync marks the link "missing on WattCarbon" with a message
saying what happened and what to do, and never calls that id again:

- an asset is looked up by its ``customId`` on the next sync: linked if found, else created again;
- a meter cannot be looked up (contract 2.2 has no meter lookup), so creating it again is a person's
  decision: the admin action "Create again on WattCarbon" (:func:`create_again`). Done
  automatically, a 404 that is not a deletion (an account ID pointing elsewhere) would make a twin of
  every meter.
"""

from uploads.models import WattCarbonMeterLink

__all__ = ["GONE_STATUSES", "asset_gone", "create_again", "meter_gone", "missing_meter_names"]

# Answers that say the object itself is not there (any more).
GONE_STATUSES = frozenset({404, 410})
CREATE_AGAIN = '"Create again on WattCarbon"'


def meter_gone(link, exc):
    """The message of a meter whose id WattCarbon no longer knows."""
    return (
        f"WattCarbon has no meter {link.remote_id} any more ({exc}): it was deleted there, or the account "
        f"was reset. Its readings are not sent. To create it again, select it in the Meters list and use "
        f"{CREATE_AGAIN}: all its readings are then sent again. WattCarbon cannot look meters up, so this "
        "is not done on its own."
    )


def asset_gone(link, exc):
    """The message of an asset whose id WattCarbon no longer knows."""
    return (
        f"WattCarbon has no asset {link.remote_id} any more ({exc}): it was deleted there, or the account "
        f"was reset. The next sync looks it up by its customId {link.asset.custom_id!r} and links it, or "
        "creates it again."
    )


def missing_meter_names(meters):
    return ", ".join(sorted(meter.name for meter in meters))


def create_again(links):
    """Forget the remote id and watermarks of the given meter links that are missing on WattCarbon.

    The next sync creates each as a new meter and sends all its readings again. Returns the links
    changed; links that are not missing are left as they are.
    """
    changed = [link for link in links if link.missing_at is not None]
    for link in changed:
        link.remote_id = None
        link.intervals_through_at = link.intervals_through_id = None
        link.bills_through_at = link.bills_through_id = None
        link.missing_at = None
        link.clear_error()
    WattCarbonMeterLink.objects.bulk_update(
        changed,
        [
            "remote_id",
            "intervals_through_at",
            "intervals_through_id",
            "bills_through_at",
            "bills_through_id",
            "missing_at",
            "error",
            "error_at",
        ],
    )
    return changed
