"""Computed changelist columns as subqueries: one query per page, whatever the page size."""

from django.contrib import admin
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from portfolio.models import Observation, Sensor


def count_of(queryset, outer_field):
    """How many rows of ``queryset`` point at the outer row through ``outer_field``."""
    counted = (
        queryset.filter(**{outer_field: OuterRef("pk")})
        .order_by()
        .values(outer_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def sensor_last_observation(sensor_ref="pk"):
    """The newest observed_at of one sensor: a single probe of the (sensor, observed_at) index."""
    newest = Observation.objects.filter(sensor=OuterRef(sensor_ref)).order_by("-observed_at").values("observed_at")
    return Subquery(newest[:1])


def last_observation_of_sensors(**sensor_filter):
    """The newest observed_at among some sensors, as the max of per-sensor index probes.

    Asking for "newest observation of these sensors" directly would make the database
    read every observation of them; per-sensor probes stay cheap at any table size.
    """
    sensors = (
        Sensor.objects.filter(**{key: OuterRef(value) for key, value in sensor_filter.items()})
        .order_by()
        .annotate(last=sensor_last_observation())
        .order_by(F("last").desc(nulls_last=True))
        .values("last")
    )
    return Subquery(sensors[:1])


def annotated_column(name, description):
    """A changelist column showing the annotation ``name`` of the admin's queryset, sortable by it."""

    @admin.display(description=description, ordering=name)
    def column(model_admin, obj):
        return getattr(obj, name)

    column.__name__ = name
    return column
