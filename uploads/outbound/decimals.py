"""Numbers as both services' CSV files write them: plain decimals that read back as the same float."""

import math
from decimal import Decimal

__all__ = ["plain_decimal"]


def plain_decimal(value):
    """A float as the CSV writes it: the shortest decimal that reads back as the same float, always
    with a decimal point and never in exponent notation (1e-05 -> ``0.00001``, 1e20 ->
    ``100000000000000000000.0``, 0.1 + 0.2 -> ``0.30000000000000004``). Zero is ``0.0``, whatever its
    sign. This is ``repr`` written out, with one difference: for a few integers above 2**54 ``repr``
    picks a decimal exactly halfway to the next float (it reads back only under round-half-even);
    PostgreSQL's output, and so this, then takes the shortest decimal strictly nearer.
    """
    if value == 0:
        return "0.0"
    digits = _shortest_digits(abs(value))
    if "e" in digits:
        digits = format(Decimal(digits), "f")
    if "." not in digits:
        digits += ".0"
    return "-" + digits if value < 0 else digits


def _shortest_digits(value):
    """Shortest round-trip digits of a positive float, never a halfway point (PostgreSQL's rule)."""
    text = repr(value)
    if value < 2.0**53:
        return text  # halfway points between smaller floats need more than 17 digits
    exact, ulp = int(value), int(math.ulp(value))
    gap_below = ulp // 2 if exact & (exact - 1) == 0 else ulp  # floats are twice as dense below 2**k
    low, high = 2 * exact - gap_below, 2 * exact + ulp  # the halfway points, doubled to stay integral
    if 2 * int(Decimal(text)) not in (low, high):
        return text
    width = len(str(exact))
    for length in range(1, 18):
        scale = 10 ** (width - length)
        candidate, rest = divmod(exact, scale)
        if 2 * rest > scale or (2 * rest == scale and candidate % 2):
            candidate += 1
        if low < 2 * candidate * scale < high:
            return str(candidate * scale)
    raise AssertionError(f"no decimal of at most 17 digits for {value!r}")  # 17 digits always suffice
