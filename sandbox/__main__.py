"""``python -m sandbox [--host H] [--port P] [--data-dir DIR]``: the sandbox without Django."""

import argparse
import tempfile

from sandbox.server import serve


def main():
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--data-dir", help="where uploads and the state kept across restarts are (default: a temporary directory)"
    )
    parser.add_argument("--reset", action="store_true", help="start empty: forget what the data directory holds")
    options = parser.parse_args()
    data_dir = options.data_dir or tempfile.mkdtemp(prefix="sandbox-")
    serve(options.host, options.port, data_dir, announce=lambda line: print(line, flush=True), reset=options.reset)


if __name__ == "__main__":
    main()
