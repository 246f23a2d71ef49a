"""Wording shared by validation messages."""


def with_article(noun):
    """'an inverter', 'a weather station': the indefinite article by the noun's first letter."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
