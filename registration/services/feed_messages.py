"""The EHR feed's raw messages: health information, so each reading is audited and the text is blanked
after `HL7_RAW_RETENTION_DAYS` (the rest of the row is kept, to recognise a message sent again)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from registration.models import AuditEvent, FeedMessage
from registration.services.audit import audit_record
from registration.services.errors import RegistrationError

PRUNE_CHUNK = 1000  # rows blanked per transaction: short locks while the listener keeps writing


class FeedMessageNotFound(RegistrationError):
    message = "No such message was received."


class FeedMessagePruned(RegistrationError):
    message = "The text of this message has been deleted: it is kept only for a limited time."


def feed_message_read(
    *, message_id: int, by: User, client_address: str | None = None, now: datetime | None = None
) -> str:
    """Return a message's text as received, recording who read it (its control id and type, not its
    content)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        message = (
            FeedMessage.objects.filter(pk=message_id)
            .only("control_id", "message_type", "sender", "raw", "raw_pruned_at")
            .first()
        )
        if message is None:
            raise FeedMessageNotFound()
        if message.raw_pruned_at is not None:
            raise FeedMessagePruned()
        audit_record(
            action=AuditEvent.Action.FEED_MESSAGE_READ,
            at=now,
            actor=by,
            client_address=client_address,
            details={
                "message_id": message.pk,
                "control_id": message.control_id,
                "message_type": message.message_type,
                "sender": message.sender,
            },
        )
    return message.raw


def feed_raw_prune(*, now: datetime | None = None, chunk: int = PRUNE_CHUNK) -> int:
    """Blank the text of every message received more than `HL7_RAW_RETENTION_DAYS` ago; return how many.

    Safe to run at any time, e.g. daily from cron. It walks back from the cutoff: messages older than
    the previous run's cutoff were blanked then, so each chunk starts where the last one ended.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.HL7_RAW_RETENTION_DAYS)
    kept = FeedMessage.objects.filter(raw_pruned_at__isnull=True)
    pruned, before = 0, cutoff
    while True:
        batch = list(
            kept.filter(received_at__lt=before)
            .order_by("-received_at")
            .values_list("pk", "received_at")[:chunk]
        )
        if not batch:
            return pruned
        with transaction.atomic(durable=True):
            pruned += kept.filter(pk__in=[pk for pk, _ in batch]).update(raw="", raw_pruned_at=now)
        # Rows at the batch's oldest instant that did not fit in it are read again: <=, not <.
        before = batch[-1][1] + timedelta(microseconds=1)
        if len(batch) < chunk:
            return pruned
