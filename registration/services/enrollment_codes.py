"""Sign-up codes sent to the contact on file (NIST SP 800-63A's enrollment code, 5.3.2.2).

When a parent's sign-up names a child on a chart and the parent is a family contact on it, a one-time
code goes to the phone, or else the email, that the chart already has for that contact: never to what
the parent typed. A parent who enters it has shown they hold the contact's own phone or mailbox, and
staff see that on the request. Whether a sign-up matched anyone is never said: the pages are the same,
and the code is made and sent by the task worker, outside the request.

The plain code exists only in the worker, between being made and being handed to the provider; the row
keeps its hash.
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from patients.models import FamilyContact
from registration import selectors
from registration.models import (
    AuditEvent,
    EnrollmentCode,
    PortalAccount,
    RegistrationPath,
    SelfRegistrationRequest,
)
from registration.services.audit import audit_record
from registration.services.errors import EnrollmentCodeNotAccepted

Channel = EnrollmentCode.Channel
Status = EnrollmentCode.Status
DIGITS = 6
FRESH = timedelta(hours=1)


@dataclass(frozen=True)
class CodeToSend:
    """A code made for one contact on file, not yet stored: the worker sends it, then records it."""

    account: PortalAccount
    contact: FamilyContact
    requests: list[SelfRegistrationRequest]
    channel: str
    code: str = field(repr=False)
    made_at: datetime

    @property
    def address(self) -> str:
        """The contact's own phone or email, as the chart has it."""
        return str(self.contact.cell_phone) if self.channel == Channel.SMS else self.contact.email

    @property
    def expires_at(self) -> datetime:
        return self.made_at + timedelta(seconds=settings.ENROLLMENT_CODE_VALIDITY_SECONDS[self.channel])


def enrollment_codes_make(*, account_id: int, now: datetime | None = None) -> list[CodeToSend]:
    """Codes for the contacts on file the account's waiting requests name, one per contact, for requests
    no live or entered code covers yet. Nothing is stored until `enrollment_code_record`."""
    now = now or timezone.now()
    account = PortalAccount.objects.select_related("user").get(pk=account_id)
    if account.is_disabled:
        return []
    covered = EnrollmentCode.objects.filter(account=account).filter(
        status=Status.PROVED
    ) | EnrollmentCode.objects.filter(account=account, status=Status.SENT, expires_at__gt=now)
    # Only requests just made: a code is for the parent still at the sign-up, not one from last week.
    waiting = list(
        account.self_registrations.filter(
            status=SelfRegistrationRequest.Status.AWAITING, submitted_at__gte=now - FRESH
        ).exclude(enrollment_codes__in=covered)
    )
    codes = []
    for contact, requests in selectors.enrollment_code_contacts(waiting).items():
        channel = Channel.SMS if contact.cell_phone else Channel.EMAIL if contact.email else None
        if channel is not None and not _contact_had_enough(contact, now):
            code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
            codes.append(CodeToSend(account, contact, requests, channel, code, now))
    return codes


def _contact_had_enough(contact: FamilyContact, now: datetime) -> bool:
    """Sign-ups by strangers naming this parent must not flood her phone: a few codes a day at most."""
    since = now - timedelta(days=1)
    sent = EnrollmentCode.objects.filter(contact=contact, created_at__gte=since).count()
    return sent >= settings.ENROLLMENT_CODES_PER_CONTACT_A_DAY


def enrollment_code_record(*, sent: CodeToSend, delivered: bool, error: str = "") -> EnrollmentCode:
    """Store a code the worker handed to the provider (or could not), with its audit event."""
    with transaction.atomic(durable=True):
        row = EnrollmentCode.objects.create(
            account=sent.account,
            contact=sent.contact,
            channel=sent.channel,
            code_hash=make_password(sent.code, hasher=_hasher()) if delivered else "",
            created_at=sent.made_at,
            expires_at=sent.expires_at,
            status=Status.SENT if delivered else Status.FAILED,
        )
        row.requests.set(sent.requests)
        audit_record(
            action=AuditEvent.Action.ENROLLMENT_CODE_SENT,
            at=sent.made_at,
            actor=None,
            path=RegistrationPath.SELF_REGISTRATION,
            contact=sent.contact,
            account=sent.account,
            details={
                "enrollment_code_id": row.pk,
                "channel": sent.channel,
                "request_ids": [r.pk for r in sent.requests],
                "delivered": delivered,
                **({"error": error[:200]} if error else {}),
            },
        )
    return row


def enrollment_code_prove(
    *, account: PortalAccount, code: str, now: datetime | None = None, client_address: str | None = None
) -> EnrollmentCode:
    """The parent typed a code: if it is one of the account's live codes, the requests it covers are
    proved by the contact's phone or email on file. Otherwise `EnrollmentCodeNotAccepted`, in the same
    words whether or not any code was sent, and each live code counts a wrong try."""
    now = now or timezone.now()
    typed = "".join(char for char in code if not char.isspace() and char != "-")
    with transaction.atomic(durable=True):
        account = PortalAccount.objects.select_for_update().get(pk=account.pk)
        live = list(
            EnrollmentCode.objects.select_for_update()
            .filter(account=account, status=Status.SENT, expires_at__gt=now)
            .order_by("pk")
        )
        proved = next((row for row in live if check_password(typed, row.code_hash)), None)
        if not live:
            make_password(typed, hasher=_hasher())  # the time a real check takes: nothing is revealed
        if proved is not None:
            proved.status, proved.proved_at = Status.PROVED, now
            proved.save(update_fields=["status", "proved_at"])
            audit_record(
                action=AuditEvent.Action.ENROLLMENT_CODE_PROVED,
                at=now,
                actor=account.user,
                path=RegistrationPath.SELF_REGISTRATION,
                contact_id=proved.contact_id,
                account=account,
                client_address=client_address,
                details={
                    "enrollment_code_id": proved.pk,
                    "channel": proved.channel,
                    "request_ids": list(proved.requests.values_list("pk", flat=True)),
                },
            )
            return proved
        locked = []
        for row in live:
            row.wrong_tries += 1
            if row.wrong_tries >= settings.ENROLLMENT_CODE_MAX_WRONG_TRIES:
                row.status = Status.LOCKED
                locked.append(row.pk)
            row.save(update_fields=["wrong_tries", "status"])
        audit_record(
            action=AuditEvent.Action.ENROLLMENT_CODE_FAILED,
            at=now,
            actor=account.user,
            path=RegistrationPath.SELF_REGISTRATION,
            account=account,
            client_address=client_address,
            details={"live_code_ids": [row.pk for row in live], "locked_code_ids": locked},
        )
    # Raised after the block, so the wrong try is counted.
    raise EnrollmentCodeNotAccepted()


def _hasher():
    # The PIN hasher: a code is short-lived and random, like a PIN's secret.
    return import_string(settings.PIN_HASHER)()
