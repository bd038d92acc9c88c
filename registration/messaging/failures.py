"""The provider-failure policy, for every message kind: which errors mean the provider answered and
refused, which mean the address can never take the message, and how an error is written down for staff
and logs (never with the PIN or the link the message carried)."""

import re
from dataclasses import dataclass
from datetime import datetime

import requests
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from twilio.base.exceptions import TwilioRestException

# Twilio's codes for a number that can never take this text: not a valid number, opted out (STOP),
# not a mobile, a landline. https://www.twilio.com/docs/api/errors
TWILIO_PERMANENT_CODES = frozenset({21211, 21610, 21612, 21614})
# A link in a message, which may hold a token, should the provider quote the message back in its error.
_LINK = re.compile(r"https?://\S+")
# What is kept of an error: enough for staff to act on.
REASON_LENGTH = 300


def provider_refused(error: Exception) -> bool:
    """The provider answered and did not take the message (not a timeout or a lost connection, after
    which it may have sent it all the same)."""
    if isinstance(error, TwilioRestException | AnymailRecipientsRefused):
        return True
    # Anymail raises its API error from the HTTP library's own when there was no answer.
    return isinstance(error, AnymailAPIError) and not isinstance(error.__cause__, requests.RequestException)


def refused_for_good(error: Exception) -> bool:
    """The provider rejected the address itself: trying again later would fail the same way."""
    if isinstance(error, AnymailRecipientsRefused):
        return True
    return isinstance(error, TwilioRestException) and error.code in TWILIO_PERMANENT_CODES


def error_text(error: Exception) -> str:
    """The error's type, HTTP status if any, and message."""
    status = getattr(error, "status", None) or getattr(error, "status_code", None)
    # str() of Twilio's error adds terminal colours and the request line when stderr is a terminal
    # (a worker started by hand), which pushed the provider's answer past the characters kept.
    detail = error.msg if isinstance(error, TwilioRestException) else error
    return f"{type(error).__name__}{f' {status}' if status else ''}: {detail}"


def error_describe(error: Exception, *, pin: str = "") -> str:
    """A short reason for staff and logs, with the PIN (or code) and any link scrubbed, in case the
    provider quoted the message back."""
    text = error_text(error)
    for form in {pin, pin.replace("-", "")} - {""}:
        text = text.replace(form, "[PIN]")
    return _LINK.sub("[link]", text)[:REASON_LENGTH]


@dataclass(frozen=True)
class AttemptFailure:
    """A failed attempt as the policy reads it, and when the message is tried again (None: given up)."""

    reason: str
    retry_at: datetime | None
