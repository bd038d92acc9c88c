"""Sending welcome messages: the states a message moves through after staff queue it.

The PIN a message carries is minted when the message is claimed for sending, so the plain code only
ever exists in the sending process's memory: never in the message row, the task queue or a log.
Each failed attempt throws its code away; the next attempt mints a new one.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from registration import pin_codes as codes
from registration.models import AuditEvent, Pin, RegistrationPath, WelcomeMessage
from registration.services.audit import audit_record
from registration.services.invitation_rules import patient_invitation_refusal
from registration.services.pin_rules import pins_revoke

# What a provider's delivery report means for a sent message.
PROVIDER_OUTCOMES = {
    "delivered": WelcomeMessage.Status.DELIVERED,
    "bounced": WelcomeMessage.Status.BOUNCED,
    "rejected": WelcomeMessage.Status.BOUNCED,
    "undelivered": WelcomeMessage.Status.UNDELIVERED,
    "failed": WelcomeMessage.Status.UNDELIVERED,
}
_AFTER_SENDING = (WelcomeMessage.Status.SENT, WelcomeMessage.Status.DELIVERED)
# What staff read on a message whose sender died while it was 'sending'.
STOPPED_MID_SEND = "sender stopped mid-send"


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
    with transaction.atomic(durable=True):
        message = (
            WelcomeMessage.objects.select_for_update(of=("self",))
            .select_related("pin")
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.status not in WelcomeMessage.PENDING_STATUSES:
            return None
        if message.next_attempt_at is not None and message.next_attempt_at > now:
            return None
        # The patient is read, not locked: locking it after the PIN would invert pin_issue's order.
        pin = Pin.objects.select_for_update(of=("self",)).select_related("patient").get(pk=message.pin_id)
        if pin.redeemed_at is not None or pin.revoked_at is not None or pin.expires_at <= now:
            _change(
                message, WelcomeMessage.Status.CANCELLED, now=now, action=AuditEvent.Action.WELCOME_CANCELLED
            )
            return None
        if (refusal := patient_invitation_refusal(pin.patient)) is not None:
            # The EHR marked the child deceased or the chart inactive after staff queued this message.
            _change(
                message,
                WelcomeMessage.Status.CANCELLED,
                now=now,
                action=AuditEvent.Action.WELCOME_CANCELLED,
                details={"reason": refusal.state},
            )
            return None
        parts = codes.pin_code_new()
        pin.lookup, pin.secret_hash, pin.failed_attempts = parts.lookup, codes.pin_secret_hash(parts), 0
        pin.save(update_fields=["lookup", "secret_hash", "failed_attempts"])
        message.attempts += 1
        message.sending_since = now
        message.status = WelcomeMessage.Status.SENDING
        message.save(update_fields=["attempts", "sending_since", "status"])
    message.pin = pin
    return ClaimedMessage(message=message, code=parts.display)


def welcome_message_sent(
    *, message_id: int, provider_message_id: str = "", now: datetime | None = None
) -> None:
    """The provider accepted the message."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        message = (
            WelcomeMessage.objects.select_for_update(of=("self",)).select_related("pin").get(pk=message_id)
        )
        if message.status != WelcomeMessage.Status.SENDING:
            return
        message.sent_at, message.provider_message_id, message.last_error = now, provider_message_id, ""
        _change(
            message,
            WelcomeMessage.Status.SENT,
            now=now,
            action=AuditEvent.Action.WELCOME_SENT,
            fields=["sent_at", "provider_message_id", "last_error"],
            details={"attempt": message.attempts},
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
    with transaction.atomic(durable=True):
        message = (
            WelcomeMessage.objects.select_for_update(of=("self",)).select_related("pin").get(pk=message_id)
        )
        if message.status != WelcomeMessage.Status.SENDING:
            return None
        give_up = permanent or message.attempts >= settings.WELCOME_MAX_ATTEMPTS
        if give_up and (refused or permanent):
            pins_revoke(Pin.objects.filter(pk=message.pin_id), reason=Pin.EndReason.NOT_DELIVERED, now=now)
        message.last_error = error[:500]
        message.next_attempt_at = None if give_up else now + retry_delay(message.attempts)
        _change(
            message,
            WelcomeMessage.Status.FAILED if give_up else WelcomeMessage.Status.RETRYING,
            now=now,
            action=AuditEvent.Action.WELCOME_SEND_FAILED,
            fields=["last_error", "next_attempt_at"],
            details={
                "attempt": message.attempts,
                "error": message.last_error,
                "will_retry": not give_up,
                **({"permanent": True} if permanent else {}),
            },
        )
    return message.next_attempt_at


def retry_delay(attempts: int) -> timedelta:
    """Back off: the base delay, then four times longer after each further failure."""
    return timedelta(seconds=settings.WELCOME_RETRY_BASE_SECONDS * 4 ** (attempts - 1))


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
        _change(
            message, status, now=now, action=AuditEvent.Action.WELCOME_STATUS, details={"outcome": outcome}
        )
    return message


def welcome_messages_stuck(*, older_than: timedelta, now: datetime | None = None) -> list[WelcomeMessage]:
    """Messages left 'sending' longer than any provider call takes: their sender died mid-send.

    Settle each with one of the three functions below, given the `sending_since` it was found with.
    """
    now = now or timezone.now()
    stuck = WelcomeMessage.objects.filter(
        status=WelcomeMessage.Status.SENDING, sending_since__lt=now - older_than
    )
    return list(stuck.select_related("pin").order_by("sending_since"))


def welcome_message_release(*, message_id: int, claimed_at: datetime, now: datetime | None = None) -> bool:
    """A stuck message the provider never took: put it back to be sent again, with a new PIN.

    Return False if it is no longer stuck from that claim (another sweep settled it).
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        message = _stuck_locked(message_id, claimed_at)
        if message is None:
            return False
        message.next_attempt_at = now
        _change(
            message,
            WelcomeMessage.Status.RETRYING,
            now=now,
            action=AuditEvent.Action.WELCOME_SEND_FAILED,
            fields=["next_attempt_at"],
            details={"attempt": message.attempts, "error": STOPPED_MID_SEND, "will_retry": True},
        )
    return True


def welcome_message_found_sent(
    *, message_id: int, claimed_at: datetime, provider_message_id: str, now: datetime | None = None
) -> bool:
    """A stuck message the provider took before its sender died: record it as sent, not send it again.

    Its PIN stays the one the claim minted, which is the one in the message.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        message = _stuck_locked(message_id, claimed_at)
        if message is None:
            return False
        message.sent_at, message.provider_message_id, message.last_error = now, provider_message_id, ""
        _change(
            message,
            WelcomeMessage.Status.SENT,
            now=now,
            action=AuditEvent.Action.WELCOME_SENT,
            fields=["sent_at", "provider_message_id", "last_error"],
            details={"attempt": message.attempts, "found_at_provider": True},
        )
    return True


def welcome_message_maybe_sent(*, message_id: int, claimed_at: datetime, now: datetime | None = None) -> bool:
    """A stuck message the provider cannot be asked about (email): leave it to staff, as maybe not sent.

    Sending it again blindly would, if the first went out, give the parent two messages and spoil the
    first one's PIN. Its PIN stays as the claim minted it, so a message that did go out works; staff's
    Resend issues a new one.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        message = _stuck_locked(message_id, claimed_at)
        if message is None:
            return False
        message.last_error = STOPPED_MID_SEND
        _change(
            message,
            WelcomeMessage.Status.UNCERTAIN,
            now=now,
            action=AuditEvent.Action.WELCOME_MAYBE_SENT,
            fields=["last_error"],
            details={"attempt": message.attempts, "error": STOPPED_MID_SEND},
        )
    return True


def _stuck_locked(message_id: int, claimed_at: datetime) -> WelcomeMessage | None:
    message = WelcomeMessage.objects.select_for_update(of=("self",)).select_related("pin").get(pk=message_id)
    if message.status != WelcomeMessage.Status.SENDING or message.sending_since != claimed_at:
        return None
    return message


def _change(message, status, *, now, action, fields=(), details=None) -> None:
    message.status, message.status_changed_at = status, now
    message.save(update_fields=["status", "status_changed_at", *fields])
    pin = message.pin
    audit_record(
        action=action,
        at=now,
        actor=None,
        path=RegistrationPath.APPOINTMENT_LIST,
        patient_id=pin.patient_id,
        contact_id=pin.contact_id,
        details={"welcome_message_id": message.pk, "status": status, **(details or {})},
    )
