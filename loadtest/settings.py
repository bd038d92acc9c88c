"""The production settings, served over plain http on 127.0.0.1 for `loadtest/run.py`. Nothing else.

production.py makes every cookie Secure (with the __Host- prefix) and redirects http to https, which
a load generator on loopback cannot follow without TLS in front. This module relaxes exactly that,
and production's refusal to start with texts going to the outbox (the run sends none), and refuses to
load unless ALLOWED_HOSTS is loopback only, so it cannot serve a real host by mistake.
Everything else (PostgreSQL's connection pool, Argon2, the rate limits, the headers, the database
task queue, anymail) is production's.
"""

from django.core.exceptions import ImproperlyConfigured

from portalreg.settings.production import *  # noqa: F403
from portalreg.settings.production import ALLOWED_HOSTS, env

if not ALLOWED_HOSTS or not set(ALLOWED_HOSTS) <= {"127.0.0.1", "localhost", "::1"}:
    raise ImproperlyConfigured("loadtest.settings serves 127.0.0.1 only: set ALLOWED_HOSTS=127.0.0.1.")

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = DEVICE_COOKIE_SECURE = False
# __Host- cookies must be Secure
SESSION_COOKIE_NAME, CSRF_COOKIE_NAME, DEVICE_COOKIE_NAME = "sessionid", "csrftoken", "device"
STATIC_ROOT = env.path("LOADTEST_STATIC_ROOT")  # collectstatic into the run's temporary folder
# The one exception to production's refusal of stand-in providers, on loopback only: the run sends no
# texts (the outbox SMS backend stays), and its fake Postmark posts no delivery reports.
REFUSE_STAND_IN_PROVIDERS = False
