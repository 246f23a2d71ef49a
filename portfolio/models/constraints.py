from django.db import models
from django.db.models import Q

__all__ = ["choices_constraint"]


def choices_constraint(field, choices, name):
    """A database check that ``field`` holds one of the values of a TextChoices class."""
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)
