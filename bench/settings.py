"""The benchmark: production's code paths (Argon2, the database task queue, no debug) on a local database.

Only what the test client needs differs from production: plain HTTP, the `testserver` host, and an
extra URL for the floor view.
"""

import os

# As production runs: the signed-in read kept in Redis (accounts/signed_in_cache.py), its keys apart.
os.environ.setdefault("SIGNED_IN_CACHE_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("SIGNED_IN_CACHE_PREFIX", "portalreg-bench")

from portalreg.settings.base import *  # noqa: F403
from portalreg.settings.base import BASE_DIR, DATABASE_POOL, DATABASES, TEMPLATES

DEBUG = False
SECRET_KEY = "bench-only-not-secret-" + "x" * 40
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
# No task worker runs during the benchmark: the statistics are counted once at the start (measure.py), and
# what counting costs is measured as its own row.
STATISTICS_MAX_AGE = 24 * 60 * 60
# As production: a pooled connection per worker (connecting per request capped a one-query view at
# ~230 requests a second here), sized as production sizes it (psycopg's default kept 4 open).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"]["pool"] = DATABASE_POOL
