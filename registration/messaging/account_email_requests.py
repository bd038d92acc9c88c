"""Asking for an email about a parent's account: queued now, sent by the task queue once committed.

An email asked for by typing an address (a password reset, the link again, the notice to an address that
has an account) is handed to the task worker with the account's id, or none, and the worker makes its
row: the request does the same work whether or not the address has an account.
"""

from datetime import datetime

from registration.messaging import account_email_outbox, tasks
from registration.models import ParentAccountEmail, PortalAccount

Kind = ParentAccountEmail.Kind


def parent_email_queue(
    *, account: PortalAccount, kind: ParentAccountEmail.Kind, now: datetime | None = None
) -> ParentAccountEmail:
    """Queue an email to the parent, for the task queue to send once it is committed; return it.

    An email of the same kind still waiting or being sent is returned instead of queueing a second.
    """
    accounts = PortalAccount.objects.filter(pk=account.pk)
    return account_email_outbox.parent_email_queue_for(
        accounts, kind=kind, enqueue=tasks.parent_email_enqueue, now=now
    )


def parent_email_verification_queue(*, account: PortalAccount, now: datetime) -> ParentAccountEmail:
    """Within the transaction that made `account`: queue its 'confirm your address' email, sent once
    that transaction commits (and never if it rolls back). A new account has no email waiting."""
    return account_email_outbox.parent_email_queue_first(
        account, kind=Kind.VERIFY, now=now, enqueue=tasks.parent_email_enqueue
    )


def parent_email_password_reset(*, email: str) -> None:
    """Have a 'choose a new password' email sent to the enabled parent account with this address, if
    there is one (staff reset theirs with an admin). The caller answers the same either way."""
    _request(_accounts_by_email(email).filter(user__is_active=True), kind=Kind.PASSWORD_RESET)


def parent_email_verification_resend(*, email: str) -> None:
    """Have the 'confirm your address' email sent again to the enabled account with this address, if it
    is not confirmed yet. The caller answers the same either way."""
    _request(_accounts_by_email(email).filter(email_verified_at__isnull=True), kind=Kind.VERIFY)


def parent_email_sign_up_with_existing(*, email: str) -> None:
    """Tell the owner of `email` that someone tried to sign up with it, at most once an hour
    (`RATE_LIMITS["sign_up_notice"]`); nothing if no enabled parent account has it (it is a staff
    member's, or disabled). The caller answers as if the account were new."""
    _request(_accounts_by_email(email), kind=Kind.EXISTS)


def _request(accounts, *, kind: ParentAccountEmail.Kind) -> None:
    """Hand the email to the task worker with the id of the account `accounts` finds, or None.

    The request does the same work whether or not the address has an account (one SELECT, one task
    INSERT), so it answers in the same time: making the outbox row here took a known address 50 ms
    against 33 ms for an unknown one (issue 12, finding 7). The worker makes the row, or nothing.
    """
    tasks.queue_parent_account_email.enqueue(str(kind), accounts.values_list("pk", flat=True).first())


def _accounts_by_email(email: str):
    return PortalAccount.objects.filter(user__email__iexact=email.strip(), disabled_at__isnull=True)
