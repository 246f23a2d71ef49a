"""A whole portfolio as one XLSX workbook: a sheet per resource, imported in dependency order."""

from portfolio.console import Step
from portfolio.resources import RESOURCES
from portfolio.resources.files import read_xlsx
from portfolio.resources.importing import import_sheets
from portfolio.resources.problems import SpreadsheetError

__all__ = ["WORKBOOK", "export_sheets", "import_workbook", "workbook_sheets"]

WORKBOOK = "portfolio"


def workbook_sheets(portfolio=None, progress=None):
    """(sheet name, dataset) for every resource, optionally of one portfolio (its slug)."""
    return export_sheets(RESOURCES, portfolio, progress)


def export_sheets(names, portfolio=None, progress=None):
    """(sheet name, dataset) for the resources named, optionally of one portfolio (its slug).

    ``progress``: called with a ``portfolio.console.Step`` as each row is exported (the rows are
    counted first, for the total, only when someone watches).
    """
    chosen = []
    for name in names:
        resource = RESOURCES[name]()
        queryset = resource.get_queryset()
        if portfolio:
            queryset = queryset.filter(**{resource.portfolio_path: portfolio})
        chosen.append((name, resource, queryset))
    if progress is not None:
        total = sum(queryset.count() for _name, _resource, queryset in chosen)
        done = 0
        for name, resource, _queryset in chosen:

            def on_row(name=name):
                nonlocal done
                done += 1
                progress(Step("exporting rows", done, total, "rows", figures=(f"sheet {name}",)))

            resource.on_row = on_row
        progress(Step("exporting rows", 0, total, "rows"))
    return [(name, resource.export(queryset=queryset)) for name, resource, queryset in chosen]


def _sheets_of(data):
    if not data.startswith(b"PK"):
        raise SpreadsheetError.about_file(
            "A whole portfolio is imported from an XLSX workbook, one sheet per resource."
        )
    sheets = []
    for name, resource_class in RESOURCES.items():
        resource = resource_class()
        try:
            sheet = read_xlsx(data, sheet_name=name)
        except SpreadsheetError as exc:
            raise SpreadsheetError([problem.on_sheet(name) for problem in exc.problems]) from None
        if sheet is not None:
            sheets.append((resource, sheet))
    if not sheets:
        raise SpreadsheetError.about_file(f"The workbook has none of the sheets {', '.join(RESOURCES)}.")
    return sheets


def import_workbook(upload, *, source, user=None, dry_run=False, progress=None):
    """Import every sheet named like a resource (farms, sensors ...), in dependency order, all or none."""
    return import_sheets(WORKBOOK, upload, _sheets_of, source=source, user=user, dry_run=dry_run, progress=progress)
