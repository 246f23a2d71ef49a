"""``(a, b) > (c, d)``: "after this watermark" as one row comparison, which an index on (..., a, b) answers.

Written out as ``a > c OR (a = c AND b > d)`` the databases read every row of the leading key
and filter; as a row value both PostgreSQL and SQLite (3.15+) seek straight to the first row
after the watermark. Django 5.2 has tuple lookups only in a private module, hence this.
"""

from django.db.models import BooleanField, Expression

__all__ = ["RowAfter"]


class RowAfter(Expression):
    """True where the row ``(*left)`` sorts after ``(*right)``; each side is expressions of equal length."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, left, right):
        if len(left) != len(right):
            raise ValueError("compare rows of the same length")
        super().__init__()
        self.left, self.right = list(left), list(right)

    def get_source_expressions(self):
        return [*self.left, *self.right]

    def set_source_expressions(self, expressions):
        half = len(expressions) // 2
        self.left, self.right = list(expressions[:half]), list(expressions[half:])

    def as_sql(self, compiler, connection):
        sides, params = [], []
        for side in (self.left, self.right):
            parts = []
            for expression in side:
                sql, expression_params = compiler.compile(expression)
                parts.append(sql)
                params.extend(expression_params)
            sides.append(f"({', '.join(parts)})")
        return f"{sides[0]} > {sides[1]}", params
