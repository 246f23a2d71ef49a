"""The fault table: each case of test_fault_table.py adds its row; the table is printed at the end of
the session (in `make test`'s output, no -s needed) and written to $FAULT_TABLE_OUT when set."""

import os
from pathlib import Path

import pytest

COLUMNS = ("service", "fault", "outcome", "attempts", "data checked")
ROWS = {}  # test id -> row; printed in the order the cases are defined


class FaultTable:
    def __init__(self, node):
        self._node = node

    def add(self, service, fault, outcome, attempts, checked):
        ROWS[self._node.nodeid] = (service, fault, outcome, str(attempts), checked)


@pytest.fixture
def fault_table(request):
    return FaultTable(request.node)


def render(rows):
    """The rows as a Markdown table, columns padded to line up in a terminal too."""
    rows = [COLUMNS, *rows]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]

    def line(cells):
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(rows[0]), "|" + "|".join("-" * (width + 2) for width in widths) + "|", *map(line, rows[1:])])


def pytest_terminal_summary(terminalreporter):
    if not ROWS:
        return
    table = render(list(ROWS.values()))
    terminalreporter.section("fault table")
    terminalreporter.write_line(table)
    out = os.environ.get("FAULT_TABLE_OUT")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(table + "\n", encoding="utf-8")
        terminalreporter.write_line(f"(written to {out})")
