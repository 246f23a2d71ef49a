"""One way to call the outside world: timeouts, retries, re-authentication, every attempt recorded.

Both services' clients (Raptor Maps, WattCarbon) make every request through
:meth:`Client.call`. It

- goes only where the outbound rules allow (https, no user:password@, no internal address;
  uploads/outbound/netguard.py), over connections that check the address they connect to, and follows
  no redirect (a 3xx is an error naming where it pointed; uploads/outbound/transport.py);
- sends with connect and read timeouts and a total deadline for the request and its whole
  answer, streaming a file body from disk with a Content-Length;
- reads the answer in chunks up to a size cap (``OUTBOUND_MAX_RESPONSE_BYTES``);
- retries what may succeed later (connection errors, timeouts, 429 honouring Retry-After,
  502/503/504, and a plain 500 a few times) with exponential backoff and jitter, up to a limit,
  and never a 4xx that says the request itself is wrong;
- renews the token once on a 401, and a signed URL when the storage says it expired;
- refuses to repeat a request that creates something when its outcome is unknown (a 500, 502 or
  504, a reset, a timeout: the caller looks the object up instead, :class:`OutcomeUnknown`), but
  repeats it after a 429 or a 503, which say the request was not carried out;
- records one :class:`~uploads.models.Attempt` per request, with the URL and the response
  excerpt redacted (uploads/outbound/redaction.py); an XML error answer is read with defusedxml
  (uploads/outbound/xmlerrors.py) into one readable line.
"""

import email.utils
import logging
import math
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from urllib3.util import SKIP_HEADER

from uploads.models import Attempt, AttemptOutcome
from uploads.models.outbound import DEFAULT_USER_AGENT
from uploads.outbound.answers import error_sentence, html_summary, is_html, not_json, parses_as_json
from uploads.outbound.netguard import OutboundGuard, OutboundRefused
from uploads.outbound.redaction import redact_text, redact_url
from uploads.outbound.transport import (
    DeadlineExceeded,
    Exchange,
    GuardedAdapter,
    ResponseTooLarge,
    guarded_session,
    read_body,
)
from uploads.outbound.xmlerrors import looks_like_xml
from uploads.runs.taskcontext import current_task_id

__all__ = [
    "INTERACTIVE_DEADLINE",
    "INTERACTIVE_POLICY",
    "INTERACTIVE_TIMEOUT",
    "CallFailed",
    "Client",
    "MultipartBody",
    "OutcomeUnknown",
    "RetryPolicy",
    "ServiceError",
    "failure_reason",
]

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 500
# Statuses worth another try; a plain 500 is retried only a few times (it is often a bug).
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Answers after which a request that creates something may or may not have been carried out: the
# server failed while working (500), or a gateway lost or gave up on its answer (502, 504).
# A 429 or a 503 refuses the request before any work ("unable to handle the request", RFC 9110
# 15.6.4; a rate limit): a create is sent again like any call (docs/contracts.md section 3).
SERVER_FAILURES = frozenset({500, 502, 504})
# How many times one call renews a signed URL that the storage refused as expired.
MAX_URL_RENEWALS = 2
# Bodies stream from disk in blocks this big: few system calls, flat memory.
BODY_BLOCK_BYTES = 1024 * 1024
# Default headers requests and urllib3 would add; a signed URL's PUT sends only what the signature
# allows (urllib3 adds a User-Agent of its own unless told to skip it).
_BARE_HEADERS = {"User-Agent": SKIP_HEADER, "Accept-Encoding": SKIP_HEADER, "Accept": None, "Connection": None}


class ServiceError(Exception):
    """A call to an outside service did not succeed. The message is redacted and readable.

    ``reason`` is the message without anything the service sent (its body): what a stored
    summary may keep (Test connection).
    """

    def __init__(self, message, *, operation="", status_code=None, body="", reason=None):
        super().__init__(message)
        self.operation = operation
        self.status_code = status_code
        self.body = body
        self.reason = message if reason is None else reason


def failure_reason(exc):
    """One line saying why a call failed, without anything the service sent (for stored summaries)."""
    reason = getattr(exc, "reason", None) or str(exc)
    return reason.splitlines()[0] if reason else type(exc).__name__


class CallFailed(ServiceError):
    """The service refused the request, or every retry failed."""


