"""Settings shared by every environment; each value that differs comes from the environment."""

from pathlib import Path

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment variables win


# ---------------------------------------------------------------- core
# SECRET_KEY: required in production.py; dev and test settings carry throwaway keys.
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "registration.apps.AuditedAdminConfig",  # Django's admin, every change through it audited
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks_db",
    "anymail",
    "phonenumber_field",
    "accounts",
    "patients",
    "registration",
    "ratelimits",
]

MIDDLEWARE = [
    "portalreg.middleware.ForwardedHeadersMiddleware",  # first: no one reads a client's forged headers
    "portalreg.middleware.HealthCheckMiddleware",  # first: balancers probe by address, over plain HTTP
    "django.middleware.security.SecurityMiddleware",
    "portalreg.middleware.PermissionsPolicyMiddleware",  # before whitenoise: static files get it too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portalreg.middleware.NoStoreMiddleware",  # after whitenoise: static files stay cacheable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "portalreg.middleware.StaffInEnglishMiddleware",  # after the locale is chosen: staff pages in English
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.middleware.AuthenticationMiddleware",  # Django's, the user read with the session
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "portalreg.languages.LanguageFromLinkMiddleware",  # last: its redirect gets every header a page gets
]

ROOT_URLCONF = "portalreg.urls"
# A form left open while its session changed: our page, in the parent's language, not Django's.
CSRF_FAILURE_VIEW = "portalreg.error_pages.csrf_failure"
WSGI_APPLICATION = "portalreg.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.roles.staff_context",
            ],
        },
    },
]


# ---------------------------------------------------------------- database
# SQLite in the repository for a quick start; PostgreSQL (postgres://...) everywhere that matters.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT adds tens of milliseconds to the short queries staff pages run, and saves nothing. The
    # working set is in memory (or on SSD): at the default random_page_cost of 4 the planner preferred
    # reading all 10,000 patients to 10 index lookups for the duplicates page (6.6 ms against 0.3 ms).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off -c random_page_cost=1.1"
    # Parameters sent apart from the SQL, so psycopg prepares a statement run 5 times on a connection and
    # PostgreSQL plans it once: planning was a third to two thirds of each staff page's database time
    # (the chart 4.6 ms, 1.4 ms prepared). Generic plans are checked like the others (bench/plans.py,
    # tests/staff/test_name_search.py). Needs a direct connection or a pooler that keeps prepared
    # statements (PgBouncer 1.21+ with max_prepared_statements).
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env.int("DATABASE_PREPARE_THRESHOLD", default=5)

# Connections each process's pool keeps and may open (psycopg_pool), where pooling is on (production.py).
DATABASE_POOL = {
    "min_size": env.int("DATABASE_POOL_MIN", default=1),
    "max_size": env.int("DATABASE_POOL_MAX", default=2),
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# ---------------------------------------------------------------- accounts and passwords
# Django's ModelBackend, taking the user read with the session (accounts/session_store.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.RolesModelBackend"]
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
STAFF_LOGIN_URL = "/staff/sign-in/"
LOGIN_URL = STAFF_LOGIN_URL
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 15}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "accounts.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
]


# ---------------------------------------------------------------- security
# Pages hold children's health data: no inline script or style, nothing from other origins.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Browser features no page uses, refused to the page and anything it could embed (Permissions-Policy,
# portalreg/middleware.py). Only features Chromium knows: an unknown one is logged on every page.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
# No script reads a cookie; production.py adds Secure and the __Host- prefix.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"  # Lax, not Strict: a link in an email must open the portal signed in
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# A browser that signed in to an account has its own sign-in budget for it (ratelimits/devices.py).
DEVICE_COOKIE_NAME = "device"
DEVICE_COOKIE_SECURE = False

