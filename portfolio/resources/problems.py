"""What is wrong with a spreadsheet, and where: the row as a person sees it in Excel, and the column."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file.

    ``row`` is the spreadsheet row number (the header is row 1), None for the file as a whole.
    """

    row: int | None
    column: str | None
    message: str
    sheet: str | None = None  # in a workbook of several sheets

    def __str__(self):
        row = self.row and f"row {self.row}"
        where = ", ".join(part for part in (self.sheet and f"sheet {self.sheet}", row, self.column) if part)
        return f"{where}: {self.message}" if where else self.message

    def on_sheet(self, sheet):
        return Problem(self.row, self.column, self.message, sheet)

    def as_dict(self):
        """The shape ImportRecord.problems keeps (it calls the row a line)."""
        problem = {"line": self.row, "column": self.column, "message": self.message}
        return {**problem, "sheet": self.sheet} if self.sheet else problem


class SpreadsheetError(Exception):
    """The file cannot be imported as it is; nothing was committed."""

    def __init__(self, problems):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @classmethod
    def about_file(cls, message):
        return cls(Problem(None, None, message))
