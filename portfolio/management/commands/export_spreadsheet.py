"""Write one resource (or, as "portfolio", every resource as a workbook) to CSV or XLSX."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portfolio.models import Portfolio
from portfolio.resources import RESOURCES
from portfolio.resources.files import csv_text, xlsx_bytes
from portfolio.resources.workbook import WORKBOOK, workbook_sheets

FORMATS = ("csv", "xlsx")


class Command(BaseCommand):
    help = "Export farms, meters, assets ... to a CSV or XLSX file that imports back unchanged (docs/spreadsheets.md)."

    def add_arguments(self, parser):
        parser.add_argument("resource", choices=[*RESOURCES, WORKBOOK], help="What to export.")
        parser.add_argument("--format", choices=FORMATS, help="csv or xlsx (default: from --output, else csv).")
        parser.add_argument("--output", "-o", default="-", help="File to write (default: standard output).")
        parser.add_argument("--portfolio", help="Only this portfolio's rows (its slug).")

    def handle(self, resource, format, output, portfolio, **options):
        file_format = format or (Path(output).suffix.lstrip(".").lower() if output != "-" else "") or "csv"
        if file_format not in FORMATS:
            raise CommandError(f"Cannot tell the format from {output!r}; give --format csv or --format xlsx.")
        if portfolio and not Portfolio.objects.filter(slug=portfolio).exists():
            raise CommandError(f"There is no portfolio with the slug {portfolio!r}.")
        if resource == WORKBOOK:
            if file_format != "xlsx":
                raise CommandError("The whole portfolio is a workbook of several sheets: use --format xlsx.")
            sheets = workbook_sheets(portfolio)
        else:
            sheets = [(resource, export_dataset(RESOURCES[resource](), portfolio))]
        data = xlsx_bytes(sheets) if file_format == "xlsx" else csv_text(sheets[0][1]).encode()
        if output == "-":
            if file_format == "xlsx" and sys.stdout.isatty():
                raise CommandError("An XLSX file is not for the terminal; give --output FILE.xlsx.")
            self.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            Path(output).write_bytes(data)
            rows = sum(len(dataset) for _title, dataset in sheets)
            self.stderr.write(f"Wrote {rows} rows to {output}.")


def export_dataset(resource, portfolio=None):
    queryset = resource.get_queryset()
    if portfolio:
        queryset = queryset.filter(**{resource.portfolio_path: portfolio})
    return resource.export(queryset=queryset)
