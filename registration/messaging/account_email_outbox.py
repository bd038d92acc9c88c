"""Emails about a parent's account (confirm your address; you already have an account; reset your
password) through the outbox: what is particular to them around the one state machine
(`registration.messaging.outbox`).

The link an email carries is made when it is sent, from the account as it is then, so no row, task
argument or log line holds a token. Every change of an email's status is audited, as a welcome message's;
asking for one is not (anyone may ask for a password reset): the row is made, or reused, silently.

Queueing takes the function that hands the new row to the task queue (`enqueue`), so that this module
never imports the tasks that import it: `account_email_requests` and the tasks pass their own.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone

from ratelimits.limits import RateLimited, rate_limit_try
from registration.messaging import outbox
from registration.messaging.failures import AttemptFailure, error_describe
from registration.models import AgeMilestone, ParentAccountEmail, PortalAccount

Kind = ParentAccountEmail.Kind
Status = ParentAccountEmail.Status
# An email waiting or on its way: asking again reuses it rather than sending two.
_UNSETTLED = (Status.QUEUED, Status.RETRYING, Status.SENDING)
Enqueue = Callable[[int], None]


def parent_email_queue_within(
    account: PortalAccount,
    *,
    kind: ParentAccountEmail.Kind,
    now: datetime,
    enqueue: Enqueue,
    milestone: AgeMilestone | None = None,
) -> ParentAccountEmail:
    """Within the caller's transaction, which holds the account's lock (or made it): queue an email of
    `kind`, handed to `enqueue` once the transaction commits, unless one is waiting; return it.

    An access-change notice is about one birthday (`milestone`): a notice about another child's is a
    second email, not this one."""
    email = ParentAccountEmail.objects.filter(
        account=account, kind=kind, milestone=milestone, status__in=_UNSETTLED
    ).first()
    if email is None:
        email = parent_email_queue_first(account, kind=kind, now=now, enqueue=enqueue, milestone=milestone)
    return email


def parent_email_queue_first(
    account: PortalAccount,
    *,
    kind: ParentAccountEmail.Kind,
    now: datetime,
    enqueue: Enqueue,
    milestone: AgeMilestone | None = None,
) -> ParentAccountEmail:
    """Queue an email of `kind` that nothing can be waiting for (the account was made in the caller's
    transaction, or `parent_email_queue_within` looked), handed to `enqueue` once the transaction commits."""
    email = ParentAccountEmail.objects.create(account=account, kind=kind, milestone=milestone, queued_at=now)
    transaction.on_commit(partial(enqueue, email.pk))
    return email


def parent_email_queue_for(
    accounts, *, kind: ParentAccountEmail.Kind, enqueue: Enqueue, now: datetime | None = None
) -> ParentAccountEmail | None:
    """Queue an email of `kind` to the account `accounts` finds, unless one is waiting; None if none."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        # Locking the account serialises two requests for the same email: one row, not two.
        account = accounts.select_for_update(of=("self",)).first()
        if account is None:
            return None
        return parent_email_queue_within(account, kind=kind, now=now, enqueue=enqueue)


def parent_email_requested(
    *, account_id: int, kind: ParentAccountEmail.Kind, enqueue: Enqueue, now: datetime | None = None
) -> ParentAccountEmail | None:
    """For the task worker: queue the email a parent's request asked for; None if the account was
    disabled since, or it is a 'you already have an account' notice beyond the address's limit, which no
    one is told about: anyone may sign up with any address, as often as they like."""
    accounts = PortalAccount.objects.filter(pk=account_id, disabled_at__isnull=True)
    if kind == Kind.EXISTS:
        email = accounts.values_list("user__email", flat=True).first()
        try:
            rate_limit_try("sign_up_notice", address=None, account=email)
        except RateLimited:
            return None
    return parent_email_queue_for(accounts, kind=kind, enqueue=enqueue, now=now)


def parent_email_claim(*, email_id: int, now: datetime | None = None) -> ParentAccountEmail | None:
    """Take a due email for sending; None if it is not due, or no longer wanted (then it is cancelled):
    the account was disabled, its address was confirmed before a 'confirm' email went, or it no longer
    sees the child a birthday's notice is about."""

    def refusal(email: ParentAccountEmail) -> dict | None:
        account = email.account
        if account.is_disabled:
            return {"reason": "account_disabled"}
        if email.kind == Kind.VERIFY and account.email_verified_at is not None:
            return {"reason": "email_verified"}
        # A birthday's notice to someone who no longer sees the child (a restriction since, say) would
        # tell them about the child: not sent.
        if email.kind == Kind.ACCESS_CHANGE and not _sees(account, email.milestone_id):
            return {"reason": "no_access"}
        return None

    claimed = outbox.outbox_claim(
        ParentAccountEmail, message_id=email_id, now=now or timezone.now(), refusal=refusal
    )
    return None if claimed is None else claimed[0]


def _sees(account: PortalAccount, milestone_id: int | None) -> bool:
    """Whether the account still sees the patient of the milestone (`accesses` are the live ones)."""
    return milestone_id is not None and account.accesses.filter(patient__age_milestones=milestone_id).exists()


def parent_email_sent(*, email_id: int, provider_message_id: str = "", now: datetime | None = None) -> None:
    """The provider accepted the email."""
    outbox.outbox_sent(
        ParentAccountEmail,
        message_id=email_id,
        provider_message_id=provider_message_id,
        now=now or timezone.now(),
    )


def parent_email_attempt_failed(*, email_id: int, error: str, now: datetime | None = None) -> datetime | None:
    """The provider refused or could not be reached. Return when to try again, or None: given up."""
    return outbox.outbox_attempt_failed(
        ParentAccountEmail, message_id=email_id, error=error, now=now or timezone.now()
    )


def parent_email_failed_with(
    email: ParentAccountEmail, error: Exception, *, now: datetime | None = None
) -> AttemptFailure:
    """Record a provider's `error` on a claimed email, as the failure policy reads it."""
    reason = error_describe(error)
    return AttemptFailure(
        reason=reason, retry_at=parent_email_attempt_failed(email_id=email.pk, error=reason, now=now)
    )


def parent_emails_release_stuck(*, older_than: timedelta, now: datetime | None = None) -> list[int]:
    """Put back emails whose sender died mid-send, due at once; return their ids.

    The provider may have taken one just before the sender died; then the parent gets it twice, with two
    links that both work. That is better than none, and unlike a welcome message there is no PIN to spoil.
    """
    now = now or timezone.now()
    return [
        email.pk
        for email in outbox.outbox_stuck(ParentAccountEmail, older_than=older_than, now=now)
        if outbox.outbox_release(
            ParentAccountEmail, message_id=email.pk, claimed_at=email.sending_since, now=now
        )
    ]