# Automatic logoff, in seconds: "idle" since the last request, "total" since signing in. Staff: a staff
# role or the Django admin; anyone else is a parent. accounts/sessions.py
# Parents' total is 12 hours too (issue 12, finding 10): NIST SP 800-63B allows 30 days at AAL1, but a
# parent's session shows children's health data, often on a shared family phone, and a visit to the
# portal is minutes long; a stolen session key is worth half a day at most.
SESSION_TIMEOUTS = {
    "staff": {"idle": 15 * 60, "total": 12 * 60 * 60},
    "parent": {"idle": 30 * 60, "total": 12 * 60 * 60},
}
# Sessions in the database, each row naming its user: a signed-in request reads its session, its user
# and (for a parent) the portal account in one query, and a user's sessions can all be ended at once.
SESSION_ENGINE = "accounts.session_store"
# What is read with the signed-in user (select_related from the user): the parent portal's account.
SIGNED_IN_USER_RELATED = ["portal_account"]
# A session's row expires 12 hours after its last use (`clearsessions` deletes it), not Django's 2 weeks.
SESSION_COOKIE_AGE = 12 * 60 * 60
# That one query's row kept in Redis, which every process shares, e.g. redis://127.0.0.1:6379/0: a
# signed-in request then reads no database at all (accounts/signed_in_cache.py). Unset: the database.
SIGNED_IN_CACHE_URL = env("SIGNED_IN_CACHE_URL", default="")
if SIGNED_IN_CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},  # Django's default
        "signed_in": {
            "BACKEND": "accounts.signed_in_cache.RedisCache",
            "LOCATION": SIGNED_IN_CACHE_URL,
            "KEY_PREFIX": env("SIGNED_IN_CACHE_PREFIX", default="portalreg"),
            "TIMEOUT": 60,  # an entry's seconds at most, should a change fail to reach Redis
            # Unreachable, Redis costs a request this long before the database answers instead.
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        },
    }

# Our own proxies' addresses or networks (e.g. 10.0.0.0/24), each appending the address it was
# connected from to X-Forwarded-For. X-Forwarded-For and -Proto are believed only from them, and the
# client is the right-most X-Forwarded-For entry not among them (portalreg/proxies.py). Empty: the
# client is REMOTE_ADDR, and a TLS proxy's X-Forwarded-Proto is not believed either.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Tries allowed per action, as (tries, window in seconds, counted per "address", "account" or "device"),
# in sliding windows counted in the database (ratelimits/limits.py). Sign-in counts failures only; its
# per-account limits are the cool-off, and cap a day's failures at NIST SP 800-63B's 100. A browser
# that signed in to the account before counts against its device's limits instead (issue 12, finding
# 3: anyone could lock anyone out), so the owner still signs in there while a guesser is locked out.
RATE_LIMITS = {
    "pin_redeem": [(20, 60, "address")],
    "sign_in": [
        (5, 15 * 60, "account"),
        (100, 24 * 60 * 60, "account"),
        (5, 15 * 60, "device"),
        (100, 24 * 60 * 60, "device"),
        (30, 60, "address"),
    ],
    "sign_up": [(10, 60 * 60, "address")],
    "password_reset": [(10, 60 * 60, "address"), (5, 60 * 60, "account")],
    # "Send the link again" (confirm your email): per address, and per email typed.
    "verify_resend": [(10, 60 * 60, "address"), (3, 60 * 60, "account")],
    # "You already have an account", sent when someone signs up with an address that has one: at most
    # one an hour per address (issue 12, finding 8), counted by the task worker; the page never says.
    "sign_up_notice": [(1, 60 * 60, "account")],
    # Sign-up codes from the contact on file, per address and per account trying them.
    "enrollment_code": [(20, 60 * 60, "address"), (10, 60 * 60, "account")],
}


# ---------------------------------------------------------------- internationalisation
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = env("PHONE_REGION", default="US")
# Dates and times read the same on every page, in each language: portalreg/formats/<language>/formats.py.
FORMAT_MODULE_PATH = "portalreg.formats"


# ---------------------------------------------------------------- static files
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]


# ---------------------------------------------------------------- the practice and its portal
PRACTICE_NAME = env("PRACTICE_NAME", default="Maple Street Pediatrics")
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
# Shown on every parent page and in every parent email (not in texts: they must stay one segment).
PRACTICE_PHONE = env("PRACTICE_PHONE", default="(312) 555-0100")
PRACTICE_HOURS = env("PRACTICE_HOURS", default="Mon–Fri 8 am–5 pm")  # noqa: RUF001 - en dashes, as printed
PRACTICE_HOURS_ES = env("PRACTICE_HOURS_ES", default="lun–vie de 8 a 17 h")  # noqa: RUF001 - for Spanish pages
# The portal's privacy page links the practice's HIPAA Notice of Privacy Practices and names whom to ask.
PRIVACY_NOTICE_URL = env("PRIVACY_NOTICE_URL", default="")
PRIVACY_CONTACT = env("PRIVACY_CONTACT", default="")  # e.g. "Privacy officer, privacy@example.org"
PIN_VALIDITY_DAYS = env.int("PIN_VALIDITY_DAYS", default=14)
PIN_MAX_FAILED_ATTEMPTS = 5
PIN_HASHER = "registration.pin_codes.PinHasher"
# A code sent after a sign-up to the phone or email on file for the matched contact (NIST SP 800-63A,
# 5.3.2.2): good for 10 minutes by text, 24 hours by email; 5 wrong tries end it.
ENROLLMENT_CODE_VALIDITY_SECONDS = {"sms": 10 * 60, "email": 24 * 60 * 60}
ENROLLMENT_CODE_MAX_WRONG_TRIES = 5
# At most this many codes a day to one contact, whoever signs up naming them.
ENROLLMENT_CODES_PER_CONTACT_A_DAY = 3

