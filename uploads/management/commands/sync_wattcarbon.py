"""Sync WattCarbon in the foreground: for cron, for operations, and to see what a sync would do."""

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError

from portfolio.console import command_progress
from portfolio.sqlite import is_database_locked, locked_database_message
from uploads.models import RunTrigger, SyncStatus, WattCarbonAccount
from uploads.runs.schedules import sync_all_schedules
from uploads.wattcarbon.service import run_sync

GOOD = (SyncStatus.SYNCED, SyncStatus.NOTHING, SyncStatus.DRY_RUN)


class Command(BaseCommand):
    help = "Sync WattCarbon now, for every enabled account or one (--account NAME)."

    def add_arguments(self, parser):
        parser.add_argument("--account", metavar="NAME", help="Only this account (even if disabled).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be created, updated and uploaded; send nothing."
        )
        parser.add_argument(
            "--sync-schedules", action="store_true", help="Only bring the django-q2 schedules in line and exit."
        )

    def handle(self, *args, **options):
        if options["sync_schedules"]:
            removed = sync_all_schedules()
            self.stdout.write(f"Schedules in line with the accounts and integrations ({removed} stale removed).")
            return
        accounts = self._accounts(options["account"])
        failed = 0
        for account in accounts:
            console = command_progress(self, account.name, options["verbosity"])
            try:
                run = run_sync(account, trigger=RunTrigger.COMMAND, dry_run=options["dry_run"], progress=console)
            except OperationalError as error:
                if is_database_locked(error):
                    raise CommandError(locked_database_message(f"The sync of {account.name}")) from None
                raise
            finally:
                if console is not None:
                    console.close()
            failed += run.status not in GOOD
            self._report(run)
        if failed:
            raise CommandError(f"{failed} of {len(accounts)} sync(s) did not finish cleanly.")

    def _accounts(self, name):
        if name:
            account = WattCarbonAccount.objects.filter(name=name).select_related("portfolio").first()
            if account is None:
                known = ", ".join(WattCarbonAccount.objects.values_list("name", flat=True)) or "none"
                raise CommandError(f"No WattCarbon account named {name!r} (known: {known}).")
            return [account]
        accounts = list(WattCarbonAccount.objects.filter(enabled=True).select_related("portfolio"))
        if not accounts:
            raise CommandError("No enabled WattCarbon account.")
        return accounts

    def _report(self, run):
        line = (
            f"{run.account.name}: sync #{run.pk} {run.get_status_display()} — "
            f"{run.meters_created} meter(s) and {run.assets_created} asset(s) created, "
            f"{run.assets_updated} updated, {run.interval_rows:,} interval and {run.bill_rows:,} bill row(s), "
            f"{run.documents} events document(s), {run.write_calls} write call(s) accepted"
            + (f", {run.failed_write_calls} failed" if run.failed_write_calls else "")
        )
        self.stdout.write(self.style.SUCCESS(line) if run.status in GOOD else line)
        if run.waiting:  # right under the status: it is not all sent
            self.stdout.write(self.style.WARNING(f"  Still waiting: {run.waiting}"))
        for log_line in run.log.splitlines():
            if log_line != run.waiting:
                self.stdout.write(f"  {log_line}")
        if run.error:
            self.stderr.write(f"  error: {run.error}")
