"""Faults no server can answer with, made on this machine: a refused connection, a connect that times out."""

import contextlib
import socket


def closed_port():
    """A loopback port nothing listens on: bound, then closed. A connect there is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def unanswered_port():
    """A loopback port where a connect times out: it listens with a backlog of 0 and never accepts.

    Once its one-place accept queue is full, the kernel drops further SYNs instead of answering,
    which is what a client sees from a host behind a firewall that drops packets.
    """
    listener = socket.socket()
    fillers = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):  # more than the queue holds; those left over stay in SYN_SENT
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
