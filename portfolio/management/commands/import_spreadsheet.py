"""Import one spreadsheet file: the admin's rules and messages, on the command line."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portfolio.console import command_progress
from portfolio.models import ImportRecord
from portfolio.resources import RESOURCES
from portfolio.resources.importing import Upload, import_spreadsheet
from portfolio.resources.workbook import WORKBOOK, import_workbook


class Command(BaseCommand):
    help = (
        "Import a CSV or XLSX file of farms, meters, assets ... (docs/spreadsheets.md). A file with any invalid "
        "row imports nothing; the problems are listed by spreadsheet row (the header is row 1) and column."
    )

    def add_arguments(self, parser):
        parser.add_argument("resource", choices=[*RESOURCES, WORKBOOK], help="What the file holds.")
        parser.add_argument("file", help="The CSV or XLSX file.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and count the rows; save nothing.")
        parser.add_argument("--user", help="Username the import record names.")

    def handle(self, resource, file, dry_run, user, verbosity=1, **options):
        if user:
            try:
                user = get_user_model()._default_manager.get_by_natural_key(user)
            except get_user_model().DoesNotExist:
                raise CommandError(f"There is no user {user!r}.") from None
        try:
            upload = Upload.from_path(file)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        source = ImportRecord.Source.COMMAND
        console = command_progress(self, upload.name, verbosity)
        try:
            if resource == WORKBOOK:
                outcome = import_workbook(upload, source=source, user=user, dry_run=dry_run, progress=console)
            else:
                outcome = import_spreadsheet(
                    RESOURCES[resource](), upload, source=source, user=user, dry_run=dry_run, progress=console
                )
        finally:
            if console is not None:
                console.close()
        if not outcome.ok:
            raise CommandError(outcome.message + _listing(outcome))
        self.stdout.write(outcome.message + (" (dry run: nothing was saved)" if dry_run else ""))


def _listing(outcome, limit=100):
    """The problems, one a line, unless the message already says the only one."""
    problems = [str(problem) for problem in outcome.problems]
    if len(problems) == 1 and problems[0] in outcome.message:
        return ""
    listed = "".join(f"\n  {problem}" for problem in problems[:limit])
    more = len(problems) - limit
    return listed + (f"\n  ... and {more:,} more" if more > 0 else "")