class OutcomeUnknown(ServiceError):
    """A request that creates something got no answer: it may or may not have been done.

    ``retry_after`` is the wait in seconds the service asked for (its Retry-After), or None.
    """

    def __init__(self, message, *, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 60.0
    max_retry_after: float = 300.0
    max_500_retries: int = 2

    @classmethod
    def from_settings(cls):
        return cls(
            max_attempts=settings.UPLOADS_RETRY_MAX_ATTEMPTS,
            base_delay=settings.UPLOADS_RETRY_BASE_SECONDS,
            max_delay=settings.UPLOADS_RETRY_MAX_SECONDS,
            max_retry_after=settings.UPLOADS_RETRY_AFTER_MAX_SECONDS,
        )

    def backoff(self, retry_number):
        """Seconds before retry ``retry_number`` (1-based): exponential, with jitter over its upper half."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


# Someone is waiting at the page (Test connection): one quick retry, short timeouts, no long Retry-After.
INTERACTIVE_POLICY = RetryPolicy(max_attempts=2, base_delay=1.0, max_delay=2.0, max_retry_after=5.0)
INTERACTIVE_TIMEOUT = (5.0, 20.0)
INTERACTIVE_DEADLINE = 30.0


def retry_after_seconds(response, now=None):
    """The Retry-After header in seconds (delta or HTTP date), or None."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class FileBody:
    """A file sent as a request body: read from disk in big blocks, with a known length.

    ``len()`` gives requests the Content-Length (never chunked transfer encoding, which
    signed storage URLs refuse); ``progress`` is told how much went out.
    """

    def __init__(self, path, progress=None):
        self._file = open(path, "rb")  # noqa: SIM115 - closed by the caller after the request
        self._length = os.fstat(self._file.fileno()).st_size
        self._progress = progress
        self.sent = 0

    def __len__(self):
        return self._length

    def read(self, size=-1):
        block = self._file.read(BODY_BLOCK_BYTES)
        self.sent += len(block)
        if self._progress and block:
            self._progress(self.sent)
        return block

    def close(self):
        self._file.close()


class MultipartBody:
    """A multipart/form-data body of one file part whose bytes are already in memory, in blocks.

    The blocks are sent as they are, between the part's head and the closing boundary: no copy
    of the file is made to build the body, and ``len()`` gives requests the Content-Length.
    ``open()`` gives a fresh reader for each attempt, so a retry sends the same body again.
    """

    def __init__(self, field_name, filename, content_type, blocks):
        boundary = uuid.uuid4().hex
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self._blocks = [head, *blocks, f"\r\n--{boundary}--\r\n".encode()]
        self._length = sum(len(block) for block in self._blocks)

    def __len__(self):
        return self._length

    def open(self):
        return _BlocksReader(self._blocks, self._length)


class _BlocksReader:
    """One pass over a MultipartBody's blocks, as the file-like object requests streams from."""

    def __init__(self, blocks, length):
        self._blocks = iter(blocks)
        self._length = length

    def __len__(self):
        return self._length

    def read(self, size=-1):
        return next(self._blocks, b"")


class SharedBackOff:
    """When to send again, shared by every thread of a client: a 429 holds them all back, not only
    the call that met it, so that a pool of uploads backs off together instead of each one in turn."""

    def __init__(self):
        self._lock = threading.Lock()
        self._until = 0.0  # time.monotonic() before which no request goes out

    def hold(self, seconds):
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def remaining(self):
        with self._lock:
            return max(0.0, self._until - time.monotonic())


@dataclass
class _Call:
    """The state of one logical call across its attempts."""

    operation: str
    number: int = 0
    retries_500: int = 0
    token_renewed: bool = False
    url_renewals: int = 0
    subject: object = None
    secrets: list = field(default_factory=list)


class Client:
    """Calls one outside service and records every attempt.

    ``run`` and ``subject`` say what the calls are for (an upload run; an integration, meter
    or asset); ``task_id`` the django-q2 task. ``secrets`` returns the values that must never
    be recorded (tokens, keys), in addition to the patterns redaction knows. ``heartbeat`` is
    called while the client works or waits, so a lease holder can show it is alive.
    ``guard`` holds the outbound rules (from the settings unless given; tests give one with a
    resolver of their own); ``deadline`` is the total seconds of one request and its answer.
    """

    def __init__(
        self,
        service,
        *,
        run=None,
        subject=None,
        task_id="",
        policy=None,
        timeout=None,
        deadline=None,
        secrets=None,
        heartbeat=None,
        guard=None,
        sleep=time.sleep,
    ):
        self.service = service
        self.run = run
        self.subject = subject
        self.task_id = task_id or current_task_id()
        self.policy = policy or RetryPolicy.from_settings()
        self.timeout = timeout or (settings.UPLOADS_HTTP_CONNECT_TIMEOUT, settings.UPLOADS_HTTP_READ_TIMEOUT)
        self.deadline = min(deadline or math.inf, settings.OUTBOUND_TOTAL_DEADLINE_SECONDS)
        self.max_response_bytes = settings.OUTBOUND_MAX_RESPONSE_BYTES
        self.min_upload_rate = settings.OUTBOUND_MIN_UPLOAD_BYTES_PER_SECOND
        self._secrets = secrets or (lambda: [])
        self.heartbeat = heartbeat or (lambda: None)
        self.guard = guard or OutboundGuard.from_settings()
        self.session = guarded_session(self.guard)
        # The integration's or account's own User-Agent (it names this app and its version).
        self.session.headers["User-Agent"] = getattr(subject, "user_agent", "") or DEFAULT_USER_AGENT
        self._sleep = sleep
        self.backoff = None  # a SharedBackOff once threads share the client (``share``)
        # Only the thread that made the client touches the database (the heartbeat renews a lease):
        # a pool's threads keep their attempts in ``_local.deferred`` for it to save (``share``).
        self._owner = threading.get_ident()
        self._local = threading.local()

    def close(self):
        self.session.close()

    def share(self, threads):
        """Make the client ready for ``threads`` threads calling at once: one pooled connection each,
        and one back-off for all of them."""
        self.backoff = SharedBackOff()
        for adapter in set(self.session.adapters.values()):
            adapter.close()
        adapter = GuardedAdapter(self.guard, pool_maxsize=threads)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def deferring(self):
        """In a pool thread: keep this thread's attempts for the owner thread to save; return the list."""
        self._local.deferred = []
        return self._local.deferred

    def stop_deferring(self):
        self._local.deferred = None

    def save_deferred(self, deferred):
        """In the owner thread: save the attempts a pool thread kept, in the order they were made."""
        for attempt, subject in deferred:
            self._save(attempt, subject)

    def _beat(self):
        if threading.get_ident() == self._owner:
            self.heartbeat()

    # The token request's body and the Authorization header hold secrets: an error report
    # (the debug page, a logged traceback) shows these locals as stars.
    @sensitive_variables("json", "data", "headers", "request_headers")
    def call(
        self,
        operation,
        method,
        url,
        *,
        params=None,
        headers=None,
        json=None,
        data=None,
        files=None,
        body_path=None,
        multipart=None,
        auth=None,
        idempotent=True,
        bare=False,
        is_expired_url=None,
        subject=None,
        progress=None,
        url_name="URL",
        expect_json=False,
    ):
        """Make the request, retrying as the policy allows; return the 2xx response or raise.

        ``url`` may be a callable: it is called before every attempt (a fresh signed URL per
        PUT); ``headers`` too, called with that attempt's URL. ``auth`` has ``headers()`` and
        ``renew()``. ``is_expired_url(response)`` says when a refusal means the signed URL
        expired (renewed up to twice, not counted as a retry). ``idempotent=False``: a timeout,
        a reset or a 5xx after sending raises OutcomeUnknown.
        A URL the outbound rules refuse (``url_name`` names it in the message) is never called.
        ``expect_json``: a 2xx whose body is not JSON is a failed attempt (retried, or OutcomeUnknown).
        ``multipart`` (a MultipartBody) is streamed as the body, afresh for each attempt.
        Any thread may call; a 429 holds every thread of the client back (``backoff``).
        """
        call = _Call(operation, subject=subject if subject is not None else self.subject)
        while True:
            call.number += 1
            self._beat()
            # Another thread's 429 asked the service's patience of this one too.
            while self.backoff is not None and (held := self.backoff.remaining()) > 0:
                self.wait(held)
            call.secrets = [secret for secret in self._secrets() if secret]
            target = url() if callable(url) else url
            request_headers = dict((headers(target) if callable(headers) else headers) or {})
            if auth is not None:
                request_headers.update(auth.headers())
            if bare:
                request_headers = {**_BARE_HEADERS, **request_headers}
            if multipart is not None:
                request_headers["Content-Type"] = multipart.content_type
                data = multipart.open()
            started = timezone.now()
            clock = time.monotonic()
            try:
                self.guard.check_url(target, what=url_name)
            except OutboundRefused as exc:
                decision = self._refused(call, exc)
                self._record(call, method, target, started, clock, None, exc, decision, None)
                raise decision.error from None
            body = FileBody(body_path, progress=self._body_progress(progress)) if body_path else None
            exchange = Exchange(self._deadline_for(body))
            response = None
            try:
                with exchange:
                    response = self.session.request(
                        method,
                        target,
                        params=params,
                        headers=request_headers,
                        json=json,
                        data=body if body is not None else data,
                        files=files,
                        timeout=self.timeout,
                        allow_redirects=False,
                        stream=True,
                    )
                    read_body(response, self.max_response_bytes)
                    if exchange.expired:
                        raise DeadlineExceeded()
            except OutboundRefused as exc:
                decision = self._refused(call, exc)
                self._record(call, method, target, started, clock, None, exc, decision, body)
                raise decision.error from None
            except ResponseTooLarge as exc:
                decision = self._too_large(call, exc, idempotent)
                self._record(call, method, target, started, clock, None, exc, decision, body, response)
                raise decision.error from None
            except (requests.RequestException, DeadlineExceeded, OSError) as exc:
                # Whatever broke once the deadline passed, it broke because the deadline closed it.
                error = DeadlineExceeded(exchange.seconds) if exchange.expired else exc
                decision = self._after_exception(call, error, idempotent)
                self._record(call, method, target, started, clock, None, error, decision, body)
                if decision.give_up:
                    raise decision.error from None
                self.wait(decision.wait)
                continue
            finally:
                if body is not None:
                    body.close()
            decision = self._after_response(call, response, auth, is_expired_url, idempotent, expect_json)
            self._record(call, method, target, started, clock, response, None, decision, body)
            if decision.ok:
                return response
            if decision.give_up:
                raise decision.error
            if decision.renew_token:
                auth.renew()
            self.wait(decision.wait)

    def _deadline_for(self, body):
        """The total seconds of one exchange: the deadline, plus time to send a file body at the minimum rate."""
        if body is None or not self.min_upload_rate:
            return self.deadline
        return self.deadline + len(body) / self.min_upload_rate

    # -- decisions ---------------------------------------------------------------------------

    def _after_response(self, call, response, auth, is_expired_url, idempotent, expect_json):
        status = response.status_code
        if 200 <= status < 300:
            if expect_json and not parses_as_json(response):
                return self._not_json(call, response, idempotent)
            return _Decision(ok=True)
        excerpt = self._excerpt(response, call)
        what = f"{call.operation}: HTTP {status}"
        if 300 <= status < 400:
            # Never followed: the next hop would escape the checks this URL passed.
            where = redact_url(response.headers.get("Location") or "") or "nowhere"
            message = f"{what}: redirects are not followed; the service redirected to {where}"
            return self._give_up(call, message, status, excerpt, reason=message)
        said = error_sentence(response)
        if said and looks_like_xml(response) and not is_html(response):
            excerpt = said  # the XML's one line stands for its body (what is_expired_url and callers read)
        if status == 401 and auth is not None:
            if getattr(auth, "renewable", True) and not call.token_renewed:
                call.token_renewed = True
                return _Decision(note="token refused; renewing it and trying again", renew_token=True)
            return self._refused_credentials(call, what, said, status, excerpt)
        if is_expired_url is not None and is_expired_url(response) and call.url_renewals < MAX_URL_RENEWALS:
            call.url_renewals += 1
            return _Decision(note="the signed URL expired; requesting a new one")
        if not idempotent and status in SERVER_FAILURES:
            # The server had the whole request: it may have created the thing before it failed.
            message = f"{what}: the service failed after receiving the request; it may have been carried out."
            error = OutcomeUnknown(
                redact_text(message, call.secrets),
                operation=call.operation,
                status_code=status,
                retry_after=retry_after_seconds(response),
            )
            return _Decision(give_up=True, error=error)
        retryable = status in RETRY_STATUSES or (status == 500 and call.retries_500 < self.policy.max_500_retries)
        if not retryable and status == 500:
            # A 500 that stays is given up sooner than the others, but it is still a run of attempts.
            reason = f"{what} after {call.number} attempts."
            return self._give_up(call, _with(reason, said or excerpt), status, excerpt, reason=reason)
        if not retryable:
            return self._give_up(call, _with(what, said or excerpt), status, excerpt, reason=what)
        if status == 500:
            call.retries_500 += 1
        if call.number >= self.policy.max_attempts:
            reason = f"{what} after {call.number} attempts."
            return self._give_up(call, _with(reason, said or excerpt), status, excerpt, reason=reason)
        wait = self.policy.backoff(call.number)
        asked = retry_after_seconds(response)
        if asked is not None:
            if asked > self.policy.max_retry_after:
                message = (
                    f"{what}: the service asked to wait {asked:.0f} s (Retry-After), more than the "
                    f"{self.policy.max_retry_after:.0f} s limit; the next run will try again."
                )
                return self._give_up(call, message, status, excerpt)
            wait = asked
        if status == 429 and self.backoff is not None:
            self.backoff.hold(wait)  # every thread of this client waits as long
        return _Decision(wait=wait)

    def _refused_credentials(self, call, what, said, status, excerpt):
        """A 401 that a new token does not cure: say what to do, in words."""
        if call.token_renewed:
            why = "the credentials were refused again with a new token; check them"
        else:
            why = "the API token was refused and cannot be renewed here; enter a valid one"
        reason = f"{what}: {why}."
        return self._give_up(call, _with(reason, said and f"The service said: {said}"), status, excerpt, reason=reason)

    def _not_json(self, call, response, idempotent):
        """A 2xx whose body should be JSON and is not (cut off, or a page from something in between)."""
        problem = not_json(response)
        what = f"{call.operation}: HTTP {response.status_code}, but {problem}"
        if not idempotent:
            message = f"{what}. The request may have been carried out; not repeated."
            return _Decision(
                give_up=True,
                error=OutcomeUnknown(redact_text(message, call.secrets), operation=call.operation),
            )
        if call.number >= self.policy.max_attempts:
            # The stored reason leaves out what the service sent (an HTML page's title).
            reason = f"{call.operation}: HTTP {response.status_code}, but the answer is not valid JSON"
            message = f"{what}, after {call.number} attempts."
            return self._give_up(
                call, message, response.status_code, "", reason=f"{reason}, after {call.number} attempts."
            )
        return _Decision(wait=self.policy.backoff(call.number), note=problem)

    def _after_exception(self, call, exc, idempotent):
        message = f"{call.operation}: {_describe(exc)}"
        if isinstance(exc, DeadlineExceeded) and idempotent:
            # Not retried: the next try would hold the worker as long again; the next run tries.
            return self._give_up(call, message, None, "")
        if not idempotent and not _never_sent(exc):
            return _Decision(
                give_up=True,
                error=OutcomeUnknown(
                    redact_text(message, call.secrets) + ". The request may have been carried out; not repeated.",
                    operation=call.operation,
                ),
            )
        if call.number >= self.policy.max_attempts:
            return self._give_up(call, f"{message} after {call.number} attempts", None, "")
        return _Decision(wait=self.policy.backoff(call.number))

    def _give_up(self, call, message, status, excerpt, reason=None):
        error = CallFailed(
            redact_text(message, call.secrets),
            operation=call.operation,
            status_code=status,
            body=excerpt,
            reason=None if reason is None else redact_text(reason, call.secrets),
        )
        return _Decision(give_up=True, error=error)

    def _refused(self, call, exc):
        """A URL or address the outbound rules refuse: never called, never retried."""
        return self._give_up(call, f"{call.operation}: not called: {exc}", None, "")

    def _too_large(self, call, exc, idempotent):
        """An answer over the cap: not read, not retried (the same answer would come again)."""
        message = (
            f"{call.operation}: {exc}, over the {self.max_response_bytes:,}-byte limit "
            "(OUTBOUND_MAX_RESPONSE_BYTES); not read."
        )
        if not idempotent:
            message += " The request may have been carried out; not repeated."
            return _Decision(give_up=True, error=OutcomeUnknown(message, operation=call.operation))
        return self._give_up(call, message, None, "")

    # -- recording ---------------------------------------------------------------------------

    def _record(self, call, method, url, started, clock, response, exc, decision, body, unread=None):
        """Save the attempt; ``unread`` is an answer refused before its body was read (only its status is kept)."""
        duration_ms = round((time.monotonic() - clock) * 1000)
        answer = response if response is not None else unread
        if decision.ok:
            outcome = AttemptOutcome.OK
        elif decision.give_up:
            outcome = AttemptOutcome.GAVE_UP
        else:
            outcome = AttemptOutcome.RETRY
        error = ""
        if exc is not None:
            error = _describe(exc)
        elif not decision.ok:
            error = f"HTTP {response.status_code} {response.reason or ''}".strip()
        if decision.note:
            error = f"{error}: {decision.note}"
        if decision.give_up and decision.error is not None:
            error = str(decision.error)
        subject = call.subject
        attempt = Attempt(
            service=self.service,
            operation=call.operation,
            method=method,
            url=redact_url(url)[:2000],
            status_code=answer.status_code if answer is not None else None,
            outcome=outcome,
            error=redact_text(error, call.secrets),
            response_excerpt=self._excerpt(response, call) if response is not None else "",
            request_bytes=len(body) if body is not None else None,
            started_at=started,
            duration_ms=duration_ms,
            retry_in_seconds=None if (decision.ok or decision.give_up) else round(decision.wait, 3),
            task_id=self.task_id,
        )
        if self.run is not None:
            setattr(attempt, self.run.attempt_field, self.run)
        deferred = getattr(self._local, "deferred", None)
        if deferred is not None:
            deferred.append((attempt, subject))
        else:
            self._save(attempt, subject)

    def _save(self, attempt, subject):
        if subject is not None and getattr(subject, "pk", None) is not None:
            attempt.subject_type = ContentType.objects.get_for_model(subject)
            attempt.subject_id = str(subject.pk)
            attempt.subject_label = str(subject)[:300]
        attempt.save()
        log = logger.warning if attempt.outcome != AttemptOutcome.OK else logger.info
        log(
            "%s %s %s %s → %s in %d ms (%s)",
            self.service,
            attempt.operation,
            attempt.method,
            attempt.url,
            attempt.status_code or attempt.error,
            attempt.duration_ms,
            attempt.get_outcome_display(),
        )

    def _excerpt(self, response, call):
        if response is None:
            return ""
        if is_html(response):
            # The page's title says it all; its markup is noise.
            return redact_text(html_summary(response), call.secrets)[:EXCERPT_CHARS]
        try:
            text = response.text
        except (UnicodeError, requests.RequestException):
            return ""
        return redact_text(text[: EXCERPT_CHARS * 4], call.secrets)[:EXCERPT_CHARS]

    # -- waiting -----------------------------------------------------------------------------

    def wait(self, seconds):
        """Sleep in slices, showing signs of life to the lease while waiting."""
        left = seconds
        while left > 0:
            step = min(left, 5.0)
            self._sleep(step)
            left -= step
            self._beat()

    def _body_progress(self, progress):
        def sent(count):
            self._beat()
            if progress:
                progress(count)

        return sent


@dataclass
class _Decision:
    ok: bool = False
    give_up: bool = False
    wait: float = 0.0
    note: str = ""
    renew_token: bool = False
    error: ServiceError = None


def _never_sent(exc):
    """Whether the request certainly did not reach the server (so repeating it is safe)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        text = repr(exc)
        return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text
    return False


def _with(message, detail):
    """``message``, then ``detail`` (what the service said) when there is one, as a sentence of its own."""
    if not detail:
        return message
    if message.endswith((".", "?", "!")):
        detail = detail[:1].upper() + detail[1:]
    return f"{message} {detail}"


def _describe(exc):
    """A short, readable name for a transport error (the URL in requests' messages is redacted later)."""
    if isinstance(exc, DeadlineExceeded):
        seconds = exc.args[0] if exc.args else settings.OUTBOUND_TOTAL_DEADLINE_SECONDS
        return (
            f"no complete answer within the {seconds:g} s deadline (OUTBOUND_TOTAL_DEADLINE_SECONDS); "
            "the connection was closed"
        )
    if isinstance(exc, OutboundRefused):
        return f"not called: {exc}"
    if isinstance(exc, ResponseTooLarge):
        return f"{exc}; not read"
    if isinstance(exc, requests.ConnectTimeout):
        return "timed out connecting"
    if isinstance(exc, requests.ReadTimeout):
        return "timed out waiting for the answer"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "reset" in text.lower() or "aborted" in text.lower() or "RemoteDisconnected" in text:
            return "the connection was reset"
        if "refused" in text.lower():
            return "the connection was refused"
        if "NameResolutionError" in text or "Name or service not known" in text or "getaddrinfo" in text:
            return "could not resolve the host name"
        return f"connection error ({text[:200]})"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut off"
    return f"{type(exc).__name__}: {str(exc)[:200]}"
