"""Write one resource (or, as "portfolio", every resource as a workbook) to CSV or XLSX."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portfolio.console import Step, command_progress, size
from portfolio.models import Portfolio
from portfolio.resources import RESOURCES
from portfolio.resources.files import csv_text, xlsx_bytes
from portfolio.resources.workbook import WORKBOOK, export_sheets

FORMATS = ("csv", "xlsx")


class Command(BaseCommand):
    help = "Export farms, meters, assets ... to a CSV or XLSX file that imports back unchanged (docs/spreadsheets.md)."

    def add_arguments(self, parser):
        parser.add_argument("resource", choices=[*RESOURCES, WORKBOOK], help="What to export.")
        parser.add_argument("--format", choices=FORMATS, help="csv or xlsx (default: from --output, else csv).")
        parser.add_argument("--output", "-o", default="-", help="File to write (default: standard output).")
        parser.add_argument("--portfolio", help="Only this portfolio's rows (its slug).")

    def handle(self, resource, format, output, portfolio, verbosity=1, **options):
        file_format = format or (Path(output).suffix.lstrip(".").lower() if output != "-" else "") or "csv"
        if file_format not in FORMATS:
            raise CommandError(f"Cannot tell the format from {output!r}; give --format csv or --format xlsx.")
        if portfolio and not Portfolio.objects.filter(slug=portfolio).exists():
            raise CommandError(f"There is no portfolio with the slug {portfolio!r}.")
        if resource == WORKBOOK and file_format != "xlsx":
            raise CommandError("The whole portfolio is a workbook of several sheets: use --format xlsx.")
        names = list(RESOURCES) if resource == WORKBOOK else [resource]
        console = command_progress(self, Path(output).name if output != "-" else resource, verbosity)
        try:
            sheets = export_sheets(names, portfolio, progress=console)
            rows = sum(len(dataset) for _title, dataset in sheets)
            if console is not None:
                console(Step(f"writing the {file_format.upper()} file", figures=(f"{rows:,} rows",)))
            data = xlsx_bytes(sheets) if file_format == "xlsx" else csv_text(sheets[0][1]).encode()
            if console is not None:
                console(Step("done", figures=(f"{rows:,} rows", size(len(data)))))
        finally:
            if console is not None:
                console.close()
        if output == "-":
            if file_format == "xlsx" and sys.stdout.isatty():
                raise CommandError("An XLSX file is not for the terminal; give --output FILE.xlsx.")
            self.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            Path(output).write_bytes(data)
            self.stderr.write(f"Wrote {rows} rows to {output}.")
