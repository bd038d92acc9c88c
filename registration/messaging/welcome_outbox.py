"""Welcome messages through the outbox: what is particular to them around the one state machine
(`registration.messaging.outbox`).

The PIN a message carries is minted when the message is claimed for sending, so the plain code only
ever exists in the sending process's memory: never in the message row, the task queue or a log.
Each failed attempt throws its code away; the next attempt mints a new one.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from registration import pin_codes as codes
from registration.messaging import outbox
from registration.messaging.delivery import TextUnreadable, welcome_text_find
from registration.messaging.failures import (
    REASON_LENGTH,
    AttemptFailure,
    error_describe,
    error_text,
    provider_refused,
    refused_for_good,
)
from registration.models import AuditEvent, Pin, WelcomeMessage
from registration.services.invitation_rules import patient_invitation_refusal
from registration.services.pin_rules import pins_revoke

Status = WelcomeMessage.Status
# What a provider's delivery report means for a sent message.
PROVIDER_OUTCOMES = {
    "delivered": Status.DELIVERED,
    "bounced": Status.BOUNCED,
    "rejected": Status.BOUNCED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.UNDELIVERED,
}
_AFTER_SENDING = (Status.SENT, Status.DELIVERED)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimedMessage:
    message: WelcomeMessage
    code: str = field(repr=False)  # the PIN to put in the message; never store or log it


def welcome_message_claim(*, message_id: int, now: datetime | None = None) -> ClaimedMessage | None:
    """Take a due message for sending and mint its PIN; None if it is not due, or no longer wanted.

    A message whose PIN was replaced, used or expired meanwhile, or whose child the EHR has since
    recorded as deceased or whose chart it made inactive, is cancelled instead of sent.
    """
    now = now or timezone.now()

    def refusal(message: WelcomeMessage) -> dict | None:
        # The patient is read, not locked: locking it after the PIN would invert pin_issue's order.
        message.pin = (
            Pin.objects.select_for_update(of=("self",)).select_related("patient").get(pk=message.pin_id)
        )
        pin = message.pin
        if pin.redeemed_at is not None or pin.revoked_at is not None or pin.expires_at <= now:
            return {}
        if (refused := patient_invitation_refusal(pin.patient)) is not None:
            # The EHR marked the child deceased or the chart inactive after staff queued this message.
            return {"reason": refused.state}
        return None

    claimed = outbox.outbox_claim(
        WelcomeMessage, message_id=message_id, now=now, refusal=refusal, prepare=_pin_mint
    )
    if claimed is None:
        return None
    message, code = claimed
    return ClaimedMessage(message=message, code=code)


def _pin_mint(message: WelcomeMessage) -> str:
    """Give the message's PIN a new code, and return it (shown once, in the message)."""
    pin, parts = message.pin, codes.pin_code_new()
    pin.lookup, pin.secret_hash, pin.failed_attempts = parts.lookup, codes.pin_secret_hash(parts), 0
    pin.save(update_fields=["lookup", "secret_hash", "failed_attempts"])
    return parts.display


def welcome_message_sent(
    *, message_id: int, provider_message_id: str = "", now: datetime | None = None
) -> None:
    """The provider accepted the message."""
    outbox.outbox_sent(
        WelcomeMessage,
        message_id=message_id,
        provider_message_id=provider_message_id,
        now=now or timezone.now(),
    )


def welcome_message_attempt_failed(
    *,
    message_id: int,
    error: str,
    refused: bool = False,
    permanent: bool = False,
    now: datetime | None = None,
) -> datetime | None:
    """The provider refused or could not be reached. Return when to try again, or None: given up.

    `refused`: the provider answered, and did not take the message. Given up on after such an answer,
    the message's PIN reached nobody and is ended, so the patient no longer shows as Pending and staff
    resend. After a timeout the provider may have sent it after all: that PIN stays usable.
    `permanent`: the provider rejected the address itself; it is not tried again.
    """
    now = now or timezone.now()

    def pin_end(message: WelcomeMessage) -> None:
        if refused or permanent:
            pins_revoke(Pin.objects.filter(pk=message.pin_id), reason=Pin.EndReason.NOT_DELIVERED, now=now)

    return outbox.outbox_attempt_failed(
        WelcomeMessage,
        message_id=message_id,
        error=error,
        now=now,
        permanent=permanent,
        on_give_up=pin_end,
    )


def welcome_message_failed_with(
    claimed: ClaimedMessage, error: Exception, *, now: datetime | None = None
) -> AttemptFailure:
    """Record a provider's `error` on a claimed message, as the failure policy reads it."""
    reason = error_describe(error, pin=claimed.code)
    retry_at = welcome_message_attempt_failed(
        message_id=claimed.message.pk,
        error=reason,
        refused=provider_refused(error),
        permanent=refused_for_good(error),
        now=now,
    )
    return AttemptFailure(reason=reason, retry_at=retry_at)


