"""How fast each input limit of the security work refuses a hostile input, through the real entry points.

Each hostile input is built for real and sent where an attacker would send it; the time is the
median of 5 runs (min-max beside it), and the outcome is read from what the application did (its
page, its import record, its attempt record), not assumed:

1. the admin's spreadsheet **Import** page of farms (Django's test client, logged in as a
   superuser, after one warm-up GET of the page; the time is the whole request): an XLSX whose
   sheet unpacks to 1 GiB (``SPREADSHEET_MAX_UNCOMPRESSED_BYTES``), one of 24 MiB compressed
   far beyond a spreadsheet program (``SPREADSHEET_MAX_COMPRESSION_RATIO``), one with one part
   too many (``SPREADSHEET_MAX_ZIP_ENTRIES``), an honest CSV just over
   ``SPREADSHEET_UPLOAD_MAX_BYTES``, and an honest CSV one row over
   ``SPREADSHEET_INTERACTIVE_MAX_ROWS`` (not refused: stored and queued for a worker; the time is
   the web request's only). The bombs are the tests' own (tests/portfolio/spreadsheet_files.py).
   Same-run baseline, one run only (10 to 45 s): openpyxl loading the ratio bomb with the checks
   bypassed (``load_workbook(read_only=False)`` on the file, in a child process for its peak RSS);
2. ``manage.py import_observations`` of a readings file holding one 64 MiB line
   (``READINGS_MAX_LINE_BYTES``): the time, and the tracemalloc peak of one more run; baseline:
   a plain unbounded ``readline()`` of the same file;
3. outbound calls (``uploads.outbound.http.Client``, the client both services use) to tiny servers on
   127.0.0.1 (tests/uploads/servers.py): an answer declaring a 964,000,000-byte Content-Length
   and an endless body without one (``OUTBOUND_MAX_RESPONSE_BYTES``), and a server that sends
   its answer one byte a second with ``OUTBOUND_TOTAL_DEADLINE_SECONDS`` set to 3 for this run.
   Every connection the process makes there is recorded and must be to 127.0.0.1.

    .venv/bin/python bench/refused_limits.py [--skip-openpyxl]

It runs as a server would (``DEBUG`` off, bench-only keys, requests over HTTPS in the test
client) on a scratch SQLite database, var/bench/refused-limits/bench.sqlite3, with the ORM broker
(``REDIS_URL`` is ignored; no worker runs, the queued task stays in the scratch database) and
``MEDIA_ROOT`` under the same directory, which is deleted before and after. ``DATABASE_URL`` is
never used. The limits are what the environment and the defaults make them; a row says "(env)"
when the environment sets one. It exits non-zero when an outcome is not the expected one.
"""

import argparse
import contextlib
import io
import json
import logging
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the builders of the tests' hostile files, and the app

WORK = ROOT / "var" / "bench" / "refused-limits"
RUNS = 5
KiB, MiB, GiB = 1024, 1024**2, 1024**3
LONG_LINE_BYTES = 64 * MiB
TRICKLE_DEADLINE = 3
TRICKLE_BODY_BYTES = 1000
DECLARED_LENGTH = 964_000_000

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "portfolio.settings",
        "DATABASE_URL": f"sqlite:///{WORK / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(WORK / "media"),
        "OUTBOUND_ALLOW_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-refused-limits-secret-key-never-used-on-any-server",
        "SECRETS_ENCRYPTION_KEYS": "bench-only-refused-limits-encryption-passphrase",
    }
)
os.environ.pop("REDIS_URL", None)

