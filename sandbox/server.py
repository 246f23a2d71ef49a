"""The sandbox's HTTP server: standard library only, HTTP/1.1 with keep-alive, one thread per connection.

``start_sandbox()`` runs it in a background thread (tests, benchmarks); ``serve()`` runs it until
Ctrl-C (the ``sandbox`` management command and ``python -m sandbox``). Neither needs
Django settings.
"""

import contextlib
import logging
import re
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sandbox.app import CONTROL_PREFIX, Sandbox
from sandbox.exchange import BadRequest, IncompleteBody, Request, broken_json, html_error_page, json_error
from sandbox.faults import parse_fault

log = logging.getLogger("sandbox")

IDLE_TIMEOUT = 120  # seconds a kept-alive connection may wait for its next request
SMALL_LEFTOVER = 64 * 1024  # an unread body this small is read and dropped, keeping the connection
LINGER_SECONDS = 30  # how long a refused body is read and dropped before the connection closes
READ_SIZE = 1 << 20
QUERY_STRING = re.compile(r"\?[^\s\"]*")
TRICKLE_BYTES = 16  # what a ``trickle`` fault sends at a time


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Sandbox/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and delayed ACKs
        # add 40 ms to every kept-alive exchange.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def parse_request(self):
        self.expects_continue = False
        self.continue_sent = False
        return super().parse_request()

    def handle_expect_100(self):
        # Answered later, once the request passed its checks: a refused client never sends the body.
        self.expects_continue = True
        return True

    def do_GET(self):
        self.server.dispatch(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # --- what dispatch uses ---------------------------------------------------------------------------

    def send_continue(self):
        if self.expects_continue and not self.continue_sent:
            self.continue_sent = True
            self.send_response_only(100)
            self.end_headers()

    def respond(self, response, close=False):
        """Send a response with its Content-Length; ``close`` ends the connection after it."""
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.body and response.content_type:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)

    def raw_answer(self, response, close=False):
        """The bytes ``respond`` would send (status line, headers, body), for faults that send them
        in their own way."""
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = ""
        lines = [f"{self.protocol_version} {response.status} {phrase}".rstrip()]
        lines += [f"Server: {self.version_string()}", f"Date: {self.date_time_string()}"]
        lines += [f"{name}: {value}" for name, value in response.headers.items()]
        if response.body and response.content_type:
            lines.append(f"Content-Type: {response.content_type}")
        lines.append(f"Content-Length: {len(response.body)}")
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body

    def linger(self):
        """Half-close, then read and drop what the client still sends, so that it gets to read the
        answer instead of a reset (RFC 9112, section 9.6)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(2)
            deadline = time.monotonic() + LINGER_SECONDS
            while time.monotonic() < deadline and self.rfile.read1(READ_SIZE):
                pass
        except OSError:
            pass

    def reset_connection(self):
        """Close with SO_LINGER 0: the kernel sends RST instead of FIN (a "connection reset by peer")."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()  # takes effect once rfile and wfile let go of the socket, right after

    def log_message(self, format, *args):
        # A signed URL's query string is a credential: never log it.
        log.debug("%s %s", self.address_string(), QUERY_STRING.sub("", format % args))


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog of 5 overflows when a test starts many uploads at once.
    request_queue_size = 128

    def __init__(self, address, sandbox):
        super().__init__(address, SandboxHandler)
        self.sandbox = sandbox
        self._connections = set()
        self._connections_lock = threading.Lock()

    # Open connections are tracked so that stop() can end kept-alive ones instead of leaving
    # their threads waiting for a next request.
    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self):
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address):
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    # --- one request ----------------------------------------------------------------------------------

    def dispatch(self, handler):
        started = time.monotonic()
        try:
            request = Request(
                handler.command,
                handler.path,
                handler.headers,
                handler.rfile,
                "{}:{}".format(*self.server_address[:2]),
                handler.send_continue,
            )
        except BadRequest as error:
            handler.respond(error.response, close=True)
            return
        if request.path.startswith(CONTROL_PREFIX):
            self._send_answer(handler, request, self._run(lambda: self.sandbox.control.handle(request)))
            return
        service, found, params = self.sandbox.match(request.method, request.path)
        if found is None:
            entry = self.sandbox.requests.start(
                None, None, request.method, request.path, user_agent=request.headers.get("User-Agent")
            )
            response = self._unrouted(request, allowed=params)
        else:
            request.params = params
            fault = self.sandbox.faults.take(service.name, found.operation)
            entry = self.sandbox.requests.start(
                service.name,
                found.operation,
                request.method,
                request.path,
                fault=fault and fault.mode,
                user_agent=request.headers.get("User-Agent"),
            )
            if fault is not None and fault.mode in ("timeout", "reset"):
                self._break_connection(handler, request, fault)
                self.sandbox.requests.finish(entry, None, time.monotonic() - started)
                log.info("%s %s -> %s fault, no answer", request.method, request.path, fault.mode)
                return
            response = self._answer(service, found, request, fault)
            if fault is not None and fault.mode == "reset_after":
                self._reset_after(handler, entry, response, time.monotonic() - started)
                log.info("%s %s -> %s, not sent: reset_after fault", request.method, request.path, response.status)
                return
            if fault is not None and fault.mode in ("reset_mid_response", "trickle"):
                send = self._cut_answer if fault.mode == "reset_mid_response" else self._trickle_answer
                send(handler, entry, response, fault, started)
                log.info("%s %s -> %s, %s fault", request.method, request.path, response.status, fault.mode)
                return
        # Logged before it is sent: whoever reads the log after getting the answer finds it there.
        self.sandbox.requests.finish(entry, response.status, time.monotonic() - started, note=response.note)
        if not self._send_answer(handler, request, response):
            note = "; ".join(filter(None, [response.note, "the client left before the answer"]))
            self.sandbox.requests.finish(entry, None, time.monotonic() - started, note=note)
        log.info("%s %s -> %s", request.method, request.path, response.status)

    def _unrouted(self, request, allowed):
        owner = self.sandbox.owner(request.path)
        if owner is not None:
            return owner.unrouted_response(405 if allowed else 404, allowed)
        if allowed:
            methods = ", ".join(allowed)
            return json_error(405, "method_not_allowed", f"use {methods}", {"Allow": methods})
        return json_error(404, "not_found", f"no such endpoint: {request.method} {request.path}")

    def _reset_after(self, handler, entry, response, duration):
        """Carry out a ``reset_after`` fault: the work is done, then the connection is reset unanswered."""
        note = f"the work was done (answer {response.status} not sent), then the connection was reset"
        self.sandbox.requests.finish(entry, None, duration, note="; ".join(filter(None, [response.note, note])))
        try:
            handler.reset_connection()
        except OSError:
            handler.close_connection = True

    def _answer(self, service, found, request, fault):
        """The response to a routed request, after a ``delay`` fault, instead of it for a ``status`` one.

        With a ``reset_after`` fault, the response is made (the work is done) but never sent."""
        if fault is not None and fault.mode == "delay":
            self.sandbox.faults.wait(fault.seconds)
        if fault is not None and fault.mode == "status":
            response = service.fault_response(found.operation, fault.status, "injected by the sandbox (fault)")
            if fault.retry_after is not None:
                response.headers["Retry-After"] = str(fault.retry_after)
            return response
        if fault is not None and fault.mode == "html":
            return html_error_page(fault.status)
        request.fault = fault
        response = self._run(lambda: found.handler(request))
        if fault is not None and fault.mode == "malformed_json":
            response = broken_json(response)
        return response

    def _cut_answer(self, handler, entry, response, fault, started):
        """Carry out a ``reset_mid_response`` fault: the work is done, the status line and headers go
        out with part of the body (part of the headers when there is no body), then a reset."""
        raw = handler.raw_answer(response)
        head = len(raw) - len(response.body)
        cut = head + len(response.body) // 2 if response.body else head // 2
        note = f"the work was done; answer {response.status} cut off after {cut} of {len(raw)} bytes, then reset"
        note = "; ".join(filter(None, [response.note, note]))
        self.sandbox.requests.finish(entry, None, time.monotonic() - started, note=note)
        try:
            handler.wfile.write(raw[:cut])
            handler.wfile.flush()
            handler.reset_connection()
        except OSError:
            handler.close_connection = True

    def _trickle_answer(self, handler, entry, response, fault, started):
        """Carry out a ``trickle`` fault: the whole answer, a few bytes at a time over ``seconds``."""
        raw = handler.raw_answer(response, close=True)
        pieces = [raw[at : at + TRICKLE_BYTES] for at in range(0, len(raw), TRICKLE_BYTES)]
        pause = fault.seconds / len(pieces)
        note = f"answered {TRICKLE_BYTES} bytes at a time over {fault.seconds:g} s"
        handler.close_connection = True
        for number, piece in enumerate(pieces, 1):
            try:
                handler.wfile.write(piece)
                handler.wfile.flush()
            except OSError:
                note += f"; the client left after {number - 1} of {len(pieces)} pieces"
                break
            if number < len(pieces) and self.sandbox.faults.wait(pause):
                note += "; stopped by a reset of the sandbox"
                break
        self.sandbox.requests.finish(
            entry, response.status, time.monotonic() - started, note="; ".join(filter(None, [response.note, note]))
        )

    @staticmethod
    def _run(handle):
        try:
            return handle()
        except BadRequest as error:
            return error.response
        except IncompleteBody as error:
            return json_error(400, "incomplete_body", str(error))
        except Exception:
            log.exception("the sandbox failed on a request")
            return json_error(500, "internal_error", "the sandbox failed on this request: see its log")

    @staticmethod
    def _send_answer(handler, request, response):
        """Send the response, dealing with any body the handler left unread; False if the client left."""
        close = False
        if request.body_remaining:
            if handler.expects_continue and not handler.continue_sent:
                close = True  # the client holds the body back until told to go ahead: it never will be
            elif request.body_remaining <= SMALL_LEFTOVER:
                try:
                    request.body_reader().read()
                except IncompleteBody:
                    close = True
            else:
                close = True
        try:
            handler.respond(response, close=close)
        except OSError:
            handler.close_connection = True
            return False
        if close:
            handler.linger()
        return True

    def _break_connection(self, handler, request, fault):
        """Carry out a ``timeout`` or ``reset`` fault: the request gets no answer."""
        try:
            handler.send_continue()
            if fault.mode == "timeout":
                request.body_reader().read()  # the whole request arrives; then nothing comes back
                self.sandbox.faults.wait(fault.seconds)
                handler.close_connection = True
            else:
                # Mid-body for a PUT: read part of it, then reset.
                part = min(request.body_remaining // 2, READ_SIZE)
                request.body_reader().read(part)
                handler.reset_connection()
        except (OSError, IncompleteBody):
            handler.close_connection = True


class RunningSandbox:
    """A sandbox serving in a background thread; ``stop()`` it, or use it as a context manager."""

    def __init__(self, server, thread, data_dir, temporary):
        self._server = server
        self._thread = thread
        self._temporary = temporary
        self._stopped = False
        self.data_dir = data_dir
        self.host, self.port = server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        self.sandbox = server.sandbox

    def wait(self):
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt here)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self.sandbox.close()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join()
        if self._temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def start_sandbox(host="127.0.0.1", port=0, data_dir=None, reset=False, faults=(), **config):
    """Serve the sandbox in a background thread; port 0 picks a free port (see ``.url``).

    ``data_dir`` holds the uploaded files and what the sandbox keeps across restarts (a temporary
    directory, removed at stop, when None); ``reset`` empties it first. ``faults`` are queued
    before the first request, as ``POST /_sandbox/faults`` bodies (the demo's one retried PUT);
    a reset forgets them like any fault. ``config`` is the start configuration, the one a reset
    returns to (see docs/sandbox.md).
    """
    temporary = data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-")) if temporary else Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    sandbox = None
    try:
        sandbox = Sandbox.create(data_dir, **config)
        if reset:
            sandbox.reset()
        for payload in faults:
            sandbox.faults.add(parse_fault(payload, sandbox.services))
        server = SandboxServer((host, port), sandbox)
    except BaseException:
        if sandbox is not None:
            sandbox.close()
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
        raise
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="sandbox", daemon=True)
    thread.start()
    return RunningSandbox(server, thread, data_dir, temporary)


