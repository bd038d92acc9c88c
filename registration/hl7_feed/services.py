"""Receive one HL7 v2 message: store it, apply it, and say what to answer, in one transaction.

The row and the records it changes commit together, and only then does the listener send the ACK:
a message acknowledged is never lost, and one the sender repeats (same sender and MSH-10) finds its
row and gets the same answer again without being applied twice. If the process dies before the
commit, nothing was stored or acknowledged, and the sender sends it again.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from patients.importing import records as r
from patients.importing.hl7_messages import Header, Message, Unreadable, decode, message_read, parse
from patients.models import Patient
from registration.ehr_import.importing import batch_apply
from registration.hl7_feed.acks import Problem, ack_build
from registration.models import FeedMessage
from registration.services.patient_merges import MergeRefused, patient_merge

log = logging.getLogger(__name__)
Outcome = FeedMessage.Outcome
ACK_CODES = {Outcome.APPLIED: "AA", Outcome.IGNORED: "AA", Outcome.REFUSED: "AE", Outcome.UNREADABLE: "AR"}


@dataclass(frozen=True)
class Receipt:
    ack: str  # the ACK to send, not yet framed
    outcome: str
    message_type: str
    duplicate: bool = False


def message_receive(data: bytes, *, peer: str = "", now: datetime | None = None) -> Receipt:
    """Store and apply one message (the bytes between MLLP's start and end blocks); return its ACK.

    Database errors propagate: the caller does not acknowledge, and tries again or lets the sender.
    """
    started = time.monotonic()
    now = now or timezone.now()
    try:
        header, parsed = parse(decode(data))
    except Unreadable as unreadable:
        receipt = _unreadable(data, unreadable, peer=peer, now=now)
    else:
        receipt = _readable(data, header, parsed, peer=peer, now=now)
    # No PHI in the log: the type, the outcome and the timing; the reasons are on the admin page.
    log.info(
        "hl7 message type=%s outcome=%s duplicate=%s bytes=%d ms=%.1f peer=%s",
        receipt.message_type or "-",
        receipt.outcome,
        receipt.duplicate,
        len(data),
        (time.monotonic() - started) * 1000,
        peer,
    )
    return receipt


def _unreadable(data: bytes, unreadable: Unreadable, *, peer: str, now: datetime) -> Receipt:
    row = FeedMessage.objects.create(
        received_at=now,
        outcome=Outcome.UNREADABLE,
        ack_code="AR",
        error=str(unreadable)[:500],
        peer=peer[:100],
        size=len(data),
        raw=_as_text(data),
    )
    ack = ack_build(
        header=None,
        code="AR",
        ack_id=_ack_id(row.pk),
        problems=[Problem(unreadable.code, str(unreadable))],
        control_id=_control_id_guess(data),
    )
    return Receipt(ack=ack, outcome=Outcome.UNREADABLE, message_type="")


def _readable(data: bytes, header: Header, parsed, *, peer: str, now: datetime) -> Receipt:
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: a second copy waits here for the first to commit
                row = FeedMessage.objects.create(
                    sender=header.sender,
                    control_id=header.control_id,
                    message_type=header.message_type,
                    received_at=now,
                    outcome=Outcome.APPLIED,
                    ack_code="AA",
                    peer=peer[:100],
                    size=len(data),
                    raw=_as_text(data),
                )
        except IntegrityError:
            return _again(header)
        outcome, problems = _apply(header, parsed, now=now)
        row.outcome, row.ack_code = outcome, ACK_CODES[outcome]
        row.error = "; ".join(p.text for p in problems)[:500]
        if row.outcome != Outcome.APPLIED or row.error:
            row.save(update_fields=["outcome", "ack_code", "error"])
    ack = ack_build(header=header, code=row.ack_code, ack_id=_ack_id(row.pk), problems=problems)
    return Receipt(ack=ack, outcome=outcome, message_type=header.message_type)


def message_too_large(*, peer: str, limit: int) -> Receipt:
    """A message over the size limit, drained unread: recorded (without its text) and answered AR."""
    reason = f"the message is larger than {limit:,} bytes (HL7_MAX_MESSAGE_BYTES)"
    row = FeedMessage.objects.create(
        received_at=timezone.now(), outcome=Outcome.UNREADABLE, ack_code="AR", error=reason, peer=peer[:100]
    )
    ack = ack_build(header=None, code="AR", ack_id=_ack_id(row.pk), problems=[Problem("102", reason)])
    log.info("hl7 message type=- outcome=unreadable too_large=1 peer=%s", peer)
    return Receipt(ack=ack, outcome=Outcome.UNREADABLE, message_type="")


def message_failed(data: bytes, *, peer: str) -> Receipt:
    """A message our code could not apply (the error is logged): kept for admins and answered AE, so
    the sender's queue goes on. A copy sent again gets the same answer."""
    reason = "the portal could not apply this message (an internal error, logged for the practice's IT)"
    try:
        header, _ = parse(decode(data))
    except Unreadable:
        header = None
    values = {
        "message_type": header.message_type if header else "",
        "received_at": timezone.now(),
        "outcome": Outcome.REFUSED,
        "ack_code": "AE",
        "error": reason,
        "peer": peer[:100],
        "size": len(data),
        "raw": _as_text(data),
    }
    if header is None:
        row = FeedMessage.objects.create(**values)
    else:
        row, _ = FeedMessage.objects.get_or_create(
            sender=header.sender, control_id=header.control_id, defaults=values
        )
    ack = ack_build(
        header=header, code=row.ack_code, ack_id=_ack_id(row.pk), problems=[Problem("207", reason)]
    )
    return Receipt(ack=ack, outcome=row.outcome, message_type=row.message_type)


def _again(header: Header) -> Receipt:
    """A message received before (the sender did not get our ACK): the same answer, nothing applied."""
    stored = FeedMessage.objects.get(sender=header.sender, control_id=header.control_id)
    severity = "W" if stored.ack_code == "AA" else "E"
    problems = [Problem("102", stored.error, severity)] if stored.error else []
    ack = ack_build(header=header, code=stored.ack_code, ack_id=_ack_id(stored.pk), problems=problems)
    return Receipt(ack=ack, outcome=stored.outcome, message_type=header.message_type, duplicate=True)


def _apply(header: Header, parsed, *, now: datetime) -> tuple[str, list[Problem]]:
    """Apply a stored message's records; refused content leaves nothing of itself behind."""
    if not header.used:
        return Outcome.IGNORED, []
    try:
        with transaction.atomic():
            read = message_read(header, parsed, today=timezone.localdate(now))
            _merged_charts_refuse(read)
            batch = read.batch
            batch_apply(
                batch,
                at=now,
                by=None,
                source={"hl7": header.control_id, "type": header.message_type},
                label=f"HL7 {header.message_type} {header.control_id}",
            )
            if batch.counts["patients"]["rejected"] or batch.counts["appointments"]["rejected"]:
                raise r.Rejected("; ".join(f"{p.position}: {p.reason}" for p in batch.problems))
            warnings = [
                Problem("102", f"{p.position}: {p.reason}", "W") for p in batch.problems + batch.warnings
            ]
            warnings += _merges_apply(read, header=header, now=now)
    except (r.Rejected, MergeRefused) as refused:
        return Outcome.REFUSED, [Problem("204" if isinstance(refused, MergeRefused) else "102", str(refused))]
    return Outcome.APPLIED, warnings


def _merged_charts_refuse(read: Message) -> None:
    """A message about a chart the EHR merged away is refused: applying it would bring the chart back."""
    mrns = {p.mrn for p in read.batch.patients}
    gone = (
        Patient.objects.filter(mrn__in=mrns, merged_into__isnull=False).select_related("merged_into").first()
    )
    if gone is not None:
        raise r.Rejected(
            f"MRN {gone.mrn} was merged into MRN {gone.merged_into.mrn}: send its messages under that MRN"
        )


def _merges_apply(read: Message, *, header: Header, now: datetime) -> list[Problem]:
    """ADT A40: merge each prior chart into the surviving one (just written from PID)."""
    warnings = []
    for merge in read.merges:
        survivor = Patient.objects.get(**_one_chart(merge.mrn))
        charts = list(Patient.objects.filter(mrn=merge.prior_mrn)[:2])
        if not charts:
            warnings.append(
                Problem(
                    "204", f"{merge.position}: no chart with MRN {merge.prior_mrn}: nothing to merge", "W"
                )
            )
            continue
        if len(charts) > 1:
            raise r.Rejected(f"{merge.position}: two charts have MRN {merge.prior_mrn} (from two systems)")
        patient_merge(survivor=survivor, merged=charts[0], now=now, details={"hl7": header.control_id})
    return warnings


def _one_chart(mrn: str) -> dict:
    ids = list(Patient.objects.filter(mrn=mrn).values_list("pk", flat=True)[:2])
    if len(ids) != 1:
        raise r.Rejected(f"MRN {mrn} names {len(ids)} charts")
    return {"pk": ids[0]}


def _ack_id(pk: int) -> str:
    return f"{settings.HL7_APPLICATION[:10]}{pk}"


def _as_text(data: bytes) -> str:
    """The message as text for admins to read; bytes that are not UTF-8 (or NUL) shown escaped."""
    return data.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")


def _control_id_guess(data: bytes) -> str:
    """MSH-10 of a message we could not read, for the AR's MSA-2, if the MSH gives one at all."""
    first = data.split(b"\r", 1)[0]
    if not first.startswith(b"MSH") or len(first) < 8:
        return ""
    fields = first.split(first[3:4])
    return fields[9].decode("ascii", "replace")[:199] if len(fields) > 9 else ""