def retry_delay(attempts: int) -> timedelta:
    """Back off: the base delay, then four times longer after each further failure."""
    return WelcomeMessage.retry_delay(attempts)


def welcome_message_provider_report(
    *, channel: str, provider_message_id: str, outcome: str, now: datetime | None = None
) -> WelcomeMessage | None:
    """Record a provider's delivery report (delivered, bounced, undelivered); unknown ids are ignored.

    Only a message of the reporting provider's `channel` is looked up: an email provider's report
    never settles a text (issue 12, finding 6), nor Twilio's an email.
    """
    status = PROVIDER_OUTCOMES.get(outcome)
    if status is None or not provider_message_id:
        return None
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        message = (
            WelcomeMessage.objects.select_for_update(of=("self",))
            .select_related("pin")
            .filter(channel=channel, provider_message_id=provider_message_id)
            .first()
        )
        if message is None or message.status not in _AFTER_SENDING or message.status == status:
            return None
        outbox.outbox_change(
            message, status, now=now, action=AuditEvent.Action.WELCOME_STATUS, details={"outcome": outcome}
        )
    return message


def welcome_messages_stuck(*, older_than: timedelta, now: datetime | None = None) -> list[WelcomeMessage]:
    """Messages left 'sending' longer than any provider call takes: their sender died mid-send.

    Settle each with one of the three functions below, given the `sending_since` it was found with.
    """
    return outbox.outbox_stuck(WelcomeMessage, older_than=older_than, now=now or timezone.now())


def welcome_message_release(*, message_id: int, claimed_at: datetime, now: datetime | None = None) -> bool:
    """A stuck message the provider never took: put it back to be sent again, with a new PIN.

    Return False if it is no longer stuck from that claim (another sweep settled it).
    """
    return outbox.outbox_release(
        WelcomeMessage,
        message_id=message_id,
        claimed_at=claimed_at,
        now=now or timezone.now(),
    )


def welcome_message_found_sent(
    *, message_id: int, claimed_at: datetime, provider_message_id: str, now: datetime | None = None
) -> bool:
    """A stuck message the provider took before its sender died: record it as sent, not send it again.

    Its PIN stays the one the claim minted, which is the one in the message.
    """
    return outbox.outbox_sent(
        WelcomeMessage,
        message_id=message_id,
        provider_message_id=provider_message_id,
        now=now or timezone.now(),
        claimed_at=claimed_at,
        details={"found_at_provider": True},
    )


def welcome_message_maybe_sent(*, message_id: int, claimed_at: datetime, now: datetime | None = None) -> bool:
    """A stuck message the provider cannot be asked about (email): leave it to staff, as maybe not sent.

    Sending it again blindly would, if the first went out, give the parent two messages and spoil the
    first one's PIN. Its PIN stays as the claim minted it, so a message that did go out works; staff's
    Resend issues a new one.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        message = outbox.outbox_locked(WelcomeMessage, message_id)
        if message is None or message.status != Status.SENDING or message.sending_since != claimed_at:
            return False
        message.last_error = outbox.STOPPED_MID_SEND
        outbox.outbox_change(
            message,
            Status.UNCERTAIN,
            now=now,
            action=AuditEvent.Action.WELCOME_MAYBE_SENT,
            fields=["last_error"],
            details={"attempt": message.attempts, "error": outbox.STOPPED_MID_SEND},
        )
    return True


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
    for message in welcome_messages_stuck(older_than=older_than, now=now):
        claim = {"message_id": message.pk, "claimed_at": message.sending_since, "now": now}
        if message.channel == WelcomeMessage.Channel.EMAIL:
            if welcome_message_maybe_sent(**claim):
                recovery.maybe_sent.append(message.pk)
            continue
        try:
            provider_id = welcome_text_find(message)
        except TextUnreadable:
            if welcome_message_maybe_sent(**claim):
                recovery.maybe_sent.append(message.pk)
            continue
        except Exception as error:  # the provider is down too: it stays 'sending' until it can be asked
            reason = error_text(error)[:REASON_LENGTH]
            log.warning("welcome message %s: could not ask the SMS provider about it: %s", message.pk, reason)
            recovery.unchecked.append(message.pk)
            continue
        if provider_id:
            if welcome_message_found_sent(provider_message_id=provider_id, **claim):
                recovery.found_sent.append(message.pk)
        elif welcome_message_release(**claim):
            recovery.released.append(message.pk)
    return recovery
