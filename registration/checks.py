"""Deployment checks of this project's own settings, run by `manage.py check --deploy`."""

from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core import checks


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
    """Texts written to files are not sent: a deployment would show PINs as sent that nobody received."""
    if settings.SMS_BACKEND != "registration.sms.OutboxSmsBackend":
        return []
    return [
        checks.Error(
            "SMS_BACKEND is the outbox: texts (welcome PINs among them) would be written to files in "
            "OUTBOX_DIR and recorded as sent.",
            hint="Set SMS_BACKEND=registration.sms.TwilioSmsBackend and the TWILIO_* settings.",
            id="registration.E002",
        )
    ]
