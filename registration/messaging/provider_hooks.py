"""Delivery reports from the email and SMS providers."""

from functools import wraps

from anymail.utils import get_anymail_setting
from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from registration.messaging import welcome_outbox
from registration.models import WelcomeMessage


def anymail_tracking_urlpatterns(esp: str) -> list:
    """The delivery-report webhook of the email provider in use (anymail's route for it); [] for none.

    anymail.urls routes every provider's webhooks, and those of providers left unconfigured answer any
    POST with a server error: mounting only ours leaves the others to answer 404.
    """
    from anymail import urls

    return [
        URLPattern(
            pattern.pattern, _refused_without_secret(pattern.callback), pattern.default_args, pattern.name
        )
        for pattern in urls.urlpatterns
        if esp and pattern.name == f"{esp}_tracking_webhook"
    ]


def _refused_without_secret(webhook):
    """Answer 403 while ANYMAIL has no WEBHOOK_SECRET: anymail itself would take anyone's reports then,
    with only a warning (issue 12, finding 6). Read at each request, as anymail reads it."""

    @csrf_exempt
    @wraps(webhook)
    def guarded(request, *args, **kwargs):
        if not get_anymail_setting("webhook_secret", default=None):
            return HttpResponseForbidden("No webhook secret is configured")
        return webhook(request, *args, **kwargs)

    return guarded


# Twilio's MessageStatus values that settle a text's fate.
TWILIO_OUTCOMES = {"delivered": "delivered", "undelivered": "undelivered", "failed": "failed"}


@csrf_exempt
@require_POST
def twilio_status(request):
    """Twilio's status callback. Refused unless signed with our auth token."""
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    url = settings.PORTAL_BASE_URL + request.path  # the address Twilio signed, as we told it
    signature = request.headers.get("X-Twilio-Signature", "")
    if not settings.TWILIO_AUTH_TOKEN or not validator.validate(url, request.POST.dict(), signature):
        return HttpResponseForbidden("Bad signature")
    outcome = TWILIO_OUTCOMES.get(request.POST.get("MessageStatus", ""))
    if outcome:
        welcome_outbox.welcome_message_provider_report(
            channel=WelcomeMessage.Channel.SMS,
            provider_message_id=request.POST.get("MessageSid", ""),
            outcome=outcome,
        )
    return HttpResponse(status=204)
