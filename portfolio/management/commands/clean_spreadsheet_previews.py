"""Delete expired spreadsheet previews and their files (the worker also does it every hour)."""

from django.core.management.base import BaseCommand

from portfolio.resources.previews import clean_previews


class Command(BaseCommand):
    help = (
        "Delete spreadsheet previews older than SPREADSHEET_PREVIEW_TTL_SECONDS with their files, and files in "
        "the private previews directory that nothing refers to."
    )

    def handle(self, **options):
        expired, orphans = clean_previews()
        self.stdout.write(f"{expired} expired preview(s) and {orphans} unreferenced file(s) deleted.")
