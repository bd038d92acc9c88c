"""Write a welcome message and hand it to the email or SMS provider.

A message holds the practice's name, the portal's registration address and the PIN, and nothing
about the child: no name, date of birth or chart number. The PIN is not in the URL.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from registration.models import WelcomeMessage
from registration.sms import sms_backend


class _Pin(str):
    """The PIN in a template's context: renders as itself, but its repr is "[PIN]".

    Django's template engine logs (at DEBUG) the whole context when a variable lookup fails, and
    tracebacks of rendering errors show it too: neither must write the PIN down.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'[PIN]'"


def welcome_content(message: WelcomeMessage, code: str) -> dict:
    return {
        "practice_name": settings.PRACTICE_NAME,
        "portal_url": settings.PORTAL_BASE_URL + reverse("portal:pin-start"),
        "code": _Pin(code),
        "expires_on": message.pin.expires_at,
        # email.html reads it; rendered without a request, no context processor supplies it.
        "LANGUAGE_CODE": translation.get_language(),
    }


def welcome_deliver(message: WelcomeMessage, code: str) -> str:
    """Send the message in its language; return the provider's id for it ('' if it gives none)."""
    with translation.override(message.language):
        context = welcome_content(message, code)
        if message.channel == WelcomeMessage.Channel.SMS:
            # One SMS segment is 160 characters: phones link an address without its https:// (and the
            # portal redirects http to https), which leaves room for a long practice domain.
            context["portal_url"] = context["portal_url"].removeprefix("https://")
            body = render_to_string("welcome/sms.txt", context).strip()
            return sms_backend().send(to=message.address, body=body, reference=str(message.pk))
        email = EmailMultiAlternatives(
            subject=render_to_string("welcome/email_subject.txt", context).strip(),
            body=render_to_string("welcome/email.txt", context),
            to=[message.address],
        )
        email.attach_alternative(render_to_string("welcome/email.html", context), "text/html")
        email.send()
    status = getattr(email, "anymail_status", None)  # set by anymail's backends only
    return (status.message_id or "") if status is not None else ""
