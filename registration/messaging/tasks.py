"""Background work: sending welcome messages and emails about parents' accounts, with retries, outside
the request that queued them.

Task arguments are stored in the queue's table, so they carry only a row id, never a PIN or a token.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.tasks import default_task_backend, task
from django.utils import timezone
from twilio.base.exceptions import TwilioRestException

from registration.messaging.delivery import (
    TextUnreadable,
    enrollment_code_deliver,
    welcome_deliver,
    welcome_text_find,
)
from registration.messaging.parent_emails import parent_email_deliver
from registration.models import WelcomeMessage
from registration.services import account_emails, enrollment_codes, welcome_delivery

log = logging.getLogger(__name__)


@task
def send_welcome_message(message_id: int) -> str:
    claimed = welcome_delivery.welcome_message_claim(message_id=message_id)
    if claimed is None:
        return "not due"
    try:
        provider_id = welcome_deliver(claimed.message, claimed.code)
    except Exception as error:  # any provider or network failure: record it, try again later
        reason = _describe(error, claimed.code)
        retry_at = welcome_delivery.welcome_message_attempt_failed(
            message_id=message_id,
            error=reason,
            refused=provider_refused(error),
            permanent=refused_for_good(error),
        )
        log.warning("welcome message %s attempt %s failed: %s", message_id, claimed.message.attempts, reason)
        if retry_at is not None:
            welcome_message_enqueue(message_id, run_after=retry_at)
        return "failed"
    welcome_delivery.welcome_message_sent(message_id=message_id, provider_message_id=provider_id)
    return "sent"


# Twilio's codes for a number that can never take this text: not a valid number, opted out (STOP),
# not a mobile, a landline. https://www.twilio.com/docs/api/errors
TWILIO_PERMANENT_CODES = frozenset({21211, 21610, 21612, 21614})


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


def welcome_message_enqueue(message_id: int, *, run_after: datetime | None = None) -> None:
    """Queue a send. A backend that cannot defer (the demo's immediate one) leaves retries to
    `manage.py send_welcome_messages`."""
    if run_after is None:
        send_welcome_message.enqueue(message_id)
    elif default_task_backend.supports_defer:
        send_welcome_message.using(run_after=run_after).enqueue(message_id)


@dataclass
class StuckRecovery:
    """What became of the messages whose sender died mid-send, by id."""

    released: list[int] = field(default_factory=list)  # the provider never took it: due to be sent again
    found_sent: list[int] = field(default_factory=list)  # the provider took it: recorded as sent
    maybe_sent: list[int] = field(default_factory=list)  # no way to ask (email): left to staff
    unchecked: list[int] = field(default_factory=list)  # the provider could not be asked: the next sweep will


def welcome_messages_recover_stuck(*, older_than: timedelta, now: datetime | None = None) -> StuckRecovery:
    """Settle the messages left 'sending' for longer than `older_than`, without sending any twice.

    A text may have reached Twilio just before its sender died: Twilio is asked, and a text it took is
    recorded as sent rather than sent again. Email providers cannot be asked, so a stuck email is not
    resent blindly: staff see it as "may not have been sent" and choose to resend.
    """
    now = now or timezone.now()
    recovery = StuckRecovery()
    for message in welcome_delivery.welcome_messages_stuck(older_than=older_than, now=now):
        claim = {"message_id": message.pk, "claimed_at": message.sending_since, "now": now}
        if message.channel == WelcomeMessage.Channel.EMAIL:
            if welcome_delivery.welcome_message_maybe_sent(**claim):
                recovery.maybe_sent.append(message.pk)
            continue
        try:
            provider_id = welcome_text_find(message)
        except TextUnreadable:
            if welcome_delivery.welcome_message_maybe_sent(**claim):
                recovery.maybe_sent.append(message.pk)
            continue
        except Exception as error:  # the provider is down too: it stays 'sending' until it can be asked
            reason = _error_text(error)[:300]
            log.warning("welcome message %s: could not ask the SMS provider about it: %s", message.pk, reason)
            recovery.unchecked.append(message.pk)
            continue
        if provider_id:
            if welcome_delivery.welcome_message_found_sent(provider_message_id=provider_id, **claim):
                recovery.found_sent.append(message.pk)
        elif welcome_delivery.welcome_message_release(**claim):
            recovery.released.append(message.pk)
    return recovery


def _describe(error: Exception, code: str) -> str:
    """A short reason for staff and logs, with the PIN scrubbed in case a provider echoed it back."""
    text = _error_text(error)
    for form in {code, code.replace("-", "")}:
        text = text.replace(form, "[PIN]")
    return text[:300]


def _error_text(error: Exception) -> str:
    status = getattr(error, "status", None) or getattr(error, "status_code", None)
    # str() of Twilio's error adds terminal colours and the request line when stderr is a terminal
    # (a worker started by hand), which pushed the provider's answer past the 300 characters kept.
    detail = error.msg if isinstance(error, TwilioRestException) else error
    return f"{type(error).__name__}{f' {status}' if status else ''}: {detail}"


# ---------------------------------------------------------------- emails about a parent's account


@task
def send_parent_account_email(email_id: int) -> str:
    """Send one email of the outbox (`ParentAccountEmail`); its link is made now, so never stored."""
    claimed = account_emails.parent_email_claim(email_id=email_id)
    if claimed is None:
        return "not due"
    try:
        provider_id = parent_email_deliver(claimed)
    except Exception as error:  # any provider or network failure: record it, try again later
        reason = _without_links(_error_text(error))[:300]
        retry_at = account_emails.parent_email_attempt_failed(email_id=email_id, error=reason)
        log.warning("parent email %s attempt %s failed: %s", email_id, claimed.attempts, reason)
        if retry_at is not None:
            parent_email_enqueue(email_id, run_after=retry_at)
        return "failed"
    account_emails.parent_email_sent(email_id=email_id, provider_message_id=provider_id)
    return "sent"


def parent_email_enqueue(email_id: int, *, run_after: datetime | None = None) -> None:
    """Queue a send; as for welcome messages, `send_welcome_messages` makes the retries a backend
    that cannot defer leaves."""
    if run_after is None:
        send_parent_account_email.enqueue(email_id)
    elif default_task_backend.supports_defer:
        send_parent_account_email.using(run_after=run_after).enqueue(email_id)


@task
def queue_parent_account_email(kind: str, account_id: int | None) -> str:
    """Queue the email a parent's request asked for (`account_emails._request`); nothing if
    the address named no account, or a limit holds it back."""
    if account_id is None:
        return "no account"
    queued = account_emails.parent_email_requested(account_id=account_id, kind=kind)
    return "queued" if queued else "held back"


# A link in the email, which holds a token, should the provider quote the email back in its error.
_LINK = re.compile(r"https?://\S+")


def _without_links(text: str) -> str:
    return _LINK.sub("[link]", text)


# ---------------------------------------------------------------- sign-up codes to the contact on file


@task
def send_enrollment_codes(account_id: int) -> str:
    """Make and send the codes an account's waiting sign-up requests call for (none if they match no
    contact on file). One attempt: a code not sent leaves the request to staff, as before codes."""
    sent = 0
    for code in enrollment_codes.enrollment_codes_make(account_id=account_id):
        try:
            enrollment_code_deliver(code)
        except Exception as error:  # the provider failed: record it; staff still verify the request
            reason = _describe(error, code.code)
            log.warning("sign-up code for account %s failed: %s", account_id, reason)
            enrollment_codes.enrollment_code_record(sent=code, delivered=False, error=reason)
        else:
            enrollment_codes.enrollment_code_record(sent=code, delivered=True)
            sent += 1
    return f"sent {sent}"
