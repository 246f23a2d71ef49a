#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import secrets
import sys

# These commands only read the models and the migration files and sign nothing, so they run on
# a fresh checkout without a SECRET_KEY. Every other command, and the servers, still refuse to
# start without one when DEBUG is off (portfolio/config.py).
KEYLESS_COMMANDS = {"makemigrations", "showmigrations", "sqlmigrate"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")
    if sys.argv[1:2] and sys.argv[1] in KEYLESS_COMMANDS and not os.environ.get("SECRET_KEY", "").strip():
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)  # a throwaway: nothing is signed with it
    if sys.argv[1:2] and sys.argv[1] in KEYLESS_COMMANDS and not os.environ.get("SECRETS_ENCRYPTION_KEYS", "").strip():
        os.environ["SECRETS_ENCRYPTION_KEYS"] = secrets.token_urlsafe(32)  # likewise: nothing is encrypted
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
