"""Create or update a Raptor Maps integration from the command line (deployment automation).

Secrets are read from environment variables named on the command line, never from argv,
which other users of the machine can read in the process list.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portfolio.models import Farm, Portfolio
from uploads.management.options import secret_from_env, set_given, validation_messages
from uploads.models import RaptorMapsIntegration, TimeBasis
from uploads.secrets import Secret


class Command(BaseCommand):
    help = "Create or update a Raptor Maps integration (secrets come from environment variables)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The integration's name (its key: updated if it exists).")
        parser.add_argument("--base-url", help="API base URL (default https://api.raptormaps.com).")
        parser.add_argument("--integration-id", type=int, help="The org integration ID to request signed URLs for.")
        credentials = parser.add_mutually_exclusive_group()
        credentials.add_argument("--token-env", metavar="VAR", help="Environment variable holding an API token.")
        credentials.add_argument("--client-id", help="Client ID for /oauth/token (with --client-secret-env).")
        parser.add_argument("--client-secret-env", metavar="VAR", help="Environment variable holding the secret.")
        parser.add_argument("--org-id", type=int, help="Sent as ?org_id= on API calls.")
        parser.add_argument("--user-agent", help="The User-Agent sent to Raptor Maps (name/version).")
        coverage = parser.add_mutually_exclusive_group()
        coverage.add_argument("--portfolio", metavar="SLUG", help="Cover every farm of this portfolio.")
        coverage.add_argument("--farms", metavar="F1,F2", help="Cover these farms (farm IDs, comma-separated).")
        parser.add_argument(
            "--time-basis", choices=TimeBasis.values, help="observation_time in farm local time or UTC."
        )
        parser.add_argument("--part-bytes", type=int, help="Byte cap per CSV part (default 5,000,000,000).")
        parser.add_argument("--interval", type=int, metavar="SECONDS", help="Upload interval in seconds.")
        enabled = parser.add_mutually_exclusive_group()
        enabled.add_argument("--enable", dest="enabled", action="store_true", default=None)
        enabled.add_argument("--disable", dest="enabled", action="store_false")

    @transaction.atomic
    def handle(self, *args, **options):
        integration = RaptorMapsIntegration.objects.filter(name=options["name"]).first()
        created = integration is None
        if created:
            integration = RaptorMapsIntegration(name=options["name"])
            if options["integration_id"] is None:
                raise CommandError("--integration-id is needed to create an integration.")
        self._set_fields(integration, options)
        self._set_credentials(integration, options)
        farms = self._coverage(integration, options)
        if created and integration.portfolio_id is None and not farms:
            raise CommandError("Say which farms it covers: --portfolio SLUG or --farms F1,F2.")
        try:
            integration.full_clean()
        except ValidationError as exc:
            raise CommandError(validation_messages(exc)) from None
        integration.save()
        if farms is not None:
            integration.farms.set(farms)
        farm_count = integration.covered_farms().count()
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} Raptor Maps integration {integration.name!r} (#{integration.pk}): {farm_count} farm(s), "
            f"org integration {integration.integration_id}, "
            f"{'client credentials' if integration.uses_client_credentials else 'API token'}, "
            f"every {integration.interval_seconds} s, {'enabled' if integration.enabled else 'disabled'}."
        )

    def _set_fields(self, integration, options):
        simple = {
            "base_url": options["base_url"],
            "integration_id": options["integration_id"],
            "org_id": options["org_id"],
            "user_agent": options["user_agent"],
            "time_basis": options["time_basis"],
            "part_bytes": options["part_bytes"],
            "upload_interval_seconds": options["interval"],
            "enabled": options["enabled"],
        }
        set_given(integration, simple)

    def _set_credentials(self, integration, options):
        if options["token_env"]:
            integration.api_token = Secret(secret_from_env(options["token_env"]))
            integration.client_id, integration.client_secret = "", Secret("")
            integration.access_token, integration.access_token_expires_at = Secret(""), None
        elif options["client_id"]:
            if not options["client_secret_env"]:
                raise CommandError("--client-id needs --client-secret-env VAR (the secret is never taken from argv).")
            integration.client_id = options["client_id"]
            integration.client_secret = Secret(secret_from_env(options["client_secret_env"]))
            integration.api_token = Secret("")
            integration.access_token, integration.access_token_expires_at = Secret(""), None
        elif options["client_secret_env"]:
            raise CommandError("--client-secret-env goes with --client-id.")

    def _coverage(self, integration, options):
        """Set the portfolio; return the chosen farms to set after saving (None: leave them)."""
        if options["portfolio"]:
            portfolio = Portfolio.objects.filter(slug=options["portfolio"]).first()
            if portfolio is None:
                raise CommandError(f"No portfolio with slug {options['portfolio']!r}.")
            integration.portfolio = portfolio
            return []
        if options["farms"]:
            wanted = [farm_id.strip() for farm_id in options["farms"].split(",") if farm_id.strip()]
            farms = list(Farm.objects.filter(farm_id__in=wanted))
            missing = sorted(set(wanted) - {farm.farm_id for farm in farms})
            if missing:
                raise CommandError(f"No farm with farm ID {', '.join(missing)}.")
            integration.portfolio = None
            return farms
        return None
