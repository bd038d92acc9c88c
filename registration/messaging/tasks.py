"""Background work: sending welcome messages and emails about parents' accounts, with retries, outside
the request that queued them. Each task claims, delivers and records; the outbox services hold the rules.

Task arguments are stored in the queue's table, so they carry only a row id, never a PIN or a token.
"""

import logging
from datetime import datetime

from django.tasks import default_task_backend, task

from registration.messaging import account_email_outbox, welcome_outbox
from registration.messaging.delivery import enrollment_code_deliver, welcome_deliver
from registration.messaging.failures import error_describe
from registration.messaging.parent_emails import parent_email_deliver
from registration.services import enrollment_codes

log = logging.getLogger(__name__)


@task
def send_welcome_message(message_id: int) -> str:
    claimed = welcome_outbox.welcome_message_claim(message_id=message_id)
    if claimed is None:
        return "not due"
    try:
        provider_id = welcome_deliver(claimed.message, claimed.code)
    except Exception as error:  # any provider or network failure: record it, try again later
        failure = welcome_outbox.welcome_message_failed_with(claimed, error)
        log.warning(
            "welcome message %s attempt %s failed: %s", message_id, claimed.message.attempts, failure.reason
        )
        if failure.retry_at is not None:
            welcome_message_enqueue(message_id, run_after=failure.retry_at)
        return "failed"
    welcome_outbox.welcome_message_sent(message_id=message_id, provider_message_id=provider_id)
    return "sent"


def welcome_message_enqueue(message_id: int, *, run_after: datetime | None = None) -> None:
    """Queue a send. A backend that cannot defer (the demo's immediate one) leaves retries to
    `manage.py send_welcome_messages`."""
    _enqueue(send_welcome_message, message_id, run_after)


# ---------------------------------------------------------------- emails about a parent's account


@task
def send_parent_account_email(email_id: int) -> str:
    """Send one email of the outbox (`ParentAccountEmail`); its link is made now, so never stored."""
    claimed = account_email_outbox.parent_email_claim(email_id=email_id)
    if claimed is None:
        return "not due"
    try:
        provider_id = parent_email_deliver(claimed)
    except Exception as error:  # any provider or network failure: record it, try again later
        failure = account_email_outbox.parent_email_failed_with(claimed, error)
        log.warning("parent email %s attempt %s failed: %s", email_id, claimed.attempts, failure.reason)
        if failure.retry_at is not None:
            parent_email_enqueue(email_id, run_after=failure.retry_at)
        return "failed"
    account_email_outbox.parent_email_sent(email_id=email_id, provider_message_id=provider_id)
    return "sent"


def parent_email_enqueue(email_id: int, *, run_after: datetime | None = None) -> None:
    """Queue a send; as for welcome messages, `send_welcome_messages` makes the retries a backend
    that cannot defer leaves."""
    _enqueue(send_parent_account_email, email_id, run_after)


@task
def queue_parent_account_email(kind: str, account_id: int | None) -> str:
    """Queue the email a parent's request asked for (`account_email_requests`); nothing if the address
    named no account, or a limit holds it back."""
    if account_id is None:
        return "no account"
    queued = account_email_outbox.parent_email_requested(
        account_id=account_id, kind=kind, enqueue=parent_email_enqueue
    )
    return "queued" if queued else "held back"


def _enqueue(send, row_id: int, run_after: datetime | None) -> None:
    if run_after is None:
        send.enqueue(row_id)
    elif default_task_backend.supports_defer:
        send.using(run_after=run_after).enqueue(row_id)


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
            reason = error_describe(error, pin=code.code)
            log.warning("sign-up code for account %s failed: %s", account_id, reason)
            enrollment_codes.enrollment_code_record(sent=code, delivered=False, error=reason)
        else:
            enrollment_codes.enrollment_code_record(sent=code, delivered=True)
            sent += 1
    return f"sent {sent}"