# openpyxl reading the ratio bomb whole, as the import would without the checks; in a child for its peak RSS.
OPENPYXL_CHILD = """
import json, resource, sys, time
import openpyxl
started = time.perf_counter()
workbook = openpyxl.load_workbook(sys.argv[1], read_only=False)
seconds = time.perf_counter() - started
rows = workbook.worksheets[0].max_row
print(json.dumps({"seconds": seconds, "rows": rows, "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

failures = []


# -- formatting --------------------------------------------------------------------------------------


def size(n):
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 10 and value != int(value) else f"{value:,.0f} {unit}"
    return f"{n:,} B"


def timing(times):
    """The median, and the range in the same unit: "24 ms (23-28)", "3.00 s (3.00-3.01)"."""
    median = statistics.median(times)
    scale, unit, digits = (1000, "ms", 0) if median < 1 else (1, "s", 2)
    shown = f"{median * scale:,.{digits}f} {unit}"
    if len(times) == 1:
        return f"{shown} (1 run)"
    return f"{shown} ({min(times) * scale:,.{digits}f}-{max(times) * scale:,.{digits}f})"


def default(name, unit=""):
    """A limit as it is in this run; "(env)" when the environment set it."""
    from django.conf import settings

    value = getattr(settings, name)
    shown = size(value) if value >= MiB else f"{value:,g}{unit}"
    return f"{shown} (env)" if name in os.environ else shown


rows = []


def row(limit, setting, default_text, hostile, outcome, time_text):
    rows.append((limit, f"`{setting}`" if setting else "", default_text, hostile, outcome, time_text))


def expect(ok, what):
    if not ok:
        failures.append(what)
    return ok


# -- 1. the admin's Import page --------------------------------------------------------------------


class ImportPage:
    def __init__(self):
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.urls import reverse

        user = get_user_model().objects.create_superuser("bench", "bench@example.com", None)
        # DEBUG is off: the default ALLOWED_HOSTS, and HTTPS (SECURE_SSL_REDIRECT).
        self.client = Client(SERVER_NAME="localhost")
        self.client.force_login(user)
        self.url = reverse("admin:portfolio_farm_import")
        assert self.client.get(self.url, secure=True).status_code == 200  # warm-up

    def post(self, name, data):
        """POST the file RUNS times; the body is encoded once, so only the request is timed."""
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.test.client import BOUNDARY, encode_multipart

        body = encode_multipart(BOUNDARY, {"import_file": SimpleUploadedFile(name, data)})
        # A new string, not MULTIPART_CONTENT itself: the client takes the body as it is.
        content_type = "multipart/form-data; boundary=" + BOUNDARY
        times, responses = [], []
        for _ in range(RUNS):
            started = time.perf_counter()
            response = self.client.post(self.url, body, content_type=content_type, secure=True)
            times.append(time.perf_counter() - started)
            responses.append(response)
        return times, responses

    def refused(self, name, data, setting):
        """Post; every run must show the refusal naming ``setting`` and record a refused import."""
        from portfolio.models import ImportRecord

        before = ImportRecord.objects.count()
        times, responses = self.post(name, data)
        records = list(ImportRecord.objects.order_by("pk")[before:])
        ok = (
            all(r.status_code == 200 and f"setting {setting}" in r.content.decode() for r in responses)
            and all("Confirm import" not in r.content.decode() for r in responses)
            and [record.status for record in records] == ["refused"] * RUNS
            and all(setting in record.message for record in records)
        )
        expect(ok, f"{name}: not refused by {setting}")
        return times, "refused" if ok else "NOT REFUSED"

    def to_worker(self, name, data):
        from portfolio.models import ImportRecord

        before = ImportRecord.objects.count()
        times, responses = self.post(name, data)
        records = list(ImportRecord.objects.order_by("pk")[before:])
        ok = [record.status for record in records] == ["queued"] * RUNS and all(
            r.status_code == 302 and r["Location"].endswith(f"/importrecord/{record.pk}/change/")
            for r, record in zip(responses, records, strict=True)
        )
        expect(ok, f"{name}: not handed to a worker")
        return times, "sent to worker (stored, task queued)" if ok else "NOT QUEUED"


def sheet_sizes(data):
    entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    sheet = max(entries, key=lambda entry: entry.file_size)
    return len(entries), sheet.file_size, sheet.compress_size


def openpyxl_baseline(path):
    output = subprocess.run(
        [sys.executable, "-c", OPENPYXL_CHILD, str(path)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def spreadsheets(skip_openpyxl):
    from django.conf import settings

    from tests.portfolio.spreadsheet_files import farms_csv, many_entries_zip, zip_bomb_xlsx

    page = ImportPage()

    bomb = zip_bomb_xlsx(1 * GiB)
    _, unpacked, _ = sheet_sizes(bomb)
    times, outcome = page.refused("bomb.xlsx", bomb, "SPREADSHEET_MAX_UNCOMPRESSED_BYTES")
    row(
        "what an XLSX unpacks to",
        "SPREADSHEET_MAX_UNCOMPRESSED_BYTES",
        default("SPREADSHEET_MAX_UNCOMPRESSED_BYTES"),
        f"XLSX {size(len(bomb))} → sheet XML {size(unpacked)}",
        outcome,
        timing(times),
    )
    del bomb

    small = zip_bomb_xlsx(24 * MiB)
    _, unpacked, packed = sheet_sizes(small)
    ratio = unpacked / packed
    times, outcome = page.refused("small-bomb.xlsx", small, "SPREADSHEET_MAX_COMPRESSION_RATIO")
    hostile = f"XLSX {size(len(small))} → sheet XML {size(unpacked)}, {ratio:,.0f} to 1"
    row(
        "compression ratio of an XLSX part",
        "SPREADSHEET_MAX_COMPRESSION_RATIO",
        default("SPREADSHEET_MAX_COMPRESSION_RATIO"),
        hostile,
        outcome,
        timing(times),
    )
    if not skip_openpyxl:
        path = WORK / "small-bomb.xlsx"
        path.write_bytes(small)
        baseline = openpyxl_baseline(path)
        expect(baseline["rows"] > 1, "openpyxl baseline: the bomb's rows were not read")
        row(
            "baseline: openpyxl `load_workbook(read_only=False)`, no checks",
            "",
            "",
            "the same file",
            f"read whole: {baseline['rows']:,} rows, peak RSS {baseline['max_rss_kb'] / 1024:,.0f} MB",
            timing([baseline["seconds"]]),
        )

    most = settings.SPREADSHEET_MAX_ZIP_ENTRIES
    many = many_entries_zip(most + 1)
    entries, _, _ = sheet_sizes(many)
    times, outcome = page.refused("many-parts.xlsx", many, "SPREADSHEET_MAX_ZIP_ENTRIES")
    row(
        "parts in an XLSX",
        "SPREADSHEET_MAX_ZIP_ENTRIES",
        default("SPREADSHEET_MAX_ZIP_ENTRIES"),
        f"XLSX {size(len(many))} of {entries:,} parts",
        outcome,
        timing(times),
    )

    limit = settings.SPREADSHEET_UPLOAD_MAX_BYTES
    per_row = len(farms_csv(1000)) / 1000
    big = farms_csv(math.ceil(limit / per_row) + 10)
    expect(len(big) > limit, "the oversized CSV is not over the limit")
    times, outcome = page.refused("farms-big.csv", big, "SPREADSHEET_UPLOAD_MAX_BYTES")
    row(
        "size of an uploaded spreadsheet",
        "SPREADSHEET_UPLOAD_MAX_BYTES",
        default("SPREADSHEET_UPLOAD_MAX_BYTES"),
        f"honest CSV {size(len(big))} ({len(big) - limit:,} B over)",
        outcome,
        timing(times),
    )
    del big

    interactive = settings.SPREADSHEET_INTERACTIVE_MAX_ROWS
    honest = farms_csv(interactive + 1)
    times, outcome = page.to_worker("farms.csv", honest)
    row(
        "rows previewed in the web request",
        "SPREADSHEET_INTERACTIVE_MAX_ROWS",
        default("SPREADSHEET_INTERACTIVE_MAX_ROWS"),
        f"honest CSV {size(len(honest))}, {interactive + 1:,} rows",
        outcome,
        timing(times),
    )


# -- 2. the readings importer ----------------------------------------------------------------------


def readings():
    from django.core.management import CommandError, call_command

    from portfolio.models import ImportRecord, Portfolio
    from tests.ingest.files import csv_text, raptor_row

    Portfolio.objects.create(name="Bench", slug="bench")
    path = WORK / "long-line.csv"
    good = csv_text([raptor_row(f"2024-06-01 00:{minute:02d}:00", str(minute)) for minute in range(10)])
    head, tail = good.split("\n", 6)[:6], good.split("\n", 6)[6]
    with open(path, "w", newline="") as stream:
        stream.write("\n".join(head) + "\n")  # the header and 5 rows
        for _ in range(LONG_LINE_BYTES // MiB):  # then line 7: 64 MiB of short cells
            stream.write("x," * (MiB // 2))
        stream.write("\n" + tail)  # then 5 more rows
    line_number = len(head) + 1

    def run():
        started = time.perf_counter()
        with contextlib.suppress(CommandError):  # the file is refused: the record says why
            call_command(
                "import_observations",
                str(path),
                portfolio="bench",
                time_basis="utc",
                verbosity=0,
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )
        elapsed = time.perf_counter() - started
        record = ImportRecord.objects.latest("pk")
        return elapsed, record

    times, records = [], []
    for _ in range(RUNS):
        elapsed, record = run()
        times.append(elapsed)
        records.append(record)
    tracemalloc.start()
    try:
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = f"line {line_number}: longer than"
    ok = all(
        record.status == "refused" and message in record.message and "READINGS_MAX_LINE_BYTES" in record.message
        for record in records
    )
    expect(ok, f"the long line was not refused as line {line_number}: {records[-1].message[:200]}")
    outcome = f"refused, line {line_number} named; peak {size(peak)}" if ok else "NOT REFUSED"
    row(
        "length of a readings line",
        "READINGS_MAX_LINE_BYTES",
        default("READINGS_MAX_LINE_BYTES"),
        f"CSV {size(path.stat().st_size)}: a {size(LONG_LINE_BYTES)} line among 10 rows",
        outcome,
        timing(times),
    )

    # Baseline: what reading that line whole costs, with nothing refusing it.
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        with open(path, "rb") as stream:
            for _line in stream:
                pass
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    try:
        with open(path, "rb") as stream:
            longest = max(len(line) for line in stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    row(
        "baseline: plain `readline()` of the same file, unbounded",
        "",
        "",
        "the same file",
        f"longest line read whole ({size(longest)}); peak {size(peak)}",
        timing(times),
    )
    path.unlink()


# -- 3. outbound calls -----------------------------------------------------------------------------


def outbound():
    from django.test import override_settings

    from tests.uploads.servers import Connections, FloodServer, TrickleServer
    from uploads.models import Attempt, AttemptOutcome, Service
    from uploads.outbound.http import CallFailed, Client

    def refusals(make_server, phrase):
        """RUNS calls, each to a fresh server; each must fail once (one attempt, not retried) saying ``phrase``."""
        times, ok = [], True
        for _ in range(RUNS):
            server = make_server()
            client = Client(Service.WATTCARBON)
            before = Attempt.objects.count()
            started = time.perf_counter()
            try:
                client.call("list_assets", "GET", server.url + "/assets")
                error = "answered"
            except CallFailed as exc:
                error = str(exc)
            times.append(time.perf_counter() - started)
            client.close()
            server.close()
            attempts = list(Attempt.objects.order_by("pk")[before:])
            ok = ok and phrase in error and [a.outcome for a in attempts] == [AttemptOutcome.GAVE_UP]
        return times, ok

    with Connections() as connections:
        cap = default("OUTBOUND_MAX_RESPONSE_BYTES")
        times, ok = refusals(
            lambda: FloodServer(f"Content-Length: {DECLARED_LENGTH}\r\n"),
            f"the answer is {DECLARED_LENGTH:,} bytes (Content-Length)",
        )
        expect(ok, "the declared Content-Length was not refused")
        row(
            "size of an outbound answer",
            "OUTBOUND_MAX_RESPONSE_BYTES",
            cap,
            f"answer declaring Content-Length {DECLARED_LENGTH:,}",
            "refused before reading" if ok else "NOT REFUSED",
            timing(times),
        )

        times, ok = refusals(FloodServer, "the answer went past")
        expect(ok, "the endless body was not refused at the cap")
        row(
            "size of an outbound answer",
            "OUTBOUND_MAX_RESPONSE_BYTES",
            cap,
            "endless body, no Content-Length",
            f"refused past {cap}" if ok else "NOT REFUSED",
            timing(times),
        )

        answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % TRICKLE_BODY_BYTES
        answer += b"x" * TRICKLE_BODY_BYTES
        with override_settings(OUTBOUND_TOTAL_DEADLINE_SECONDS=TRICKLE_DEADLINE):
            times, ok = refusals(
                lambda: TrickleServer(answer, interval=1.0),
                f"no complete answer within the {TRICKLE_DEADLINE} s deadline",
            )
        expect(ok, "the trickling server was not cut off at the deadline")
        row(
            "one outbound request and its answer",
            "OUTBOUND_TOTAL_DEADLINE_SECONDS",
            default("OUTBOUND_TOTAL_DEADLINE_SECONDS", " s") + f"; {TRICKLE_DEADLINE} s here",
            f"{len(answer):,}-byte answer at 1 byte/s (~{len(answer) / 60:.0f} min)",
            "cut off at the deadline" if ok else "NOT CUT OFF",
            timing(times),
        )
    expect(set(connections.hosts) == {"127.0.0.1"}, f"connections left loopback: {set(connections.hosts)}")


# -- main ------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-openpyxl", action="store_true", help="leave out the ~45 s openpyxl baseline")
    args = parser.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    started = time.perf_counter()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        # Each refusal logs a line of its own (a gave-up attempt, a queued task, the login): expected here.
        for name in ("uploads", "axes", "django-q"):
            logging.getLogger(name).setLevel(logging.ERROR)

        call_command("migrate", verbosity=0)
        spreadsheets(args.skip_openpyxl)
        readings()
        outbound()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)

    print(
        f"Hostile inputs against their limits: time to refusal, median of {RUNS} runs (min-max); "
        "admin: the whole request (test client, SQLite)."
    )
    header = ("limit", "setting", "default", "hostile input (on disk → what it expands to)", "outcome", "time")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header[:-1]) + "|---:|")
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    print(f"({time.perf_counter() - started:.0f} s in all)")
    if failures:
        print("\nUNEXPECTED OUTCOMES:\n" + "\n".join(f"- {failure}" for failure in failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
