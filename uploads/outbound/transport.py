"""The wire under uploads/outbound/http.py: guarded connections, a total deadline, a bounded answer.

- **Guarded connections.** :func:`guarded_session` is a requests session whose connections
  resolve the host themselves, check every address with the outbound rules
  (uploads/outbound/netguard.py) and connect to a checked address, never to a second lookup's answer:
  DNS rebinding gains nothing. TLS still names the host (SNI and certificate check), and the
  Host header is the URL's. Proxies and ``.netrc`` from the environment are ignored (a proxy
  would hide the real target), and redirects are never followed.
- **A total deadline.** An :class:`Exchange` bounds one request and its whole answer: connecting,
  sending, the headers and the body. Per-read timeouts do not stop a server that trickles a
  byte a second; when the deadline passes, a timer shuts the connection's socket down, which
  wakes whatever read or write is blocked on it.
- **A bounded answer.** :func:`read_body` reads the answer in chunks and stops at a cap, so an
  answer of a gigabyte is refused after the cap, not held in memory.
"""

import contextlib
import contextvars
import socket
import sys
import threading
import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from uploads.outbound.netguard import OutboundGuard, OutboundRefused

__all__ = ["DeadlineExceeded", "Exchange", "GuardedSession", "ResponseTooLarge", "guarded_session", "read_body"]

# Answers are read in blocks this big: the cap is checked between them.
READ_CHUNK_BYTES = 64 * 1024

_current_exchange = contextvars.ContextVar("outbound_exchange", default=None)


class DeadlineExceeded(Exception):
    """The request and its answer took longer than the total deadline."""


class ResponseTooLarge(Exception):
    """The answer is larger than the cap; it was not read to the end."""


class Exchange:
    """One request and its answer under a total deadline of ``seconds``, as a context manager.

    Connections used inside it register with it (``watch``); when the deadline passes, their
    sockets are shut down and ``expired`` is set, so the blocked call fails at once.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._watched = []
        self._timer = None
        self._token = None

    def __enter__(self):
        self._token = _current_exchange.set(self)
        self._timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()
        _current_exchange.reset(self._token)
        with self._lock:
            self._watched.clear()

    def remaining(self):
        return max(0.0, self.deadline - time.monotonic())

    def watch(self, connection, raw_socket=None):
        """Shut ``connection``'s socket down when the deadline passes (at once if it has)."""
        with self._lock:
            if self.expired:
                _shut(connection, raw_socket)
            else:
                self._watched.append((connection, raw_socket))

    def _expire(self):
        with self._lock:
            self.expired = True
            for connection, raw_socket in self._watched:
                _shut(connection, raw_socket)


def _shut(connection, raw_socket):
    # The plain socket's shutdown, even on a TLS socket: it wakes a blocked read without TLS's
    # own close handshake (which would block in its turn).
    sock = getattr(connection, "sock", None) or raw_socket
    if sock is None:
        return
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _GuardedConnection:
    """Mixed into urllib3's connections: connect only to addresses the guard has checked."""

    guard: OutboundGuard = None

    def _new_conn(self):
        exchange = _current_exchange.get()
        try:
            addresses = self.guard.addresses(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        timeout = _seconds(self.timeout)
        error = None
        for address in addresses:
            sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                if exchange is not None:
                    left = exchange.remaining()
                    sock.settimeout(left if timeout is None else min(timeout, left))
                    exchange.watch(self, sock)
                else:
                    sock.settimeout(timeout)
                sock.connect((address, self.port))
            except TimeoutError as exc:
                sock.close()
                error = ConnectTimeoutError(self, f"Connection to {self.host} timed out. (connect timeout={timeout})")
                error.__cause__ = exc
                continue
            except OSError as exc:
                sock.close()
                error = NewConnectionError(self, f"Failed to establish a new connection: {exc}")
                continue
            sock.settimeout(timeout)
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        raise error or NewConnectionError(self, f"Failed to establish a new connection: {self.host} has no address")

    def request(self, *args, **kwargs):
        # A connection kept alive from an earlier request is watched by this request's deadline,
        # by its socket too: an answer saying Connection: close makes the connection drop its
        # ``sock`` once the head is read, while the body still comes through that socket.
        exchange = _current_exchange.get()
        if exchange is not None and self.sock is not None:
            exchange.watch(self, self.sock)
        return super().request(*args, **kwargs)


def _seconds(timeout):
    return timeout if isinstance(timeout, int | float) else None


def _pool_classes(guard):
    """urllib3 pool classes whose connections check addresses with ``guard``."""
    plain = type("GuardedHTTPConnection", (_GuardedConnection, HTTPConnection), {"guard": guard})
    tls = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), {"guard": guard})
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": tls}),
    }


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections go only where ``guard`` allows, never through a proxy."""

    def __init__(self, guard, **kwargs):
        self.guard = guard
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.guard)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise OutboundRefused("outbound calls do not go through a proxy.")


class GuardedSession(requests.Session):
    """A session that sees no redirect at all: a 3xx is an answer like any other, its body read by ``read_body``.

    (With ``allow_redirects=False`` requests still prepares the next hop and reads the 3xx's
    whole body to do so, before any cap applies.)
    """

    def get_redirect_target(self, resp):
        return None


def guarded_session(guard=None):
    """A requests session for outbound calls: guarded connections, no proxies or .netrc, no redirects."""
    guard = guard or OutboundGuard.from_settings()
    session = GuardedSession()
    session.trust_env = False  # no proxy variables, no .netrc credentials
    adapter = GuardedAdapter(guard)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def read_body(response, limit):
    """Read ``response`` (sent with ``stream=True``) in chunks, refusing it past ``limit`` bytes.

    The body is then available as usual (``.content``, ``.text``, ``.json()``). A declared
    Content-Length over the cap is refused before reading; the count is of decoded bytes, so
    a compressed answer cannot expand past the cap either.
    """
    declared = (response.headers.get("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise ResponseTooLarge(f"the answer is {int(declared):,} bytes (Content-Length)")
    chunks, total = [], 0
    for chunk in response.iter_content(READ_CHUNK_BYTES):
        total += len(chunk)
        if total > limit:
            response.close()
            raise ResponseTooLarge(f"the answer went past {limit:,} bytes")
        chunks.append(chunk)
    # requests keeps a read body here; .text and .json() read it from there.
    response._content = b"".join(chunks)
    response._content_consumed = True
    return response
