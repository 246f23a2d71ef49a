"""``python -m sandbox [--host H] [--port P] [--data-dir DIR]``: the sandbox without Django."""

import argparse
import tempfile

from sandbox.faults import parse_fault_argument
from sandbox.server import serve


def main():
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--data-dir", help="where uploads and the state kept across restarts are (default: a temporary directory)"
    )
    parser.add_argument("--reset", action="store_true", help="start empty: forget what the data directory holds")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help="queue a fault at start (POST /_sandbox/faults' body)",
    )
    options = parser.parse_args()
    try:
        faults = [parse_fault_argument(text) for text in options.fault]
    except ValueError as exc:
        parser.error(str(exc))
    data_dir = options.data_dir or tempfile.mkdtemp(prefix="sandbox-")
    try:
        serve(
            options.host,
            options.port,
            data_dir,
            announce=lambda line: print(line, flush=True),
            reset=options.reset,
            faults=faults,
        )
    except ValueError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
