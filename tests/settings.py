"""Settings for the test suite: the real settings, plus what only tests need.

The database and the broker still come from DATABASE_URL and REDIS_URL, so the same suite
runs on SQLite with the ORM broker and on PostgreSQL with Redis.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from portfolio.settings import *  # noqa: F403

# Hashing passwords properly is slow on purpose; tests log in many times.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
