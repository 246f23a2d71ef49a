"""The fault table (issue 14 §1): every fault the network and the two services can throw at a run.

For each (service, fault): inject it through the sandbox (or, for the connection itself, through a
port on this machine), run one upload run or sync through the function the django-q2 task calls,
then check that

- the run ends in the right state: succeeded after retries, or failed with a reason in words;
- every attempt is recorded: the attempts in the database are the calls in the sandbox's log;
- watermarks and remote ids are right: none claims more than the receiver has, nothing was
  created there without its id kept here;
- after the fault clears, the next run completes the work with no duplicate at the receiver.

Each case adds a row to the table that tests/faults/conftest.py prints at the end of the session.
"""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.faults.network import closed_port, unanswered_port
from tests.faults.targets import SANDBOX_OPERATION, UNREADABLE, RaptorMaps, WattCarbon
from uploads.models import AttemptOutcome

pytestmark = [pytest.mark.django_db(transaction=True)]

MAX_ATTEMPTS = 5
READ_TIMEOUT = 1.0
DEADLINE = 2.5
RETRY_AFTER_LIMIT = 5
WC = "wattcarbon"


@pytest.fixture(autouse=True)
def small_limits(settings, tmp_path):
    """The real retry rules with short waits and timeouts, so the whole table runs in seconds."""
    settings.UPLOADS_RETRY_MAX_ATTEMPTS = MAX_ATTEMPTS
    settings.UPLOADS_RETRY_BASE_SECONDS = 0.05
    settings.UPLOADS_RETRY_MAX_SECONDS = 0.2
    settings.UPLOADS_RETRY_AFTER_MAX_SECONDS = RETRY_AFTER_LIMIT
    settings.UPLOADS_HTTP_CONNECT_TIMEOUT = 0.3
    settings.UPLOADS_HTTP_READ_TIMEOUT = READ_TIMEOUT
    settings.OUTBOUND_TOTAL_DEADLINE_SECONDS = DEADLINE
    settings.UPLOADS_INGEST_SAFETY_LAG_SECONDS = 0
    settings.UPLOADS_WORK_DIR = tmp_path / "work"


@dataclass(frozen=True)
class Case:
    service: str  # "raptormaps" or "wattcarbon"
    fault: str  # as the table names it
    inject: Callable = None  # (sandbox) -> None
    outcome: str = "succeeded"
    words: tuple = ()  # in the run's error when it failed, in a retried attempt's error when it succeeded
    network: str = ""  # "refused" or "unanswered": the base URL points at a port on this machine
    credentials: str = "oauth"  # Raptor Maps: "oauth" (client credentials) or "api_token"
    # The contracts' limits, shown rather than hidden: a PUT whose answer was lost is sent again to a
    # new URL (one signed URL per PUT); a meter whose create lost its answer cannot be looked up.
    resent_files: int = 0
    orphan_meters: int = 0

    @property
    def id(self):
        return f"{self.service}-{self.fault}".replace(" ", "_")

    @property
    def label(self):
        """The fault as the table names it: the operation it hits first (a connection fault, the token's)."""
        return f"{self.inject.operation if self.inject else 'token'}: {self.fault}"


@dataclass(frozen=True)
class Fault:
    """A fault to queue in the sandbox for the next calls of one operation."""

    operation: str
    mode: str
    service: str
    fields: dict

    def __call__(self, sandbox):
        sandbox.fault(self.operation, self.mode, service=self.service, **self.fields)


def fault(operation, mode="status", service="raptormaps", **fields):
    return Fault(operation, mode, service, fields)


def burst(service, operation, status, times, after):
    """A burst of ``status``: shorter than the retry budget succeeds, as long fails."""
    budget = 3 if status == 500 else MAX_ATTEMPTS  # a plain 500 is tried three times in all
    short = times < budget
    return Case(
        service,
        f"{status} x{times} ({'shorter' if short else 'longer'} than the retries)",
        fault(operation, service=service, status=status, times=times, after=after),
        "succeeded" if short else "failed",
        (f"HTTP {status}",) if short else (f"HTTP {status} after {budget} attempts",),
    )


def bursts(service, operation, after=0):
    cases = []
    for status in (500, 502, 503, 504):
        budget = 3 if status == 500 else MAX_ATTEMPTS
        cases += [
            burst(service, operation, status, budget - 1, after),
            burst(service, operation, status, budget, after),
        ]
    return cases