# Who may see an adolescent's or a young adult's record: a preset named after the law it follows
# (`registration/access_policy.py` lists them with their sources), and this practice's overrides of it.
ACCESS_POLICY = env("ACCESS_POLICY", default="default")
ACCESS_POLICY_OVERRIDES = {
    key: value
    for key, value in {
        "teen_age": env("ACCESS_TEEN_AGE", default=None),  # a number, or "none" for no teen years
        "parent_level_for_teens": env("ACCESS_PARENT_LEVEL_FOR_TEENS", default=None),
        "teen_own_account": env("ACCESS_TEEN_OWN_ACCOUNT", default=None),
        "teen_chooses_parent_level": env("ACCESS_TEEN_CHOOSES_PARENT_LEVEL", default=None),
        "majority_age": env("ACCESS_MAJORITY_AGE", default=None),
    }.items()
    if value is not None
}
# Days before a birthday that changes access when parents are told of it.
ACCESS_CHANGE_NOTICE_DAYS = 30
# Court orders and other restriction documents: private, read only through the staff page that audits it.
RESTRICTION_DOCUMENT_DIR = env.path("RESTRICTION_DOCUMENT_DIR", default=BASE_DIR / "var" / "restrictions")
RESTRICTION_DOCUMENT_MAX_BYTES = 10_000_000