def serve(host, port, data_dir, announce=print, reset=False, faults=(), **config):
    """Serve in the foreground until Ctrl-C or SIGTERM; ``announce`` prints the startup message."""
    running = start_sandbox(host, port, data_dir, reset=reset, faults=faults, **config)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main_thread else None
    try:
        announce(f"Sandbox serving on {running.url} (files in {running.data_dir}). Ctrl-C stops it.")
        kept = running.sandbox.kept()
        if kept:
            announce(f"  Kept from before: {kept}. POST {CONTROL_PREFIX}reset (or --reset) clears it.")
        for line in running.sandbox.describe(running.url):
            announce(f"  {line}")
        for fault in running.sandbox.faults.snapshot():
            announce(f"  Fault queued: the next {fault['service']} {fault['operation']} meets {_described(fault)}.")
        announce(f"  Control API: {running.url}{CONTROL_PREFIX}state, see docs/sandbox.md.")
        running.wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    announce("Sandbox stopped.")


def _described(fault):
    if fault["mode"] == "status":
        wait = f" with Retry-After: {fault['retry_after']}" if fault["retry_after"] is not None else ""
        return f"a {fault['status']} answer{wait}"
    return f"a {fault['mode']} fault"


def _interrupt(signum, frame):
    raise KeyboardInterrupt
