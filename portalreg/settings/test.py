"""Tests: the database named by DATABASE_URL (SQLite by default, PostgreSQL in CI), fast hashing."""

from portalreg.settings.base import *  # noqa: F403
from portalreg.settings.base import DATABASES, env

SECRET_KEY = "test-only-not-secret-" + "x" * 40
DEBUG = False
# Argon2 costs ~95 ms a hash here; tests hash thousands of PINs and passwords.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PIN_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Tests read the statistics right after changing them; test_query_counts.py sets it back where it matters.
STATISTICS_MAX_AGE = 0
# Factories make charts, PINs and accesses without the services that keep the counts: recount each time.
# tests/statistics/ set it back to check the kept counts.
STATISTICS_RECOUNT_SECONDS = 0
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
MAIL_TRACKING_ESP = "postmark"  # the webhook tests post Postmark's delivery reports
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_portalreg")}
# The signed-in cache off, whatever the environment says: query counts include the session's read.
# tests/test_signed_in_cache.py turns it on, on the machine's Redis (with SIGNED_IN_CACHE_URL set, the
# session, role and sign-out tests passed too; only 6 query counts were one fewer).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
