"""Time buckets in SQL, the same on PostgreSQL and SQLite: integer arithmetic on epoch seconds.

Grouping by ``(epoch - phase) / size`` reads the range once through the (sensor, observed_at)
index and returns one row per bucket; nothing per reading leaves the database.
"""

from django.db import connection

__all__ = ["bucket_sql", "db_moment", "epoch_sql", "quoted_table"]


def epoch_sql(column):
    """Whole seconds since 1970 (UTC) of a datetime column."""
    if connection.vendor == "postgresql":
        # date_part is double precision, cheaper than extract's numeric; exact to the microsecond here.
        return f"floor(date_part('epoch', {column}))::bigint"
    if connection.vendor == "sqlite":
        # '%%' is the one '%' the driver sees: the statement always goes with parameters.
        return f"CAST(strftime('%%s', {column}) AS INTEGER)"
    raise NotImplementedError(f"the charts support PostgreSQL and SQLite, not {connection.vendor}")


def bucket_sql(column, seconds, phase=0):
    """The epoch second a reading's bucket starts at: buckets of ``seconds``, shifted by ``phase`` seconds."""
    seconds, phase = int(seconds), int(phase)  # written into the statement: integers only
    return f"((({epoch_sql(column)} - {phase}) / {seconds}) * {seconds} + {phase})"


def db_moment(moment):
    """An aware datetime as the database compares it (SQLite keeps UTC text)."""
    return connection.ops.adapt_datetimefield_value(moment)


def quoted_table(model):
    return connection.ops.quote_name(model._meta.db_table)
