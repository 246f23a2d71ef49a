"""Tiny HTTP servers on 127.0.0.1 for the outbound tests, and a record of every connection made.

``ScriptedServer`` answers each request with the next scripted reply. ``TrickleServer`` sends an
answer one byte at a time (a server that would hold a worker for hours); ``FloodServer`` sends
an endless body. ``Connections`` records, through Python's audit hooks, every address a socket
of this process connects to, so a test can show that a refused call never left the machine.
"""

import socket
import sys
import threading


class ScriptedServer:
    """Answers each request with the next scripted reply; keeps the raw bytes it received.

    A reply is (status, headers, body) or "reset" (close the connection without answering).
    """

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.replies:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                raw = self._read_request(conn)
                self.requests.append(raw)
                reply = self.replies.pop(0)
                if reply == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    continue
                status, headers, body = reply
                head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
                head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
                conn.sendall(head.encode() + b"\r\n" + body.encode())

    @staticmethod
    def _read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        while len(body) < length:
            body += conn.recv(65536)
        return head.decode(), body

    def close(self):
        self.sock.close()


class TrickleServer:
    """Sends ``answer`` (bytes) one byte every ``interval`` seconds to every connection, until closed."""

    def __init__(self, answer, interval=0.05):
        self.answer = answer
        self.interval = interval
        self.stopped = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn):
        with conn:
            try:
                conn.recv(65536)
                for index in range(len(self.answer)):
                    if self.stopped.wait(self.interval):
                        return
                    conn.sendall(self.answer[index : index + 1])
            except OSError:
                return  # the client gave up and closed: what the test wants

    def close(self):
        self.stopped.set()
        self.sock.close()


class FloodServer:
    """Answers 200 with ``head`` (extra header lines) and then zeros without end, until the client closes."""

    def __init__(self, head=""):
        self.head = head
        self.sent = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(f"HTTP/1.1 200 OK\r\n{self.head}Connection: close\r\n\r\n".encode())
                block = b"0" * 65536
                while True:
                    conn.sendall(block)
                    self.sent += len(block)
            except OSError:
                return

    def close(self):
        self.sock.close()


class Connections:
    """Every address a socket of this process connected to while recording (``with connections:``)."""

    _active = []

    def __init__(self):
        self.addresses = []

    def __enter__(self):
        Connections._active.append(self)
        return self

    def __exit__(self, *exc_info):
        Connections._active.remove(self)

    @property
    def hosts(self):
        return [address[0] for address in self.addresses if isinstance(address, tuple)]


def _audit(event, args):
    if event == "socket.connect" and Connections._active:
        for recorder in list(Connections._active):
            recorder.addresses.append(args[1])


sys.addaudithook(_audit)
