"""The one error type of the readings import: what is wrong, and where in the file."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: its line (1 = the header), the column, and why, in words."""

    line: int | None
    column: str | None
    message: str

    def __str__(self):
        where = ", ".join(part for part in (self.line and f"line {self.line}", self.column) if part)
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self):
        return {"line": self.line, "column": self.column, "message": self.message}


class ReadingsFileError(Exception):
    """The file cannot be imported; nothing was committed.

    ``problems`` lists what is wrong (the first ones, up to a limit); ``problem_count``
    counts all of them.
    """

    def __init__(self, problems, problem_count=None, *, rows_read=0):
        self.problems = list(problems)
        self.problem_count = problem_count if problem_count is not None else len(self.problems)
        self.rows_read = rows_read
        super().__init__(self.summary())

    def summary(self):
        if self.problem_count == 1:
            return str(self.problems[0])
        shown = "\n".join(f"  {problem}" for problem in self.problems)
        more = self.problem_count - len(self.problems)
        tail = f"\n  ... and {more} more" if more > 0 else ""
        return f"{self.problem_count} problems; nothing was imported:\n{shown}{tail}"


class InvalidRow(ReadingsFileError):
    """Raised by the row parsers for one bad row; the importer collects these."""

    def __init__(self, message, column=None, line=None):
        super().__init__([Problem(line, column, message)])

    @property
    def problem(self):
        return self.problems[0]
