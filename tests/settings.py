"""Settings for the test suite: the real settings, plus what only tests need.

The database and the broker still come from DATABASE_URL and REDIS_URL, so the same suite
runs on SQLite with the ORM broker and on PostgreSQL with Redis.
"""

import os

# Keys that pass the production refusals (portfolio/config.py), since tests run without DEBUG.
# Set in the environment, so the worker processes tests start use the same ones.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-of-the-test-suite-never-used-on-a-server")
os.environ.setdefault("SECRETS_ENCRYPTION_KEYS", "dGVzdC1vbmx5IGtleSBvZiB0aGUgdGVzdCBzdWl0ZSE=")

from portfolio.settings import *  # noqa: F403

# The test client speaks plain HTTP: no redirect to HTTPS (the deploy check test runs the real one).
SECURE_SSL_REDIRECT = False

# Hashing passwords properly is slow on purpose; tests log in many times.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# SQLite tests use a file, not memory: tests start real worker processes (`manage.py
# upload_raptormaps`) and threads that must see the same database, and a file gives them
# WAL and the busy timeout instead of shared-cache table locks. One file per pytest process,
# so suites running side by side never share one.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}  # noqa: F405

# The sandbox and the scripted servers of the tests listen on 127.0.0.1 over http: let them
# through the outbound rules, as `make run` does for the demo. Attack tests empty it.
OUTBOUND_ALLOW_HOSTS = ["127.0.0.1", "localhost"]