RAPTOR_MAPS = [
    Case(
        "raptormaps", "connection refused", outcome="failed", words=("the connection was refused",), network="refused"
    ),
    Case("raptormaps", "connect timeout", outcome="failed", words=("timed out connecting",), network="unanswered"),
    Case(
        "raptormaps",
        "read timeout",
        fault("signed_url", "timeout", seconds=5),
        words=("timed out waiting for the answer",),
    ),
    Case("raptormaps", "reset mid-request (PUT body)", fault("put", "reset"), words=("the connection was reset",)),
    Case(
        "raptormaps",
        "reset mid-response",
        fault("signed_url", "reset_mid_response"),
        words=("the answer was cut off",),
    ),
    *bursts("raptormaps", "put"),
    Case("raptormaps", "429 with Retry-After: 1", fault("signed_url", status=429, retry_after=1), words=("HTTP 429",)),
    Case("raptormaps", "429 without Retry-After x2", fault("signed_url", status=429, times=2), words=("HTTP 429",)),
    Case(
        "raptormaps",
        "429 with Retry-After over the limit",
        fault("signed_url", status=429, retry_after=60),
        "failed",
        ("asked to wait 60 s", f"more than the {RETRY_AFTER_LIMIT} s limit"),
    ),
    Case(
        "raptormaps",
        "401 mid-run (OAuth token expired)",
        fault("signed_url", "expire_token"),
        words=("renewing it",),
    ),
    Case(
        "raptormaps",
        "401 mid-run (static API token expired)",
        fault("signed_url", "expire_token"),
        "failed",
        ("API token was refused",),
        credentials="api_token",
    ),
    Case(
        "raptormaps",
        "reset mid-response (PUT answer lost)",
        fault("put", "reset_mid_response"),
        words=("the connection was reset",),
        resent_files=1,
    ),
    Case("raptormaps", "expired signed URL", fault("signed_url", "expired"), words=("the signed URL expired",)),
    Case("raptormaps", "malformed JSON (200)", fault("signed_url", "malformed_json"), words=("not valid JSON",)),
    Case(
        "raptormaps",
        "HTML 502 page x5 (a proxy)",
        fault("signed_url", "html", times=MAX_ATTEMPTS),
        "failed",
        ("HTTP 502 after 5 attempts", "502 Bad Gateway"),
    ),
    Case(
        "raptormaps",
        "trickling answer",
        fault("signed_url", "trickle", seconds=3 * DEADLINE),
        "failed",
        (f"no complete answer within the {DEADLINE:g} s deadline",),
    ),
]

WATTCARBON = [
    Case(WC, "connection refused", outcome="failed", words=("the connection was refused",), network="refused"),
    Case(WC, "connect timeout", outcome="failed", words=("timed out connecting",), network="unanswered"),
    Case(
        WC,
        "read timeout",
        fault("upload_intervals", "timeout", service=WC, seconds=5),
        words=("timed out waiting for the answer",),
    ),
    Case(
        WC,
        "reset mid-request (create asset)",
        fault("create_asset", "reset", service=WC),
        words=("the connection was reset",),
    ),
    Case(
        WC,
        "reset mid-response (create asset)",
        fault("create_asset", "reset_mid_response", service=WC),
        words=("the answer was cut off",),
    ),
    Case(
        WC,
        "reset mid-response (create meter)",
        fault("create_meter", "reset_mid_response", service=WC),
        "partial",
        ("the answer was cut off", "The next sync creates it again"),
        orphan_meters=1,
    ),
    # On the second of the two interval files: the first one's watermark stays.
    *bursts(WC, "upload_intervals", after=1),
    Case(WC, "429 with Retry-After: 1", fault("create_meter", service=WC, status=429, retry_after=1), words=("429",)),
    # A 503 refuses the request before any work: the create is sent again in the same sync.
    Case(WC, "503 with Retry-After: 1", fault("create_meter", service=WC, status=503, retry_after=1), words=("503",)),
    # A gateway's 502 or 504: the outcome is unknown. A meter cannot be looked up: created again at once
    # (the next sync would do the same, an hour later); an asset is looked up by its customId first.
    Case(WC, "502", fault("create_meter", service=WC, status=502), words=("HTTP 502",)),
    Case(
        WC,
        "504 with Retry-After: 1",
        fault("create_asset", service=WC, status=504, retry_after=1),
        words=("HTTP 504", "Retry-After"),
    ),
    Case(
        WC,
        "502 with Retry-After over the limit",
        fault("create_asset", service=WC, status=502, retry_after=60),
        "partial",
        ("asked to wait 60 s (Retry-After) before trying again", f"more than the {RETRY_AFTER_LIMIT} s limit"),
    ),
    Case(WC, "429 without Retry-After x2", fault("create_meter", service=WC, status=429, times=2), words=("429",)),
    Case(
        WC,
        "429 with Retry-After over the limit",
        fault("create_meter", service=WC, status=429, retry_after=60),
        "failed",
        ("asked to wait 60 s", f"more than the {RETRY_AFTER_LIMIT} s limit"),
    ),
    Case(
        WC,
        "401 mid-run (token expired)",
        fault("upload_intervals", "expire_token", service=WC),
        words=("renewing it",),
    ),
    Case(
        WC,
        "malformed JSON (201 of a create)",
        fault("create_asset", "malformed_json", service=WC),
        words=("not valid JSON",),
    ),
    Case(
        WC,
        "HTML 502 page x5 (a proxy)",
        fault("upload_intervals", "html", service=WC, times=MAX_ATTEMPTS),
        "failed",
        ("HTTP 502 after 5 attempts", "502 Bad Gateway"),
    ),
    Case(
        WC,
        "trickling answer",
        fault("upload_intervals", "trickle", service=WC, seconds=3 * DEADLINE),
        "failed",
        (f"no complete answer within the {DEADLINE:g} s deadline",),
    ),
]

