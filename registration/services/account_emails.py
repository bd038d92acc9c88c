"""Emails about a parent's account (confirm your address; you already have an account; reset your
password): a durable outbox row each, sent in the background and retried with back-off.

The link an email carries is made when it is sent, from the account as it is then, so no row, task
argument or log line holds a token. Each email is audited once, when it is settled (sent, or failed for
good): anyone may ask for a password reset, and an event per request or per retry would bury the trail.
The attempts in between are on the row.

An email asked for by typing an address (a password reset, the link again, the notice to an address that
has an account) is handed to the task worker with the account's id, or none, and the worker makes its
row: the request does the same work whether or not the address has an account.
"""

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ratelimits.limits import RateLimited, rate_limit_try
from registration.models import AuditEvent, ParentAccountEmail, PortalAccount
from registration.services.audit import audit_record

Kind = ParentAccountEmail.Kind
Status = ParentAccountEmail.Status
# An email waiting or on its way: asking again reuses it rather than sending two.
_UNSETTLED = (Status.QUEUED, Status.RETRYING, Status.SENDING)


def parent_email_queue(
    *, account: PortalAccount, kind: ParentAccountEmail.Kind, now: datetime | None = None
) -> ParentAccountEmail:
    """Queue an email to the parent, for the task queue to send once it is committed; return it.

    An email of the same kind still waiting or being sent is returned instead of queueing a second.
    """
    return _queue(PortalAccount.objects.filter(pk=account.pk), kind=kind, now=now)


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


def parent_email_requested(
    *, account_id: int, kind: ParentAccountEmail.Kind, now: datetime | None = None
) -> ParentAccountEmail | None:
    """For the task worker: queue the email a parent's request asked for (`_request`); None if the
    account was disabled since, or it is a 'you already have an account' notice beyond the address's
    limit, which no one is told about: anyone may sign up with any address, as often as they like."""
    accounts = PortalAccount.objects.filter(pk=account_id, disabled_at__isnull=True)
    if kind == Kind.EXISTS:
        email = accounts.values_list("user__email", flat=True).first()
        try:
            rate_limit_try("sign_up_notice", address=None, account=email)
        except RateLimited:
            return None
    return _queue(accounts, kind=kind, now=now)


def _request(accounts, *, kind: ParentAccountEmail.Kind) -> None:
    """Hand the email to the task worker with the id of the account `accounts` finds, or None.

    The request does the same work whether or not the address has an account (one SELECT, one task
    INSERT), so it answers in the same time: making the outbox row here took a known address 50 ms
    against 33 ms for an unknown one (issue 12, finding 7). The worker makes the row, or nothing.
    """
    _enqueue_request(kind, accounts.values_list("pk", flat=True).first())


def _queue(accounts, *, kind: ParentAccountEmail.Kind, now: datetime | None) -> ParentAccountEmail | None:
    """Queue an email of `kind` to the account `accounts` finds, unless one is waiting; None if none."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        # Locking the account serialises two requests for the same email: one row, not two.
        account = accounts.select_for_update(of=("self",)).first()
        email = ParentAccountEmail.objects.filter(account=account, kind=kind, status__in=_UNSETTLED).first()
        if account is not None and email is None:
            email = ParentAccountEmail.objects.create(account=account, kind=kind, queued_at=now)
            transaction.on_commit(partial(_enqueue, email.pk))
    return email


def parent_email_claim(*, email_id: int, now: datetime | None = None) -> ParentAccountEmail | None:
    """Take a due email for sending; None if it is not due, or no longer wanted (then it is cancelled):
    the account was disabled, or its address was confirmed before a 'confirm' email went."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        email = (
            ParentAccountEmail.objects.select_for_update(of=("self",))
            .select_related("account__user")
            .filter(pk=email_id)
            .first()
        )
        if email is None or email.status not in ParentAccountEmail.PENDING_STATUSES:
            return None
        if email.next_attempt_at is not None and email.next_attempt_at > now:
            return None
        account = email.account
        if account.is_disabled or (email.kind == Kind.VERIFY and account.email_verified_at is not None):
            email.status, email.next_attempt_at = Status.CANCELLED, None
            email.save(update_fields=["status", "next_attempt_at"])
            return None
        email.attempts += 1
        email.status, email.sending_since = Status.SENDING, now
        email.save(update_fields=["attempts", "status", "sending_since"])
    return email


