"""A feed message's text: read by an admin (audited, its content kept out of the audit trail) until it is
pruned after `HL7_RAW_RETENTION_DAYS`."""

import datetime as dt
import itertools
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from registration.models import AuditEvent, FeedMessage
from registration.services.feed_messages import (
    FeedMessageNotFound,
    FeedMessagePruned,
    feed_message_read,
    feed_raw_prune,
)

pytestmark = pytest.mark.django_db
RAW = (
    "MSH|^~\\&|EPIC|PEDS|PORTALREG|PEDS|20250610120000||ADT^A08^ADT_A01|{id}|P|2.5.1\r"
    "PID|1||MRN-4471^^^PEDS^MR||Quill^Nora||20200501|F\r"
)
_control_ids = itertools.count(1)


def feed_message(*, received_at: dt.datetime, **fields) -> FeedMessage:
    control_id = fields.pop("control_id", f"CTRL{next(_control_ids):05d}")
    return FeedMessage.objects.create(
        **{
            "sender": "EPIC^PEDS",
            "control_id": control_id,
            "message_type": "ADT^A08",
            "received_at": received_at,
            "outcome": FeedMessage.Outcome.APPLIED,
            "ack_code": "AA",
            "raw": RAW.format(id=control_id),
            "size": len(RAW),
        }
        | fields
    )


def local_noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def test_reading_a_message_returns_its_text_and_audits_who_read_which_message(admin):
    message = feed_message(received_at=timezone.now(), control_id="MSG-7781", message_type="SIU^S12")

    raw = feed_message_read(message_id=message.pk, by=admin, client_address="203.0.113.9")

    assert raw == message.raw
    event = AuditEvent.objects.get(action=AuditEvent.Action.FEED_MESSAGE_READ)
    assert event.actor == admin
    assert event.client_address == "203.0.113.9"
    assert event.details["control_id"] == "MSG-7781"
    assert event.details["message_type"] == "SIU^S12"
    assert event.details["message_id"] == message.pk
    # The audit trail says which message was read, never what it said.
    assert "Quill" not in json.dumps(event.details)
    assert "MRN-4471" not in json.dumps(event.details)


def test_a_pruned_message_cannot_be_read_and_nothing_is_audited(admin):
    message = feed_message(
        received_at=timezone.now() - dt.timedelta(days=40), raw="", raw_pruned_at=timezone.now()
    )

    with pytest.raises(FeedMessagePruned):
        feed_message_read(message_id=message.pk, by=admin)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.FEED_MESSAGE_READ).exists()


def test_reading_a_message_that_does_not_exist_is_refused(admin):
    with pytest.raises(FeedMessageNotFound):
        feed_message_read(message_id=987654, by=admin)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.FEED_MESSAGE_READ).exists()


def test_pruning_blanks_the_text_of_messages_past_retention_and_keeps_the_rest_of_the_row(settings):
    settings.HL7_RAW_RETENTION_DAYS = 30
    now = local_noon(dt.date(2025, 6, 10))
    old = feed_message(received_at=now - dt.timedelta(days=30, seconds=1), outcome="refused", error="No MRN")
    old_control_id = old.control_id
    older = feed_message(received_at=now - dt.timedelta(days=200))
    kept = feed_message(received_at=now - dt.timedelta(days=29, hours=23))

    assert feed_raw_prune(now=now) == 2

    for message in (old, older):
        message.refresh_from_db()
        assert message.raw == ""
        assert message.raw_pruned_at == now
    # What is needed to recognise the message if it is sent again, and to explain its error, stays.
    assert (old.control_id, old.message_type, old.outcome, old.error) == (
        old_control_id,
        "ADT^A08",
        "refused",
        "No MRN",
    )
    kept.refresh_from_db()
    assert kept.raw.startswith("MSH|")
    assert kept.raw_pruned_at is None


def test_pruning_again_changes_nothing_and_keeps_the_first_pruning_time(settings):
    settings.HL7_RAW_RETENTION_DAYS = 30
    now = local_noon(dt.date(2025, 6, 10))
    message = feed_message(received_at=now - dt.timedelta(days=31))
    assert feed_raw_prune(now=now) == 1

    assert feed_raw_prune(now=now + dt.timedelta(days=1)) == 0
    message.refresh_from_db()
    assert message.raw_pruned_at == now


def test_pruning_in_chunks_reaches_every_old_message_even_those_received_at_the_same_instant(settings):
    settings.HL7_RAW_RETENTION_DAYS = 30
    now = local_noon(dt.date(2025, 6, 10))
    instant = now - dt.timedelta(days=45)
    same_instant = [feed_message(received_at=instant) for _ in range(5)]
    spread = [feed_message(received_at=now - dt.timedelta(days=31 + n)) for n in range(6)]
    recent = feed_message(received_at=now - dt.timedelta(days=1))

    assert feed_raw_prune(now=now, chunk=2) == 11

    assert FeedMessage.objects.filter(pk__in=[m.pk for m in same_instant + spread], raw="").count() == 11
    assert FeedMessage.objects.get(pk=recent.pk).raw_pruned_at is None


def test_the_prune_command_prints_how_many_messages_it_blanked(settings):
    settings.HL7_RAW_RETENTION_DAYS = 30
    for days in (31, 60, 2):
        feed_message(received_at=timezone.now() - dt.timedelta(days=days))
    out = StringIO()

    call_command("prune_hl7_messages", stdout=out)

    assert out.getvalue().strip() == "deleted the text of 2 feed messages older than 30 days"
    assert FeedMessage.objects.filter(raw_pruned_at__isnull=False).count() == 2
