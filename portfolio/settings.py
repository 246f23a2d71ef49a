"""Settings, 12-factor: everything that differs between machines comes from the environment.

See README.md, "Configuration", for the variables and their defaults.
"""

import os
from datetime import timedelta
from pathlib import Path

from portfolio import config

BASE_DIR = Path(__file__).resolve().parent.parent

# An optional, git-ignored .env (`make run` writes DEBUG=1 there); the environment wins.
for _name, _value in config.read_env_file(BASE_DIR / ".env").items():
    os.environ.setdefault(_name, _value)

DEBUG = config.env_bool(os.environ, "DEBUG", default=False)
SECRET_KEY = config.secret_key(os.environ, DEBUG)
ALLOWED_HOSTS = config.env_list(os.environ, "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = config.env_list(os.environ, "CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # The admin, with the dashboard on its index and the portfolio first (dashboard/site.py).
    "dashboard.apps.PortfolioAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "import_export",
    "portfolio",
    "uploads",
    # The admin index's dashboard: reads portfolio and uploads; nothing imports it.
    "dashboard",
    # The Raptor Maps and WattCarbon stand-in (docs/sandbox.md): an app only for its `sandbox` command.
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portfolio.preferences.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portfolio.urls"
WSGI_APPLICATION = "portfolio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": config.database(os.environ, BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times in the admin are in this zone unless a user chooses their own (Preferences; a farm's and an
# asset's own times are in the site's zone), written one way: 2026-03-08 02:15 UTC (portfolio/formats/).
ADMIN_TIME_ZONE = config.time_zone(os.environ, "ADMIN_TIME_ZONE", default="UTC")
FORMAT_MODULE_PATH = ["portfolio.formats"]
# Counts of readings run to millions: 1,000,000 reads better than 1000000 on admin pages.
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

# Uploaded import files wait here for their worker; the admin never serves them.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "media/"

# Largest file the admin accepts: a workbook of portfolio data, and a file of readings.
SPREADSHEET_UPLOAD_MAX_BYTES = int(os.environ.get("SPREADSHEET_UPLOAD_MAX_BYTES", 20 * 1024 * 1024))
READINGS_UPLOAD_MAX_BYTES = int(os.environ.get("READINGS_UPLOAD_MAX_BYTES", 2 * 1024**3))
# Spreadsheets are bounded before they are read (portfolio/resources/bounds.py, docs/security.md):
# an XLSX's entries together may inflate to at most this much, no large entry (nor the whole)
# may be compressed more than this ratio (spreadsheet programs reach about 10 to 1; a zip bomb
# hundreds or thousands), and a workbook holds at most this many entries. 50 MiB of sheet XML
# is about 150,000 farm rows: an estimated 15 minutes and 800 MB in a worker (inside its timeout).
SPREADSHEET_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("SPREADSHEET_MAX_UNCOMPRESSED_BYTES", 50 * 1024 * 1024))
SPREADSHEET_MAX_COMPRESSION_RATIO = int(os.environ.get("SPREADSHEET_MAX_COMPRESSION_RATIO", 100))
SPREADSHEET_MAX_ZIP_ENTRIES = int(os.environ.get("SPREADSHEET_MAX_ZIP_ENTRIES", 1000))
# A file of more data rows than this is previewed and imported by a worker, not in the web
# request (a dry run takes about 6 ms a row: 2,000 rows about 12 s).
SPREADSHEET_INTERACTIVE_MAX_ROWS = int(os.environ.get("SPREADSHEET_INTERACTIVE_MAX_ROWS", 2000))
# A preview waits this long for its confirmation; then it and its file are deleted.
SPREADSHEET_PREVIEW_TTL_SECONDS = int(os.environ.get("SPREADSHEET_PREVIEW_TTL_SECONDS", 3600))
# The readings import (command line and admin worker) reads a file line by line; a line longer
# than this is a row error naming the line, never read whole into memory (docs/security.md).
READINGS_MAX_LINE_BYTES = int(os.environ.get("READINGS_MAX_LINE_BYTES", 1024 * 1024))
# Readings imports that lose a lock to another import (a PostgreSQL deadlock or serialization
# failure, SQLite's "database is locked" after its busy timeout) redo their whole write this many
# more times, after a short random pause (portfolio/ingest/retry.py); 0 turns retrying off.
IMPORT_DEADLOCK_RETRIES = int(os.environ.get("IMPORT_DEADLOCK_RETRIES", 3))
# Uploads above this size go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# django-import-export: spreadsheets in the admin (docs/spreadsheets.md). Importing needs the
# change permission of the model and exporting its view permission. Our CSV and XLSX formats
# escape formulae themselves, losslessly; the flag covers any admin left on the stock formats.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

Q_CLUSTER = config.q_cluster(os.environ)

# A running import stamps ImportRecord.heartbeat_at while it works (portfolio/ingest/heartbeat.py);
# one silent for longer than this is taken for dead (its worker was killed): the reaper marks it
# failed and releases its file, and the upload horizon stops waiting for it (docs/readings-import.md).
IMPORT_STALE_AFTER_SECONDS = float(os.environ.get("IMPORT_STALE_AFTER_SECONDS", 180))

# Secrets at rest (API keys, client secrets, cached tokens): Fernet keys, or any text hashed
# into one. The first encrypts, all decrypt (rotation: put the new key first, then
# `manage.py reencrypt_secrets`). Required without DEBUG; with DEBUG it defaults to SECRET_KEY.
SECRETS_ENCRYPTION_KEYS = config.secrets_encryption_keys(os.environ, DEBUG, SECRET_KEY)

# Outbound HTTP (uploads/outbound/http.py): timeouts and the retry policy of every call to the outside.
UPLOADS_HTTP_CONNECT_TIMEOUT = float(os.environ.get("UPLOADS_HTTP_CONNECT_TIMEOUT", 10))
UPLOADS_HTTP_READ_TIMEOUT = float(os.environ.get("UPLOADS_HTTP_READ_TIMEOUT", 120))
UPLOADS_RETRY_MAX_ATTEMPTS = int(os.environ.get("UPLOADS_RETRY_MAX_ATTEMPTS", 5))
UPLOADS_RETRY_BASE_SECONDS = float(os.environ.get("UPLOADS_RETRY_BASE_SECONDS", 2))
UPLOADS_RETRY_MAX_SECONDS = float(os.environ.get("UPLOADS_RETRY_MAX_SECONDS", 60))
# A Retry-After longer than this is not waited for: the call gives up and the next run tries.
UPLOADS_RETRY_AFTER_MAX_SECONDS = float(os.environ.get("UPLOADS_RETRY_AFTER_MAX_SECONDS", 300))
# A run holds its integration's lease this long past its last sign of life; a killed worker's
# lease lapses after it, and the next run takes over.
UPLOADS_LEASE_SECONDS = float(os.environ.get("UPLOADS_LEASE_SECONDS", 180))
# Rows ingested in the last minute are left for the next run: a transaction that stamped
# ingested_at before the run started may not have committed yet (docs/architecture.md).
UPLOADS_INGEST_SAFETY_LAG_SECONDS = float(os.environ.get("UPLOADS_INGEST_SAFETY_LAG_SECONDS", 60))
# Where a run writes its CSV parts while it uploads them (deleted afterwards).
UPLOADS_WORK_DIR = Path(os.environ.get("UPLOADS_WORK_DIR", BASE_DIR / "var" / "uploads"))
# Where outbound calls may go, and how long and how big an answer may be (docs/security.md,
# "Outbound calls"). Calls go over https to public addresses only; the hosts listed here (the
# sandbox and the tests: 127.0.0.1,localhost) are let through, over http too. Empty in production.
OUTBOUND_ALLOW_HOSTS = config.env_list(os.environ, "OUTBOUND_ALLOW_HOSTS")
# One request and its whole answer (connect, send, headers, body) end within this, however the
# server trickles; a file body gets more time on top, at the minimum rate below.
OUTBOUND_TOTAL_DEADLINE_SECONDS = float(os.environ.get("OUTBOUND_TOTAL_DEADLINE_SECONDS", 300))
OUTBOUND_MIN_UPLOAD_BYTES_PER_SECOND = int(os.environ.get("OUTBOUND_MIN_UPLOAD_BYTES_PER_SECOND", 1_000_000))
# An answer larger than this is refused, not read (the largest expected is a list of assets).
OUTBOUND_MAX_RESPONSE_BYTES = int(os.environ.get("OUTBOUND_MAX_RESPONSE_BYTES", 16 * 1024 * 1024))
# The local stand-in for both services (`manage.py sandbox`); the demo points its integration here.
SANDBOX_URL = os.environ.get("SANDBOX_URL", "http://127.0.0.1:8765")

# What `manage.py demo` loads, in order: the portfolio, then the integrations that send it out.
DEMO_LOADERS = ["portfolio.demo.load_demo_portfolio", "uploads.demo.load_demo_uploads"]
# Where `manage.py demo` keeps the demo admin's generated password (development only).
DEMO_ADMIN_PASSWORD_FILE = BASE_DIR / "var" / "demo-admin-password"

# Error reports (the debug page, a logged 500) star the POST parameters and local variables marked
# sensitive (the API keys and client secrets of integrations and accounts) in debug mode too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "portfolio.error_reports.AlwaysSafeExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact": {"()": "uploads.outbound.redaction.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # urllib3 writes whole URLs (a signed URL's query is its credential) at DEBUG: never below
    # INFO, and whatever it does write is redacted.
    # (Logger filters do not apply to child loggers' records: each module that logs gets one.)
    "loggers": {
        "urllib3": {"level": "INFO"},
        # axes announces its configuration at every start of every command; its lockouts still log.
        "axes.apps": {"level": "WARNING"},
        **{
            name: {"filters": ["redact"]}
            for name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry")
        },
    },
}

# Health check (/healthz, portfolio/health.py): the scheduler is "stale" when a schedule has been
# due this long without a tick (it ticks every 30 s or so; 5 minutes covers a cluster restart).
HEALTHZ_SCHEDULER_STALE_SECONDS = config.env_int(os.environ, "HEALTHZ_SCHEDULER_STALE_SECONDS", default=300, minimum=1)

# The dashboard on the admin index (dashboard/__init__.py): a farm is flagged when its last
# reading is older than this, or its last successful upload older than this many upload intervals.
DASHBOARD_STALE_READINGS_SECONDS = config.env_int(
    os.environ, "DASHBOARD_STALE_READINGS_SECONDS", default=7200, minimum=1
)
DASHBOARD_STALE_UPLOAD_INTERVALS = config.env_int(os.environ, "DASHBOARD_STALE_UPLOAD_INTERVALS", default=2, minimum=1)
# Off: the admin index is Django's plain list of models (the benchmark's baseline).
DASHBOARD_ENABLED = config.env_bool(os.environ, "DASHBOARD_ENABLED", default=True)

# Production safety (docs/security.md, "Production settings"). Without DEBUG: HTTPS only
# (redirect, HSTS, secure cookies), no framing, no referrer to other sites. Behind a proxy that
# ends TLS, SECURE_PROXY_SSL_HEADER names the header it sets, so the redirect does not loop.
SECURE_SSL_REDIRECT = config.env_bool(os.environ, "SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe /healthz over plain HTTP inside the network: answered, not redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = config.proxy_ssl_header(os.environ)
SECURE_HSTS_SECONDS = config.env_int(os.environ, "SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = config.env_bool(os.environ, "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a promise to browsers that is slow to take back: only on request.
SECURE_HSTS_PRELOAD = config.env_bool(os.environ, "SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]  # "SECURE_HSTS_PRELOAD is off": on purpose
SESSION_COOKIE_SECURE = config.env_bool(os.environ, "SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The client's address (login lockout, audit trail) is the TCP peer, unless this many reverse
# proxies of ours stand in front and append it to X-Forwarded-For (portfolio/client_address.py).
TRUSTED_PROXY_COUNT = config.env_int(os.environ, "TRUSTED_PROXY_COUNT", default=0)

# Audit trail (docs/security.md, "Audit trail"): django-auditlog records every change to
# portfolio data, integrations, accounts, users, groups and schedules; what is tracked is in
# audit/registry.py. The middleware ties a request's changes to its user and address.
INSTALLED_APPS += ["auditlog", "audit"]
MIDDLEWARE += ["audit.middleware.AuditMiddleware"]

# Logins (docs/security.md, "Logins"): django-axes locks a username, and separately an
# address, after LOGIN_FAILURE_LIMIT failed logins, for LOGIN_LOCKOUT_MINUTES after the last one.
INSTALLED_APPS += ["axes"]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes requires
AXES_FAILURE_LIMIT = config.env_int(os.environ, "LOGIN_FAILURE_LIMIT", default=5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=config.env_int(os.environ, "LOGIN_LOCKOUT_MINUTES", default=15, minimum=1))
# Each parameter on its own: a user is locked whatever the address, an address whatever the user.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "portfolio.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "portfolio.logins.lockout_response"