def parent_email_sent(*, email_id: int, provider_message_id: str = "", now: datetime | None = None) -> None:
    """The provider accepted the email."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        email = ParentAccountEmail.objects.select_for_update().get(pk=email_id)
        if email.status != Status.SENDING:
            return
        email.status, email.sent_at, email.last_error = Status.SENT, now, ""
        email.provider_message_id = provider_message_id
        email.save(update_fields=["status", "sent_at", "last_error", "provider_message_id"])
        _audit(email, AuditEvent.Action.PARENT_EMAIL_SENT, now=now)


def parent_email_attempt_failed(*, email_id: int, error: str, now: datetime | None = None) -> datetime | None:
    """The provider refused or could not be reached. Return when to try again, or None: given up."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        email = ParentAccountEmail.objects.select_for_update().get(pk=email_id)
        if email.status != Status.SENDING:
            return None
        give_up = email.attempts >= settings.PARENT_EMAIL_MAX_ATTEMPTS
        email.last_error = error[:500]
        email.status = Status.FAILED if give_up else Status.RETRYING
        email.next_attempt_at = None if give_up else now + parent_email_retry_delay(email.attempts)
        email.save(update_fields=["last_error", "status", "next_attempt_at"])
        if give_up:
            _audit(email, AuditEvent.Action.PARENT_EMAIL_FAILED, now=now, error=email.last_error)
    return email.next_attempt_at


def parent_email_retry_delay(attempts: int) -> timedelta:
    """Back off: the base delay, then four times longer after each further failure."""
    return timedelta(seconds=settings.PARENT_EMAIL_RETRY_BASE_SECONDS * 4 ** (attempts - 1))


def parent_emails_release_stuck(*, older_than: timedelta, now: datetime | None = None) -> list[int]:
    """Put back emails whose sender died mid-send, due at once; return their ids.

    The provider may have taken one just before the sender died; then the parent gets it twice, with two
    links that both work. That is better than none, and unlike a welcome message there is no PIN to spoil.
    """
    now = now or timezone.now()
    released = []
    stuck = ParentAccountEmail.objects.filter(status=Status.SENDING, sending_since__lt=now - older_than)
    for email_id in stuck.values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            email = ParentAccountEmail.objects.select_for_update().get(pk=email_id)
            if email.status != Status.SENDING or email.sending_since >= now - older_than:
                continue
            email.status, email.next_attempt_at, email.last_error = (
                Status.RETRYING,
                now,
                "sender stopped mid-send",
            )
            email.save(update_fields=["status", "next_attempt_at", "last_error"])
            released.append(email_id)
    return released


def _accounts_by_email(email: str):
    return PortalAccount.objects.filter(user__email__iexact=email.strip(), disabled_at__isnull=True)


def _audit(email: ParentAccountEmail, action: AuditEvent.Action, *, now: datetime, **details) -> None:
    audit_record(
        action=action,
        at=now,
        actor=None,
        account_id=email.account_id,
        details={"parent_email_id": email.pk, "kind": email.kind, "attempts": email.attempts, **details},
    )


def _enqueue(email_id: int) -> None:
    from registration.messaging.tasks import parent_email_enqueue  # tasks import this module

    parent_email_enqueue(email_id)


def _enqueue_request(kind: ParentAccountEmail.Kind, account_id: int | None) -> None:
    from registration.messaging.tasks import queue_parent_account_email  # tasks import this module

    queue_parent_account_email.enqueue(str(kind), account_id)
