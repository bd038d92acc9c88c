"""Write a welcome message and hand it to the email or SMS provider.

A message holds the practice's name, the portal's registration address and the PIN, and nothing
about the child: no name, date of birth or chart number. The email's link carries the PIN in its
fragment only (`/portal/pin/#pin=...`), which browsers never send to a server: no request, log or
Referer holds it, and opening the link (as mail scanners do) consumes nothing. The page's own script
fills the PIN in from it.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from portalreg.languages import portal_address
from portalreg.practice import practice_details
from registration.messaging.sms import sms_backend
from registration.models import WelcomeMessage
from registration.pin_codes import pin_link
from registration.selectors.access import contact_is_patient


class _Pin(str):
    """The PIN in a template's context: renders as itself, but its repr is "[PIN]".

    Django's template engine logs (at DEBUG) the whole context when a variable lookup fails, and
    tracebacks of rendering errors show it too: neither must write the PIN down.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'[PIN]'"


def welcome_content(message: WelcomeMessage, code: str) -> dict:
    page = reverse("portal:pin-start")
    link = portal_address(page, language=message.language)
    return {
        **practice_details(),
        # Shown to be read (and typed); the links open the portal in the message's language.
        "portal_url": settings.PORTAL_BASE_URL + page,
        "portal_link": link,
        "pin_url": _Pin(pin_link(link, code)),
        "code": _Pin(code),
        "expires_on": message.pin.expires_at,
        "own_account": contact_is_patient(
            patient_id=message.pin.patient_id, contact_id=message.pin.contact_id
        ),
        # email.html reads it; rendered without a request, no context processor supplies it.
        "LANGUAGE_CODE": translation.get_language(),
    }


def welcome_deliver(message: WelcomeMessage, code: str) -> str:
    """Send the message in its language; return the provider's id for it ('' if it gives none)."""
    with translation.override(message.language):
        context = welcome_content(message, code)
        if message.channel == WelcomeMessage.Channel.SMS:
            # One SMS segment is 160 characters: phones link an address without its https:// (and the
            # portal redirects http to https), which leaves room for a long practice domain, but not
            # for the PIN in a link as well: the text links to the page and the parent types the PIN.
            context["portal_link"] = context["portal_link"].removeprefix("https://")
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


def enrollment_code_deliver(sent) -> str:
    """Send a sign-up code (`services.enrollment_codes.CodeToSend`) to the contact's phone or email on
    file, in the contact's language; return the provider's id for it ('' if it gives none)."""
    context = {
        **practice_details(),
        "first_name": sent.contact.first_name,
        "code": _Pin(sent.code),
        "LANGUAGE_CODE": sent.contact.preferred_language,
    }
    with translation.override(sent.contact.preferred_language):
        if sent.channel == "sms":
            body = render_to_string("portal/sms/enrollment_code.txt", context).strip()
            reference = f"code-{sent.account.pk}-{sent.contact.pk}"
            return sms_backend().send(to=sent.address, body=body, reference=reference)
        email = EmailMultiAlternatives(
            subject=render_to_string("portal/email/enrollment_code_subject.txt", context).strip(),
            body=render_to_string("portal/email/enrollment_code.txt", context),
            to=[sent.address],
        )
        email.send()
    status = getattr(email, "anymail_status", None)
    return (status.message_id or "") if status is not None else ""


# A PIN as a message shows it; its first group is the PIN row's `lookup`.
_PIN_IN_TEXT = re.compile(r"\b([0-9A-Z]{4})-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
# The provider's clock and ours may differ: look a little before the claim.
_CLOCK_SLACK = timedelta(minutes=5)


class TextUnreadable(Exception):
    """The provider took a text for this number since the claim, but withholds its body (redaction)."""


def welcome_text_find(message: WelcomeMessage) -> str:
    """Ask the SMS provider whether it took this message's text after the message was claimed; return
    the provider's id for it, or '' if it took none.

    The text is known by its PIN's first group, which the claim stored on the PIN row (alone it unlocks
    nothing): another text to the same number, e.g. a sibling's, carries another PIN.
    """
    unreadable = False
    for text in sms_backend().texts_sent(to=message.address, since=message.sending_since - _CLOCK_SLACK):
        if message.pin.lookup in _PIN_IN_TEXT.findall(text.body):
            return text.sid
        unreadable |= not text.body
    if unreadable:
        raise TextUnreadable()
    return ""
