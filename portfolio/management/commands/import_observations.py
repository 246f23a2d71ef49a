"""Load readings from Raptor Maps CSV or long-format files, fast, all or nothing per file."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portfolio.console import ConsoleProgress
from portfolio.ingest import ReadingsFileError, import_readings, jobs
from portfolio.ingest.errors import unknown_sensors_summary
from portfolio.ingest.heartbeat import Heartbeat
from portfolio.ingest.importer import TIME_BASES
from portfolio.models import ImportRecord, Portfolio


class Command(BaseCommand):
    help = (
        "Import readings from CSV files: the Raptor Maps format (creates or updates its farms, equipment "
        "and sensors) or the long format farm_id,equipment_id,sensor_id|sensor_type,observed_at,value. "
        "Each file is imported whole or not at all; a reading for an existing sensor and time replaces the value."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="CSV files of readings.")
        parser.add_argument("--portfolio", metavar="SLUG", help="Portfolio for farms a file introduces.")
        parser.add_argument(
            "--time-basis",
            choices=TIME_BASES,
            default="local",
            help="How to read times without an offset: the farm's local time (default) or UTC.",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Load the good rows; write rejected rows with the reason to FILE.errors.csv next to the input.",
        )
        parser.add_argument("--user", metavar="USERNAME", help="Whose import this is, for the import log.")

    def handle(self, *args, files, portfolio, time_basis, skip_invalid, user, verbosity, **options):
        portfolio = self._portfolio(portfolio)
        user = self._user(user)
        paths = [Path(name) for name in files]
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise CommandError(f"No such file: {', '.join(missing)}")
        refused = []
        for path in paths:
            if not self._import(path, portfolio, time_basis, skip_invalid, user, verbosity):
                refused.append(path.name)
        if refused:
            names = ", ".join(refused)
            if len(paths) == 1:
                raise CommandError(f"{names} was refused; nothing was imported from it.")
            was, them = ("was", "it") if len(refused) == 1 else ("were", "them")
            raise CommandError(
                f"{len(refused)} of {len(paths)} files {was} refused (nothing from {them} was imported): {names}"
            )

    def _import(self, path, portfolio, time_basis, skip_invalid, user, verbosity):
        sha256, size = jobs.file_sha256(path)
        record = ImportRecord.objects.create(
            kind=ImportRecord.Kind.READINGS,
            target="readings",
            source=ImportRecord.Source.COMMAND,
            user=user,
            file_name=path.name,
            file_size=size,
            sha256=sha256,
            options=jobs.readings_options(portfolio=portfolio, time_basis=time_basis, skip_invalid=skip_invalid),
        )
        jobs.start_record(record)
        console = ConsoleProgress(self.stderr._out, path.name) if verbosity > 0 else None
        recorder = jobs.progress_recorder(record)

        def progress(update):
            recorder(update)
            if console is not None:
                console(update)

        try:
            with Heartbeat(record):  # the commit reports no progress: keep the record alive meanwhile
                result = import_readings(
                    path, portfolio=portfolio, time_basis=time_basis, skip_invalid=skip_invalid, progress=progress
                )
        except ReadingsFileError as error:
            if console is not None:
                console.close()
            jobs.finish_with_refusal(record, error)
            self.stderr.write(f"{path.name}: refused, nothing imported. {error}")
            return False
        except BaseException as error:
            if console is not None:
                console.close()
            jobs.finish_with_failure(record, error)
            raise
        if console is not None:
            console.close()
        jobs.finish_with_result(record, result)
        rate = result.rows_read / result.seconds if result.seconds else 0
        timing = f"{result.seconds:.1f} s, {rate:,.0f} rows/s"
        self.stdout.write(self.style.SUCCESS(f"{path.name}: {jobs.summary(result)} ({timing})"))
        if result.unknown_sensor_rows:
            self.stdout.write(
                f"{path.name}: {unknown_sensors_summary(result.unknown_sensor_rows, result.unknown_sensors)}"
            )
        if result.rows_skipped:
            self.stdout.write(f"{path.name}: rejected rows and reasons written to {result.errors_path}")
        return True

    @staticmethod
    def _portfolio(slug):
        if slug is None:
            return None
        try:
            return Portfolio.objects.get(slug=slug)
        except Portfolio.DoesNotExist:
            known = ", ".join(Portfolio.objects.values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"No portfolio with slug {slug!r} (known: {known}).") from None

    @staticmethod
    def _user(username):
        if username is None:
            return None
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
