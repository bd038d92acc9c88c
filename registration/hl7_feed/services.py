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
from django.db import connection, transaction
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
    row = {"header": header, "data": data, "peer": peer, "now": now}
    try:
        with transaction.atomic():
            outcome = Outcome.APPLIED if header.used else Outcome.IGNORED
            row_id = _row_claim(**row, outcome=outcome)
            if row_id is None:
                return _again(header)
            problems = _apply(header, parsed, now=now) if header.used else []
            if problems:  # applied, with what was left out
                FeedMessage.objects.filter(pk=row_id).update(error=_said(problems))
    except Refused as refused:
        # Nothing of the message was kept (its transaction rolled back): record it as refused.
        outcome, problems = Outcome.REFUSED, [refused.problem]
        with transaction.atomic():
            row_id = _row_claim(**row, outcome=outcome, error=_said(problems))
            if row_id is None:
                return _again(header)
    ack = ack_build(header=header, code=ACK_CODES[outcome], ack_id=_ack_id(row_id), problems=problems)
    return Receipt(ack=ack, outcome=outcome, message_type=header.message_type)


class Refused(Exception):
    """The message's content cannot be applied: answered AE, and nothing of it is kept but its row."""

    def __init__(self, problem: Problem):
        super().__init__(problem.text)
        self.problem = problem


def _row_claim(
    *, header: Header, data: bytes, peer: str, now: datetime, outcome: str, error: str = ""
) -> int | None:
    """Store the message's row and return its id; None if the sender's control id is stored already.

    One INSERT ... ON CONFLICT DO NOTHING (PostgreSQL and SQLite): a copy arriving while the first is
    being applied waits for that transaction, then finds the row.
    """
    values = {
        "sender": header.sender,
        "control_id": header.control_id,
        "message_type": header.message_type,
        "received_at": now,
        "outcome": outcome,
        "ack_code": ACK_CODES[outcome],
        "error": error,
        "peer": peer[:100],
        "size": len(data),
        "raw": _as_text(data),
        "raw_pruned_at": None,
    }
    meta = FeedMessage._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in values]
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    names, marks = ", ".join(quote(c.column) for c in columns), ", ".join(["%s"] * len(columns))
    # Names from the model, values as parameters.
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING RETURNING {pk}"  # noqa: S608
    params = [c.get_db_prep_save(values[c.name], connection) for c in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    return found[0] if found else None


def _said(problems: list[Problem]) -> str:
    return "; ".join(p.text for p in problems)[:500]


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


def _apply(header: Header, parsed, *, now: datetime) -> list[Problem]:
    """Apply a message's records; return what was left out. `Refused` if the content cannot be applied."""
    try:
        read = message_read(header, parsed, today=timezone.localdate(now))
    except r.Rejected as rejected:
        raise Refused(Problem("102", str(rejected))) from None
    batch = read.batch
    batch_apply(
        batch,
        at=now,
        by=None,
        source={"hl7": header.control_id, "type": header.message_type},
        label=f"HL7 {header.message_type} {header.control_id}",
    )
    if batch.counts["patients"]["rejected"] or batch.counts["appointments"]["rejected"]:
        raise Refused(Problem("204", "; ".join(f"{p.position}: {p.reason}" for p in batch.problems)))
    problems = [Problem("102", f"{p.position}: {p.reason}", "W") for p in batch.problems + batch.warnings]
    return problems + _merges_apply(read, header=header, now=now)


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
            raise Refused(Problem("204", f"{merge.position}: two charts have MRN {merge.prior_mrn}"))
        try:
            patient_merge(survivor=survivor, merged=charts[0], now=now, details={"hl7": header.control_id})
        except MergeRefused as refused:
            raise Refused(Problem("204", f"{merge.position}: {refused}")) from None
    return warnings


def _one_chart(mrn: str) -> dict:
    ids = list(Patient.objects.filter(mrn=mrn).values_list("pk", flat=True)[:2])
    if len(ids) != 1:
        raise Refused(Problem("204", f"MRN {mrn} names {len(ids)} charts"))
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