CASES = RAPTOR_MAPS + WATTCARBON


@contextlib.contextmanager
def network_fault(kind):
    """The base URL of a case whose fault is the connection itself (no server answers)."""
    if kind == "refused":
        yield f"http://127.0.0.1:{closed_port()}"
    else:
        with unanswered_port() as port:
            yield f"http://127.0.0.1:{port}"


def make_target(case, sandbox):
    if case.service == "raptormaps":
        return RaptorMaps(sandbox, credentials=case.credentials)
    return WattCarbon(sandbox)


def check_attempts_recorded(target, run, case):
    """Every attempt of the run is recorded, and each is a call the sandbox logged (or none reached it)."""
    attempts = target.attempts(run)
    calls = target.logged_calls()
    if case.network:
        assert calls == [], "a call reached the sandbox through a port that was not its own"
        assert len(attempts) == MAX_ATTEMPTS
        assert all(attempt.status_code is None for attempt in attempts)
        return f"{len(attempts)}, none reached a server"
    recorded = [SANDBOX_OPERATION.get(attempt.operation, attempt.operation) for attempt in attempts]
    assert recorded == [call["operation"] for call in calls], "the attempts recorded are not the calls made"
    for attempt, call in zip(attempts, calls, strict=True):
        if attempt.status_code is not None and call["status"] is not None:
            assert attempt.status_code == call["status"], (attempt.operation, attempt.status_code, call)
    return f"{len(attempts)} = {len(calls)} in the sandbox log"


def check_in_words(target, run, attempts, case):
    """What a person reads (the run's error, each attempt's error and excerpt): words, no markup, no secret."""
    shown = [run.error, run.log, *(attempt.error for attempt in attempts)]
    shown += [attempt.response_excerpt for attempt in attempts]
    for secret in target.secrets():
        assert not any(secret in text for text in shown), "a secret was recorded"
    for text in (run.error, *(attempt.error for attempt in attempts)):
        assert not UNREADABLE.search(text), f"not readable by a person: {text!r}"
    assert not any("<html" in attempt.response_excerpt.lower() for attempt in attempts), "an HTML page stored raw"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault(case, sandbox, fault_table):
    target = make_target(case, sandbox)

    if case.network:
        with network_fault(case.network) as url:
            target.point_at(url)
            first = target.run()
        target.point_at(sandbox.url)
    else:
        case.inject(sandbox)
        first = target.run()

    attempts = target.attempts(first)
    assert target.outcome(first) == case.outcome, f"{first.status}: {first.error}\n{first.log}"
    if case.outcome == "failed":
        for word in case.words:
            assert word in first.error, first.error
        assert attempts[-1].outcome == AttemptOutcome.GAVE_UP
        outcome = f"failed: {first.error}"
    else:
        # Retried, or (a create whose outcome is unknown) given up and looked up before creating again.
        met = [attempt for attempt in attempts if attempt.outcome != AttemptOutcome.OK]
        assert met, "the run did not meet the fault"
        said = " ".join([first.log, *(attempt.error for attempt in met)])
        for word in case.words:
            assert word in said, said
        outcome = (
            f"{case.outcome} after {len(met)} failed attempt{'s' if len(met) > 1 else ''}: {what_happened(met, first)}"
        )
    attempts_text = check_attempts_recorded(target, first, case)
    check_in_words(target, first, attempts, case)
    after_fault = target.check_consistent(**limits(case))

    sandbox.clear_faults()
    if case.credentials == "api_token" and case.outcome == "failed":
        target.renew_api_token()  # what the person told "the API token was refused" does
    second = target.run()
    expected = "nothing" if case.outcome == "succeeded" else "succeeded"
    assert target.outcome(second) == expected, f"{second.status}: {second.error}\n{second.log}"
    target.check_consistent(**limits(case))
    checked = target.check_complete(**limits(case))

    fault_table.add(target.service, case.label, outcome, attempts_text, f"{after_fault}. Next run: {checked}")


def limits(case):
    if case.service == "raptormaps":
        return {"resent_files": case.resent_files}
    return {"orphan_meters": case.orphan_meters}


def what_happened(met, run):
    """The first failure in a few words, and what the run did about a create it could not be sure of."""
    first = met[0].error.split(" The request may")[0].removeprefix(f"{met[0].operation}: ").rstrip(".")
    if "by its customId; linked it" in run.log:
        return f"{first}; the asset was there, found by its customId and linked"
    if "is not on WattCarbon; creating it again" in run.log:
        return f"{first}; the asset was not there, created once"
    if "The next sync creates it again" in run.log:
        return f"{first}; the meter is left for the next sync"
    if "the next sync tries again" in run.log:
        return f"{first}; left for the next sync"
    if "WattCarbon cannot look meters up: if the first create" in run.log:
        return f"{first}; the meter was created again in the same sync"
    return first
