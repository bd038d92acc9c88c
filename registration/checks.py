"""Deployment checks of this project's own settings, run by `manage.py check --deploy`, and by the
production settings at every start-up (`production_refusals`, registration/apps.py)."""

from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core import checks
from django.core.checks.mail import check_mailers_production_backend
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from registration.access_policy import access_policy

# Mailers that send nothing, besides Django's own (which its check --deploy refuses as mail.E001).
STAND_IN_MAILERS = {
    "registration.messaging.mail_backend.OutboxEmailBackend",
    "anymail.backends.console.EmailBackend",
    "anymail.backends.test.EmailBackend",
}


@checks.register(checks.Tags.security, deploy=True)
def anymail_webhook_secret_check(app_configs, **kwargs):
    """An anymail mailer needs the webhook's shared secret, or delivery reports are refused (or forged)."""
    backend = settings.MAILERS["default"]["BACKEND"]
    if not backend.startswith("anymail.") or get_anymail_setting("webhook_secret", default=None):
        return []
    return [
        checks.Error(
            f"The mailer is anymail's ({backend}) but ANYMAIL has no WEBHOOK_SECRET.",
            hint=(
                'Set ANYMAIL to JSON with "WEBHOOK_SECRET": "user:password" and give the provider the '
                f"delivery-report address with those credentials: {settings.PORTAL_BASE_URL}/hooks/anymail/"
                f"{settings.MAIL_TRACKING_ESP or '<provider>'}/tracking/."
            ),
            id="registration.E001",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def sms_outbox_check(app_configs, **kwargs):
    """Texts written to files are not sent: a deployment would show PINs as sent that nobody received.
    A backend that cannot be imported would fail every text; the backends moved once (`registration.sms`
    to `registration.messaging.sms`), and an environment may still name the old place."""
    try:
        import_string(settings.SMS_BACKEND)
    except ImportError:
        return [
            checks.Error(
                f"SMS_BACKEND names {settings.SMS_BACKEND!r}, which cannot be imported: no text would go.",
                hint="Set SMS_BACKEND=registration.messaging.sms.TwilioSmsBackend and the TWILIO_* settings.",
                id="registration.E004",
            )
        ]
    if settings.SMS_BACKEND != "registration.messaging.sms.OutboxSmsBackend":
        return []
    return [
        checks.Error(
            "SMS_BACKEND is the outbox: texts (welcome PINs among them) would be written to files in "
            "OUTBOX_DIR and recorded as sent.",
            hint="Set SMS_BACKEND=registration.messaging.sms.TwilioSmsBackend and the TWILIO_* settings.",
            id="registration.E002",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def stand_in_mailer_check(app_configs, **kwargs):
    """Emails written to files or the console are not sent either."""
    backend = settings.MAILERS["default"]["BACKEND"]
    if backend not in STAND_IN_MAILERS:
        return []
    return [
        checks.Error(
            f"The mailer ({backend}) sends nothing: emails (welcome PINs among them) would be recorded "
            "as sent.",
            hint="Set MAIL_BACKEND to a provider's, e.g. anymail.backends.postmark.EmailBackend.",
            id="registration.E003",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def proxy_check(app_configs, **kwargs):
    """Behind a TLS proxy, https is known only from its X-Forwarded-Proto, believed only from
    TRUSTED_PROXIES: with none, every request is redirected to https, for ever."""
    if not settings.SECURE_SSL_REDIRECT or settings.TRUSTED_PROXIES:
        return []
    return [
        checks.Warning(
            "TRUSTED_PROXIES is empty: X-Forwarded-Proto and X-Forwarded-For are believed from no one, so "
            "behind a proxy that ends TLS every request would be redirected to https again, and every "
            "client would count as the proxy's address.",
            hint="Set TRUSTED_PROXIES to the proxy's addresses or network, e.g. 10.0.0.0/24. If gunicorn "
            "itself ends TLS, silence this with SILENCED_SYSTEM_CHECKS.",
            id="registration.W001",
        )
    ]


@checks.register()
def access_policy_check(app_configs, **kwargs):
    """A mistyped ACCESS_POLICY or override would refuse every PIN at the desk: say so at start-up."""
    try:
        access_policy()
    except ImproperlyConfigured as error:
        return [
            checks.Error(
                str(error),
                hint="registration/access_policy.py lists the presets; README, the ACCESS_* settings.",
                id="registration.E005",
            )
        ]
    return []


def production_refusals() -> list[checks.CheckMessage]:
    """What keeps the production settings from starting: a mailer or SMS backend that sends nothing,
    or an email provider's webhook without its secret (issue 12, findings 5 and 6).

    Checked when the app loads, not only by `check --deploy`: gunicorn runs no system checks.
    """
    return [
        *check_mailers_production_backend(None),
        *stand_in_mailer_check(None),
        *anymail_webhook_secret_check(None),
        *sms_outbox_check(None),
        *access_policy_check(None),
    ]
