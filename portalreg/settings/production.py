"""Production: PostgreSQL with pooled connections, HTTPS only, real providers."""

from portalreg.settings.base import *  # noqa: F403
from portalreg.settings.base import BASE_DIR, DATABASE_POOL, DATABASES, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pooled connection per worker: ~10x the throughput of connecting per request here. A sync
    # worker serves one request at a time, so it holds 1 connection and opens a 2nd only at need
    # (psycopg's default keeps 4 open: 2 workers held 8, and PostgreSQL's 100 served ~12 processes).
    DATABASES["default"]["OPTIONS"]["pool"] = DATABASE_POOL
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

STATIC_ROOT = BASE_DIR / "var" / "staticfiles"  # collectstatic fills it; whitenoise serves it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Issue 12, finding 5: a deployment wrote PINs to files and called them sent.
REFUSE_STAND_IN_PROVIDERS = True

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
# __Host-: the browser accepts these cookies only if Secure, for this host alone and the whole site.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
DEVICE_COOKIE_NAME = "__Host-device"
DEVICE_COOKIE_SECURE = True
