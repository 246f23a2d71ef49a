import pytest
from django.core.exceptions import ValidationError

# Shared fixtures that live in their own modules.
pytest_plugins = ["tests.fixtures.cluster", "tests.fixtures.queue", "tests.fixtures.sandbox"]


@pytest.fixture
def validation_messages():
    """Run full_clean() on an object and return {field: [messages]} ({} when valid)."""

    def messages(obj, **kwargs):
        try:
            obj.full_clean(**kwargs)
        except ValidationError as exc:
            return exc.message_dict
        return {}

    return messages
