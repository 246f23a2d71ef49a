"""Upload to Raptor Maps in the foreground: for cron, for operations, and to see what would be sent."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError

from portfolio.console import command_progress
from portfolio.sqlite import is_database_locked, locked_database_message
from uploads.models import RaptorMapsIntegration, RunStatus, RunTrigger
from uploads.raptormaps.service import run_upload
from uploads.runs.schedules import sync_all_schedules


class Command(BaseCommand):
    help = "Run Raptor Maps uploads now, for every enabled integration or one (--integration NAME)."

    def add_arguments(self, parser):
        parser.add_argument("--integration", metavar="NAME", help="Only this integration (even if disabled).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Write the parts that would be sent into --output; send nothing."
        )
        parser.add_argument("--output", metavar="DIR", help="Where --dry-run writes the parts.")
        parser.add_argument(
            "--sync-schedules", action="store_true", help="Only bring the django-q2 schedules in line and exit."
        )

    def handle(self, *args, **options):
        if options["sync_schedules"]:
            removed = sync_all_schedules()
            self.stdout.write(f"Schedules in line with the integrations ({removed} stale one(s) removed).")
            return
        if options["dry_run"] and not options["output"]:
            raise CommandError("--dry-run needs --output DIR.")
        if options["output"] and not options["dry_run"]:
            raise CommandError("--output goes with --dry-run.")
        integrations = self._integrations(options["integration"])
        failed = 0
        for integration in integrations:
            output = None
            if options["dry_run"]:
                output = Path(options["output"]) / _slug(integration.name)
            console = command_progress(self, integration.name, options["verbosity"])
            try:
                run = run_upload(integration, trigger=RunTrigger.COMMAND, dry_run_dir=output, progress=console)
            except OperationalError as error:
                if is_database_locked(error):
                    raise CommandError(locked_database_message(f"The upload of {integration.name}")) from None
                raise
            finally:
                if console is not None:
                    console.close()
            failed += run.status == RunStatus.FAILED
            self._report(run, output)
        if failed:
            raise CommandError(f"{failed} of {len(integrations)} run(s) did not upload.")

    def _integrations(self, name):
        if name:
            integration = RaptorMapsIntegration.objects.filter(name=name).first()
            if integration is None:
                known = ", ".join(RaptorMapsIntegration.objects.values_list("name", flat=True)) or "none"
                raise CommandError(f"No Raptor Maps integration named {name!r} (known: {known}).")
            return [integration]
        integrations = list(RaptorMapsIntegration.objects.filter(enabled=True))
        if not integrations:
            raise CommandError("No enabled Raptor Maps integration.")
        return integrations

    def _report(self, run, output):
        style = self.style.SUCCESS if run.status in (RunStatus.UPLOADED, RunStatus.NOTHING, RunStatus.DRY_RUN) else None
        line = (
            f"{run.integration.name}: run #{run.pk} {run.get_status_display()} — "
            f"{run.parts} part(s), {run.rows:,} rows, {run.bytes:,} bytes"
        )
        self.stdout.write(style(line) if style else line)
        if run.waiting:  # right under the status: it is not all sent
            self.stdout.write(self.style.WARNING(f"  Still waiting: {run.waiting}"))
        for log_line in run.log.splitlines():
            if log_line != run.waiting:
                self.stdout.write(f"  {log_line}")
        if run.error:
            self.stderr.write(f"  error: {run.error}")


def _slug(name):
    return "".join(char if char.isalnum() or char in "-_" else "-" for char in name).strip("-") or "integration"
