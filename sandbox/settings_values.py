"""Checks of the settings the control API takes, shared by the stand-in services (docs/sandbox.md)."""

__all__ = ["flag", "whole"]


def whole(name, minimum, maximum=None):
    """A parser of a whole-number setting from ``minimum`` (to ``maximum``)."""

    def parse(value):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be a whole number >= {minimum}")
        if maximum is not None and value > maximum:
            raise ValueError(f"{name} must be at most {maximum}")
        return value

    return parse


def flag(name):
    """A parser of a true/false setting."""

    def parse(value):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value

    return parse