# ---------------------------------------------------------------- email and text messages
# Anymail's ESP settings (e.g. ANYMAIL_POSTMARK_SERVER_TOKEN) are read from the environment by
# name; MAIL_BACKEND picks the provider. SMS goes through Twilio when its credentials are set.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="portal@example.org")
OUTBOX_DIR = env.path("OUTBOX_DIR", default=BASE_DIR / "var" / "outbox")
MAILERS = {
    "default": {
        # By default each email is written as a file under var/outbox/: nothing leaves the machine.
        "BACKEND": env("MAIL_BACKEND", default="registration.messaging.mail_backend.OutboxEmailBackend"),
        "OPTIONS": env.json("MAIL_OPTIONS", default={"file_path": str(OUTBOX_DIR)}),
    }
}
ANYMAIL = env.json("ANYMAIL", default={})
# The provider whose delivery reports are taken, at /hooks/anymail/<provider>/tracking/ (portalreg/urls.py):
# by default the one MAIL_BACKEND names (anymail.backends.<provider>.EmailBackend), none for other mailers.
_mailer = MAILERS["default"]["BACKEND"].split(".")
_mailer_esp = _mailer[2] if len(_mailer) == 4 and _mailer[:2] == ["anymail", "backends"] else ""
MAIL_TRACKING_ESP = env("MAIL_TRACKING_ESP", default=_mailer_esp)
# Texts: written to var/outbox/ unless Twilio is configured.
SMS_BACKEND = env("SMS_BACKEND", default="registration.messaging.sms.OutboxSmsBackend")
# True in production.py: the app refuses to start (registration/apps.py) while email or texts would
# not leave the machine, or the email provider's webhook has no secret (registration/checks.py).
REFUSE_STAND_IN_PROVIDERS = False
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="")  # only to point tests at a fake Twilio
WELCOME_MAX_ATTEMPTS = env.int("WELCOME_MAX_ATTEMPTS", default=5)
WELCOME_RETRY_BASE_SECONDS = env.int("WELCOME_RETRY_BASE_SECONDS", default=60)
# Emails about a parent's account (confirm your address, password reset) retry the same way by default.
PARENT_EMAIL_MAX_ATTEMPTS = env.int("PARENT_EMAIL_MAX_ATTEMPTS", default=WELCOME_MAX_ATTEMPTS)
PARENT_EMAIL_RETRY_BASE_SECONDS = env.int(
    "PARENT_EMAIL_RETRY_BASE_SECONDS", default=WELCOME_RETRY_BASE_SECONDS
)
# EHR import (issue 7): where an uploaded file waits between its preview and its import, and how large
# it may be (a larger one goes through `manage.py import_ehr`). 250 MB takes a 100,000-patient practice's
# CSV (18 MB) or each file of its FHIR bulk export (RelatedPerson.ndjson: 114 MB in the bench's shape).
IMPORT_UPLOAD_DIR = env.path("IMPORT_UPLOAD_DIR", default=BASE_DIR / "var" / "imports")
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=250_000_000)
# Seconds an uploaded file may wait for its preview to be confirmed (or a run for the task worker to
# progress) before `manage.py prune_import_uploads` deletes it.
IMPORT_UPLOAD_MAX_AGE = env.int("IMPORT_UPLOAD_MAX_AGE", default=60 * 60)
# The largest file `import_ehr` reads (a FHIR Bundle is parsed whole: about ten times its size in memory).
IMPORT_MAX_FILE_BYTES = env.int("IMPORT_MAX_FILE_BYTES", default=1_000_000_000)
# Which FHIR Patient identifier is the chart number (docs/import.md): identifier systems (URIs or OIDs)
# first, in order, then type labels (a v2-0203 code, or a type text as Epic sends "MRN" and "EPI").
EHR_MRN_SYSTEMS = env.list("EHR_MRN_SYSTEMS", default=[])
EHR_MRN_TYPES = env.list("EHR_MRN_TYPES", default=["MR", "MRN", "MEDICAL RECORD NUMBER", "EPI"])
# The EHR's live feed (issue 16, docs/hl7.md): HL7 v2 over MLLP from `manage.py hl7_listen`. It listens
# on this address only; TLS when a certificate and key are given, and then, with a client CA, only
# clients whose certificate that CA signed and (when listed) whose subject CN is allowed.
HL7_LISTEN_HOST = env("HL7_LISTEN_HOST", default="127.0.0.1")
HL7_LISTEN_PORT = env.int("HL7_LISTEN_PORT", default=2575)
HL7_LISTEN_WORKERS = env.int("HL7_LISTEN_WORKERS", default=1)  # processes sharing the port: one per core
HL7_TLS_CERT = env("HL7_TLS_CERT", default="")
HL7_TLS_KEY = env("HL7_TLS_KEY", default="")
HL7_TLS_CLIENT_CA = env("HL7_TLS_CLIENT_CA", default="")
HL7_TLS_ALLOWED_CLIENTS = env.list("HL7_TLS_ALLOWED_CLIENTS", default=[])
# Limits: a message larger than this is answered AR and dropped; more connections than this are
# closed at once; a connection sending faster than this many messages a second is slowed, not refused.
HL7_MAX_MESSAGE_BYTES = env.int("HL7_MAX_MESSAGE_BYTES", default=1_000_000)
HL7_MAX_CONNECTIONS = env.int("HL7_MAX_CONNECTIONS", default=16)
HL7_MAX_MESSAGES_PER_SECOND = env.int("HL7_MAX_MESSAGES_PER_SECOND", default=1000)
HL7_IDLE_TIMEOUT = env.int("HL7_IDLE_TIMEOUT", default=600)  # seconds a silent connection is kept
# Days a received message's text is kept for admins to read, then blanked (`manage.py prune_hl7_messages`).
HL7_RAW_RETENTION_DAYS = env.int("HL7_RAW_RETENTION_DAYS", default=30)
# What the portal calls itself in its ACKs (MSH-3 and MSH-4).
HL7_APPLICATION = env("HL7_APPLICATION", default="PORTALREG")
HL7_FACILITY = env("HL7_FACILITY", default="")
# How old the statistics snapshot staff pages read may be before the task worker counts it again.
STATISTICS_MAX_AGE = env.int("STATISTICS_MAX_AGE", default=60)
# The kept registration counts are checked against a full count this often (registration.statistics.tallies).
STATISTICS_RECOUNT_SECONDS = env.int("STATISTICS_RECOUNT_SECONDS", default=24 * 3600)


# ---------------------------------------------------------------- background work
TASKS = {"default": {"BACKEND": env("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}}


# ---------------------------------------------------------------- logging
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
