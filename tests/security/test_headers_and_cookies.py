"""Headers and cookies: no page is cached, every page carries the security headers, and the production
settings make cookies Secure, HttpOnly and SameSite and pass `check --deploy`."""

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from tests.factories import AppointmentFactory, PatientContactFactory, admin_user
from tests.security.support import PARENT_PASSWORD, signed_in

pytestmark = pytest.mark.django_db


def production_env(**extra) -> dict:
    """The environment of a production deployment: real providers (the settings refuse to start
    otherwise), with made-up credentials; `extra` changes it."""
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}  # for Playwright
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "portalreg.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "portal.example.org",
        "DATABASE_URL": "sqlite:///:memory:",
        "MAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "MAIL_OPTIONS": "{}",
        "ANYMAIL": json.dumps({"WEBHOOK_SECRET": "user:" + secrets.token_urlsafe(20)}),
        "SMS_BACKEND": "registration.messaging.sms.TwilioSmsBackend",
        "TRUSTED_PROXIES": "10.0.0.0/24",  # our TLS proxy
        **extra,
    }


def production_settings(*names: str) -> dict:
    """Read settings from portalreg.settings.production in a process of their own."""
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}))"
    )
    run = subprocess.run(  # noqa: S603  (our own interpreter and code)
        [sys.executable, "-c", code],
        env=production_env(),
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


def test_no_page_is_stored_by_a_browser_or_proxy(parent):
    link = PatientContactFactory()
    appointment = AppointmentFactory(patient=link.patient)
    staff, family, anonymous = signed_in(admin_user()), signed_in(parent.user), Client()
    pages = {
        staff: [
            reverse("staff:dashboard"),
            reverse("staff:patient-search") + "?q=a",
            reverse("staff:patient-chart", args=[link.patient.pk]),
            reverse("staff:appointment", args=[appointment.pk]),
            reverse("staff:duplicates"),
            reverse("staff:audit"),
        ],
        family: [reverse("portal:home"), reverse("portal:pin-start"), reverse("portal:sign-up")],
        anonymous: [
            reverse("staff:sign-in"),
            reverse("portal:start"),
            reverse("portal:sign-in"),
            reverse("portal:password-reset"),
        ],
    }
    checked = {}
    for browser, urls in pages.items():
        for url in urls:
            response = browser.get(url)
            assert response.status_code == 200, url
            checked[url] = response["Cache-Control"]
    assert all("no-store" in value for value in checked.values()), checked
    print(f"{len(checked)} staff and portal pages checked: every one sent Cache-Control: no-store")


def test_every_page_carries_the_security_headers(client):
    for url in (reverse("portal:start"), reverse("staff:sign-in")):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    print(
        "portal and staff pages: Content-Security-Policy without unsafe-inline, nosniff, "
        "Referrer-Policy same-origin, X-Frame-Options DENY, Cross-Origin-Opener-Policy same-origin"
    )


def test_cookies_are_httponly_and_samesite(client, parent):
    client.get(reverse("portal:sign-in"))
    client.post(reverse("portal:sign-in"), {"username": parent.user.email, "password": PARENT_PASSWORD})
    for name in ("sessionid", "csrftoken", "django_language", "device"):
        cookie = client.cookies[name]
        assert cookie["httponly"] and cookie["samesite"] == "Lax", name


def test_production_cookies_are_secure_and_https_is_strict(client, settings, parent):
    production = production_settings(
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_NAME",
        "LANGUAGE_COOKIE_SECURE",
        "DEVICE_COOKIE_NAME",
        "DEVICE_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
    )
    for name, value in production.items():
        setattr(settings, name, value)

    plain_http = client.get(reverse("portal:sign-in"))
    form = client.get(reverse("portal:sign-in"), secure=True)
    sign_in = client.post(
        reverse("portal:sign-in"),
        {"username": parent.user.email, "password": PARENT_PASSWORD},
        secure=True,
    )

    assert plain_http.status_code == 301 and plain_http["Location"].startswith("https://")
    assert form["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csrf, session = form.cookies.get("__Host-csrftoken"), sign_in.cookies.get("__Host-sessionid")
    language, device = sign_in.cookies["django_language"], sign_in.cookies.get("__Host-device")
    for cookie in (session, csrf, device):
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
        assert cookie["path"] == "/" and not cookie["domain"]  # what __Host- requires
    assert language["secure"] and language["samesite"] == "Lax"
    print(
        "production settings: http redirected to https; HSTS one year with subdomains and preload; "
        "__Host-sessionid, __Host-csrftoken and __Host-device Secure, HttpOnly, SameSite=Lax; language "
        "cookie Secure, Lax"
    )


def run_with_production_settings(*command: str, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603  (our own interpreter and code)
        [sys.executable, *command],
        env=production_env(**extra),
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
    )


def test_deploy_check_passes_with_production_settings():
    run = run_with_production_settings("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert run.returncode == 0, run.stdout + run.stderr
    print(f"manage.py check --deploy --fail-level WARNING: {run.stdout.strip()}")


def test_deploy_check_warns_when_no_proxy_is_trusted():
    """Issue 12, finding 10 made X-Forwarded-Proto count only from TRUSTED_PROXIES; left empty behind a TLS
    proxy, every request would be redirected to https for ever."""
    run = run_with_production_settings(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", TRUSTED_PROXIES=""
    )
    assert run.returncode != 0 and "registration.W001" in run.stdout + run.stderr
    print("check --deploy without TRUSTED_PROXIES: registration.W001")


PROVIDERS = ("MAIL_BACKEND", "MAIL_OPTIONS", "ANYMAIL", "SMS_BACKEND")


def test_production_refuses_to_start_without_real_providers_as_gunicorn_and_the_worker_load_it():
    """Issue 12, finding 5: production defaulted to writing texts (PINs) and emails to files and calling
    them sent, and only `check --deploy`, which gunicorn never runs, said so."""
    served = run_with_production_settings("-c", "import portalreg.wsgi")  # what gunicorn loads
    assert served.returncode == 0, served.stderr
    runs = {
        "gunicorn": ("-c", "import portalreg.wsgi"),
        "the task worker": ("manage.py", "db_worker", "--batch"),
    }
    for name, command in runs.items():
        env = {k: v for k, v in production_env().items() if k not in PROVIDERS}  # production's defaults
        started = subprocess.run(  # noqa: S603  (our own interpreter and code)
            [sys.executable, *command], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True
        )
        assert started.returncode != 0 and "ImproperlyConfigured" in started.stderr, name
        assert "registration.E002: " in started.stderr and "registration.E003: " in started.stderr, name
    print(
        "production settings with real providers: the WSGI application loads; with the default providers "
        "(texts and emails to the outbox) neither it nor manage.py db_worker starts: registration.E002, E003"
    )


def _mailer(backend: str) -> dict:
    return {"MAILERS": {"default": {"BACKEND": backend}}}


# What the production settings refuse to start with, and the check that says so.
STAND_INS = {
    "texts to the outbox": (
        {"SMS_BACKEND": "registration.messaging.sms.OutboxSmsBackend"},
        "registration.E002",
    ),
    "texts to where the backends lived before they moved": (
        {"SMS_BACKEND": "registration.sms.TwilioSmsBackend"},
        "registration.E004",
    ),
    "emails to the outbox (the default mailer)": (
        _mailer("registration.messaging.mail_backend.OutboxEmailBackend"),
        "registration.E003",
    ),
    "Django's file mailer": (_mailer("django.core.mail.backends.filebased.EmailBackend"), "mail.E001"),
    "Django's console mailer": (_mailer("django.core.mail.backends.console.EmailBackend"), "mail.E001"),
    "Django's memory mailer": (_mailer("django.core.mail.backends.locmem.EmailBackend"), "mail.E001"),
    "anymail's test mailer": (_mailer("anymail.backends.test.EmailBackend"), "registration.E003"),
    "anymail without the webhook secret": ({"ANYMAIL": {}}, "registration.E001"),
    "anymail with other settings only": ({"ANYMAIL": {"POSTMARK_SERVER_TOKEN": "x"}}, "registration.E001"),
}


def test_production_refuses_every_stand_in_provider_and_a_webhook_without_its_secret(settings):
    """Issue 12, findings 5 and 6, each stand-in alone, through the app's start-up (registration/apps.py)."""
    settings.REFUSE_STAND_IN_PROVIDERS = True
    settings.SMS_BACKEND = "registration.messaging.sms.TwilioSmsBackend"
    real = {
        **_mailer("anymail.backends.postmark.EmailBackend"),
        "ANYMAIL": {"WEBHOOK_SECRET": "user:" + secrets.token_urlsafe(20)},
    }
    registration = apps.get_app_config("registration")
    for name, value in real.items():
        setattr(settings, name, value)
    registration.ready()  # real providers: starts
    refused = {}
    for name, (stand_in, check) in STAND_INS.items():
        for setting, value in {**real, **stand_in}.items():
            setattr(settings, setting, value)
        with pytest.raises(ImproperlyConfigured, match=f"{check}: "):
            registration.ready()
        refused[name] = check
        settings.SMS_BACKEND = "registration.messaging.sms.TwilioSmsBackend"
    print(
        f"production start-up with real providers: starts; refused with {len(refused)} stand-ins: {refused}"
    )


def test_every_response_refuses_the_browser_features_no_page_uses(client, parent, settings):
    """Permissions-Policy on pages, redirects, errors, the admin and static files alike."""
    settings.WHITENOISE_USE_FINDERS = True  # whitenoise serves static files without collectstatic
    signed_in_parent = signed_in(parent.user)
    responses = {
        "portal start": client.get(reverse("portal:start")),
        "staff sign-in": client.get(reverse("staff:sign-in")),
        "portal home": signed_in_parent.get(reverse("portal:home")),
        "a redirect": client.get(reverse("portal:home")),
        "a 404": client.get("/no/such/page/"),
        "a 403": signed_in_parent.get(reverse("staff:dashboard")),
        "a 405": client.get(reverse("portal:verify-resend")),
        "the admin": client.get("/admin/"),
        "a static file": client.get("/static/css/site.css"),
    }
    assert [r.status_code for r in responses.values()] == [200, 200, 200, 302, 404, 403, 405, 302, 200]
    policies = {name: response.get("Permissions-Policy", "") for name, response in responses.items()}
    assert len(set(policies.values())) == 1, policies
    policy = policies["portal start"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy.split(", "), feature
    assert "=(" in policy and "*" not in policy
    print(f"{len(responses)} responses ({', '.join(responses)}): Permissions-Policy: {policy}")
