"""Background work: sending welcome messages, with retries, outside the request that queued them.

Task arguments are stored in the queue's table, so they carry only a message id, never a PIN.
"""

import logging
from datetime import datetime

from django.tasks import default_task_backend, task
from twilio.base.exceptions import TwilioRestException

from registration.delivery import welcome_deliver
from registration.services import welcome_delivery

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
        retry_at = welcome_delivery.welcome_message_attempt_failed(message_id=message_id, error=reason)
        log.warning("welcome message %s attempt %s failed: %s", message_id, claimed.message.attempts, reason)
        if retry_at is not None:
            welcome_message_enqueue(message_id, run_after=retry_at)
        return "failed"
    welcome_delivery.welcome_message_sent(message_id=message_id, provider_message_id=provider_id)
    return "sent"


def welcome_message_enqueue(message_id: int, *, run_after: datetime | None = None) -> None:
    """Queue a send. A backend that cannot defer (the demo's immediate one) leaves retries to
    `manage.py send_welcome_messages`."""
    if run_after is None:
        send_welcome_message.enqueue(message_id)
    elif default_task_backend.supports_defer:
        send_welcome_message.using(run_after=run_after).enqueue(message_id)


def _describe(error: Exception, code: str) -> str:
    """A short reason for staff and logs, with the PIN scrubbed in case a provider echoed it back."""
    status = getattr(error, "status", None) or getattr(error, "status_code", None)
    # str() of Twilio's error adds terminal colours and the request line when stderr is a terminal
    # (a worker started by hand), which pushed the provider's answer past the 300 characters kept.
    detail = error.msg if isinstance(error, TwilioRestException) else error
    text = f"{type(error).__name__}{f' {status}' if status else ''}: {detail}"
    for form in {code, code.replace("-", "")}:
        text = text.replace(form, "[PIN]")
    return text[:300]


@task
def send_parent_account_email(kind: str, user_id: int) -> str:
    """Email a parent about their account: 'verify' their address, or 'exists' (someone tried to sign up
    with it). The link's token is made here, so it is never stored in the queue."""
    from registration.parent_emails import parent_account_email_send

    parent_account_email_send(kind, user_id)
    return "sent"
