__all__ = ["related_or_none"]


def related_or_none(instance, name):
    """The object behind a foreign key, also when it is set but not saved yet (inline forms); else None."""
    field = instance._meta.get_field(name)
    if getattr(instance, field.attname) is None and name not in instance._state.fields_cache:
        return None
    return getattr(instance, name)
