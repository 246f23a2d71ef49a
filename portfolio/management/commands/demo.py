"""Load the demo portfolio (and each app's demo data) and make sure a demo admin login exists (development only)."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import import_string

DEMO_USERNAME = "admin"


class Command(BaseCommand):
    help = "Load the demo portfolio and create the demo admin login. Refuses to run unless DEBUG is on."

    def add_arguments(self, parser):
        parser.add_argument("--no-login", action="store_true", help="Load the data only; create no admin login.")

    def handle(self, *args, no_login=False, **options):
        if not settings.DEBUG:
            raise CommandError("The demo is for development only: set DEBUG=1 to load it.")
        # Each app contributes its part (settings.DEMO_LOADERS); portfolio/ never imports uploads/.
        counts = {}
        with transaction.atomic():  # all of the demo or none of it (a loader may refuse, e.g. the outbound rules)
            for loader in settings.DEMO_LOADERS:
                counts.update(import_string(loader)())
        summary = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo portfolio loaded: {summary}."))
        if not no_login:
            self._announce_login()

    def _announce_login(self):
        password_file = Path(settings.DEMO_ADMIN_PASSWORD_FILE)
        user = get_user_model().objects.filter(username=DEMO_USERNAME).first()
        if user is None or not password_file.exists():
            password = secrets.token_urlsafe(12)
            user = user or get_user_model()(username=DEMO_USERNAME, email="admin@example.com")
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        self.stdout.write(
            f"Demo admin login (development only): username {DEMO_USERNAME!r}, password {password!r} "
            f"(kept in {password_file})."
        )
