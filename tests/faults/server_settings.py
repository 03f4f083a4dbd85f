"""The production settings plus a few test-only routes (tests/faults/server_urls.py).

Only servers started by the tests use this module: the routes below are never
part of the production URL configuration.
"""

from manas360.settings import *  # noqa: F403

ROOT_URLCONF = "tests.faults.server_urls"
