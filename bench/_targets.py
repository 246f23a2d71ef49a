"""How every benchmark states a target: the figure, the target and a pass or miss word.

Each line is printed as it is measured and, under `make bench`, also appended to the file
BENCH_TARGETS names, which the Makefile prints at the end: every target of every script in one list.
"""

import os
import sys
from pathlib import Path


def target(label, measured, limit, *, at_least=True, unit="", digits=2):
    """Print "label: measured (target >= limit): pass|miss" and return whether it passed."""
    passed = measured >= limit if at_least else measured <= limit
    sign = "≥" if at_least else "≤"
    word = "pass" if passed else "miss"
    line = f"{label}: {measured:,.{digits}f}{unit} (target {sign} {limit:,.{digits}f}{unit}): {word}"
    print(line, flush=True)
    summary = os.environ.get("BENCH_TARGETS")
    if summary:
        with open(summary, "a") as stream:
            stream.write(f"{Path(sys.argv[0]).name}\t{line}\n")
    return passed
