"""Create or update a WattCarbon account from the command line (deployment automation).

The API key is read from the environment variable named on the command line, never from argv.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portfolio.models import Portfolio
from uploads.management.options import secret_from_env, set_given, validation_messages
from uploads.models import WattCarbonAccount
from uploads.secrets import Secret


class Command(BaseCommand):
    help = "Create or update a WattCarbon account (the API key comes from an environment variable)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The account's name here (its key: updated if it exists).")
        parser.add_argument("--base-url", help="API base URL (default https://api.wattcarbon.com).")
        parser.add_argument("--email", help="The login email of the WattCarbon user.")
        parser.add_argument("--api-key-env", metavar="VAR", help="Environment variable holding the API key.")
        parser.add_argument("--account-id", help="The WattCarbon account ID (as in /accounts/{account_id}/...).")
        parser.add_argument("--portfolio", metavar="SLUG", help="The portfolio whose meters and assets it syncs.")
        parser.add_argument("--user-agent", help="The User-Agent sent to WattCarbon.")
        parser.add_argument("--interval", type=int, metavar="SECONDS", help="Sync interval (default 3600).")
        parser.add_argument("--chunk-rows", type=int, metavar="N", help="Rows per timeseries upload.")
        parser.add_argument(
            "--upload-concurrency", type=int, metavar="N", help="Timeseries files sent at once (1 to 16, default 4)."
        )
        enabled = parser.add_mutually_exclusive_group()
        enabled.add_argument("--enable", dest="enabled", action="store_true", default=None)
        enabled.add_argument("--disable", dest="enabled", action="store_false")

    @transaction.atomic
    def handle(self, *args, **options):
        account = WattCarbonAccount.objects.filter(name=options["name"]).first()
        created = account is None
        if created:
            account = WattCarbonAccount(name=options["name"])
            missing = [
                flag
                for flag, key in (
                    ("--email", "email"),
                    ("--api-key-env", "api_key_env"),
                    ("--account-id", "account_id"),
                    ("--portfolio", "portfolio"),
                )
                if not options[key]
            ]
            if missing:
                raise CommandError(f"To create an account, give {', '.join(missing)}.")
        self._set_fields(account, options)
        if options["api_key_env"]:
            account.api_key = Secret(secret_from_env(options["api_key_env"]))
        if options["api_key_env"] or options["email"] or options["base_url"]:
            # A token of other credentials (or another server) is no good.
            account.access_token, account.access_token_expires_at = Secret(""), None
        if options["portfolio"]:
            portfolio = Portfolio.objects.filter(slug=options["portfolio"]).first()
            if portfolio is None:
                raise CommandError(f"No portfolio with slug {options['portfolio']!r}.")
            account.portfolio = portfolio
        try:
            account.full_clean()
        except ValidationError as exc:
            raise CommandError(validation_messages(exc)) from None
        account.save()
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} WattCarbon account {account.name!r} (#{account.pk}): WattCarbon account {account.account_id} "
            f"as {account.email}, portfolio {account.portfolio.slug}, every {account.sync_interval_seconds} s, "
            f"{'enabled' if account.enabled else 'disabled'}."
        )

    def _set_fields(self, account, options):
        simple = {
            "base_url": options["base_url"],
            "email": options["email"],
            "account_id": options["account_id"],
            "user_agent": options["user_agent"],
            "sync_interval_seconds": options["interval"],
            "chunk_rows": options["chunk_rows"],
            "upload_concurrency": options["upload_concurrency"],
            "enabled": options["enabled"],
        }
        set_given(account, simple)
