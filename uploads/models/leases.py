"""Leases: at most one holder of a named job at a time, across workers and machines."""

from django.db import models

__all__ = ["Lease"]


class Lease(models.Model):
    """Held by ``owner`` until ``expires_at``; the holder renews it while it works.

    A conditional UPDATE takes it, which both SQLite and PostgreSQL do atomically, so two
    workers on two machines cannot both hold it. A holder that dies simply stops renewing.
    """

    name = models.CharField(max_length=200, unique=True)
    owner = models.CharField(max_length=200, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.name
