#!/usr/bin/env python
import os
import sys

# Shown when the settings refuse to load: the usual cause is a missing .env.development in a fresh clone.
SETUP_HINT = (
    "For development, copy the example environment first: cp .env.development.example .env.development "
    "(it sets DEBUG=1).\n"
    "In production, set the variable named above (docs/deployment.md)."
)


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "manas360.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        # A configuration mistake, not a bug: one clear line instead of a traceback.
        sys.stderr.write(f"manage.py: configuration error: {error}\n{SETUP_HINT}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
