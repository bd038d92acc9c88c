"""The one outbox state machine, for every message kind (`OutboxMessage`): claim a due message, record
it sent, record a failed attempt (one back-off and give-up rule), release one whose sender died.

    queued ──claim──▶ sending ──sent──▶ sent
       ▲                 │ ╲
       │                 │  ╲ attempt failed, attempts left ──▶ retrying ──claim──▶ sending …
       └── released ◀────┘   ╲ attempt failed, none left (or refused for good) ──▶ failed
    (a queued message no longer wanted is cancelled when claimed)

Each change runs in one durable transaction holding the message's row lock, and writes one audit event,
except the claim itself: an attempt is audited by how it ends (sent, failed, released, or left to staff),
so a message's trail reads one event per attempt. The kinds' own services (`welcome_outbox`,
`account_email_outbox`) say when a message is no longer wanted and what a claim prepares.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from registration.models.outbox import OutboxMessage
from registration.services.audit import audit_record

Status = OutboxMessage.Status
# What staff read on a message whose sender died while it was 'sending'.
STOPPED_MID_SEND = "sender stopped mid-send"


def outbox_locked(kind: type[OutboxMessage], message_id: int) -> OutboxMessage | None:
    """Lock the message's row for this transaction, reading it with what its kind needs; None if there
    is no such message."""
    return _with_related(kind.objects.select_for_update(of=("self",)), kind).filter(pk=message_id).first()


def outbox_claim(
    kind: type[OutboxMessage],
    *,
    message_id: int,
    now: datetime,
    refusal: Callable[[OutboxMessage], dict | None] = lambda message: None,
    prepare: Callable[[OutboxMessage], object] = lambda message: None,
) -> tuple[OutboxMessage, object] | None:
    """Take a due message for sending; None if it is not due, or no longer wanted.

    `refusal(message)`, called under the message's lock, returns the audit details of why it is no
    longer wanted (it is then cancelled), or None. `prepare(message)` makes, in the same transaction,
    what the message needs to go out (a welcome message's PIN); the claim returns it with the message.
    """
    with transaction.atomic(durable=True):
        message = outbox_locked(kind, message_id)
        if message is None or message.status not in kind.PENDING_STATUSES:
            return None
        if message.next_attempt_at is not None and message.next_attempt_at > now:
            return None
        if (reason := refusal(message)) is not None:
            message.next_attempt_at = None
            outbox_change(
                message,
                Status.CANCELLED,
                now=now,
                action=kind.RULES.cancelled_action,
                fields=["next_attempt_at"],
                details=reason,
            )
            return None
        prepared = prepare(message)
        message.attempts += 1
        message.sending_since = now
        message.status = Status.SENDING
        message.save(update_fields=["attempts", "sending_since", "status"])
    return message, prepared


def outbox_sent(
    kind: type[OutboxMessage],
    *,
    message_id: int,
    provider_message_id: str,
    now: datetime,
    claimed_at: datetime | None = None,
    details: dict | None = None,
) -> bool:
    """The provider took the message: record it sent. False if it is not being sent (from `claimed_at`,
    if given: another sweep settled it)."""
    with transaction.atomic(durable=True):
        message = _sending_locked(kind, message_id, claimed_at)
        if message is None:
            return False
        message.sent_at, message.provider_message_id, message.last_error = now, provider_message_id, ""
        outbox_change(
            message,
            Status.SENT,
            now=now,
            action=kind.RULES.sent_action,
            fields=["sent_at", "provider_message_id", "last_error"],
            details={"attempt": message.attempts, **(details or {})},
        )
    return True


def outbox_attempt_failed(
    kind: type[OutboxMessage],
    *,
    message_id: int,
    error: str,
    now: datetime,
    permanent: bool = False,
    on_give_up: Callable[[OutboxMessage], None] = lambda message: None,
) -> datetime | None:
    """The provider refused or could not be reached. Return when to try again, or None: given up.

    A message is given up on after the kind's last attempt, or at once when `permanent` (the provider
    rejected the address itself); `on_give_up(message)` runs then, in the same transaction.
    """
    with transaction.atomic(durable=True):
        message = _sending_locked(kind, message_id, None)
        if message is None:
            return None
        give_up = permanent or message.attempts >= kind.max_attempts()
        if give_up:
            on_give_up(message)
        message.last_error = error[:500]
        message.next_attempt_at = None if give_up else now + kind.retry_delay(message.attempts)
        outbox_change(
            message,
            Status.FAILED if give_up else Status.RETRYING,
            now=now,
            action=kind.RULES.failed_action,
            fields=["last_error", "next_attempt_at"],
            details={
                "attempt": message.attempts,
                "error": message.last_error,
                "will_retry": not give_up,
                **({"permanent": True} if permanent else {}),
            },
        )
    return message.next_attempt_at


def outbox_stuck(kind: type[OutboxMessage], *, older_than: timedelta, now: datetime) -> list[OutboxMessage]:
    """Messages left 'sending' longer than any provider call takes: their sender died mid-send, oldest
    first. Settle each given the `sending_since` it was found with."""
    stuck = kind.objects.filter(status=Status.SENDING, sending_since__lt=now - older_than)
    return list(_with_related(stuck, kind).order_by("sending_since"))


def outbox_release(
    kind: type[OutboxMessage],
    *,
    message_id: int,
    claimed_at: datetime,
    now: datetime,
) -> bool:
    """A stuck message to send again: due at once. False if it is no longer stuck from that claim."""
    with transaction.atomic(durable=True):
        message = _sending_locked(kind, message_id, claimed_at)
        if message is None:
            return False
        message.next_attempt_at, message.last_error = now, STOPPED_MID_SEND
        outbox_change(
            message,
            Status.RETRYING,
            now=now,
            action=kind.RULES.failed_action,
            fields=["next_attempt_at", "last_error"],
            details={"attempt": message.attempts, "error": STOPPED_MID_SEND, "will_retry": True},
        )
    return True


def outbox_change(message: OutboxMessage, status, *, now, action, fields=(), details=None) -> None:
    """Save the message in its new `status` (and `fields`), and audit the change. Call under its lock."""
    message.status, message.status_changed_at = status, now
    message.save(update_fields=["status", "status_changed_at", *fields])
    audit_record(
        action=action,
        at=now,
        actor=None,
        **message.audit_subject(),
        details={**message.audit_identity(), "status": status, **(details or {})},
    )


def outbox_due(kind: type[OutboxMessage], *, now: datetime | None = None) -> list[int]:
    """Ids of the messages waiting to send whose time has come, oldest first."""
    now = now or timezone.now()
    waiting = kind.objects.filter(status__in=kind.PENDING_STATUSES)
    due = waiting.filter(next_attempt_at__isnull=True) | waiting.filter(next_attempt_at__lte=now)
    return list(due.order_by("queued_at").values_list("pk", flat=True))


def _sending_locked(kind, message_id, claimed_at):
    message = outbox_locked(kind, message_id)
    if message is None or message.status != Status.SENDING:
        return None
    if claimed_at is not None and message.sending_since != claimed_at:
        return None
    return message


def _with_related(query, kind):
    related = kind.RULES.related
    return query.select_related(*related) if related else query
