"""Serve the local stand-in for Raptor Maps and WattCarbon (docs/sandbox.md) until Ctrl-C.

What clients created (uploads, meters, assets) is kept in the data directory across restarts;
``--reset`` starts empty.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox.faults import parse_fault_argument
from sandbox.server import serve


class Command(BaseCommand):
    help = "Serve the local Raptor Maps and WattCarbon sandbox until Ctrl-C; it keeps its state across restarts."
    requires_system_checks = []  # the sandbox uses no model and no database

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=Path(settings.BASE_DIR) / "var" / "sandbox",
            help="where received files and the state kept across restarts are (default var/sandbox in the project)",
        )
        parser.add_argument(
            "--reset", action="store_true", help="start empty: forget the uploads, meters and assets kept from before"
        )

        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="JSON",
            help="queue a fault at start, as POST /_sandbox/faults takes it; repeatable "
            '(make run: \'{"service": "raptormaps", "operation": "put", "status": 503, "retry_after": 2}\')',
        )

    def handle(self, *args, host, port, data_dir, reset, fault, **options):
        try:
            faults = [parse_fault_argument(text) for text in fault]
            serve(host, port, data_dir, announce=self._announce, reset=reset, faults=faults)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    def _announce(self, line):
        self.stdout.write(line)
        self.stdout.flush()
