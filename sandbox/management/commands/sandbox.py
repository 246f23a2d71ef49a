"""Serve the local stand-in for the Raptor Maps API (docs/sandbox.md) until Ctrl-C."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from sandbox.server import serve


class Command(BaseCommand):
    help = "Serve the local Raptor Maps sandbox (tokens, org integrations, signed URLs, PUT) until Ctrl-C."
    requires_system_checks = []  # the sandbox uses no model and no database

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=Path(settings.BASE_DIR) / "var" / "sandbox",
            help="where received files are kept (default var/sandbox in the project)",
        )

    def handle(self, *args, host, port, data_dir, **options):
        serve(host, port, data_dir, announce=self._announce)

    def _announce(self, line):
        self.stdout.write(line)
        self.stdout.flush()
