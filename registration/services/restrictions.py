"""Restrictions: a person on a chart who may not be given access to the child, recorded, enforced, lifted.

Every path that gives access asks `restriction_refuse` first, under the locks it already holds; creating
a restriction ends the person's live PINs and accesses in the same transaction, after taking the PINs'
locks, so a redemption racing it either finishes first (and its access is ended here) or finds its PIN
revoked.
"""

from collections.abc import Iterable
from datetime import date, datetime

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from patients.models import FamilyContact, Patient, PatientContact
from registration.models import AccessRestriction, AuditEvent, Pin, PortalAccess
from registration.selectors import pins_live
from registration.selectors.access import restriction_in_effect, restrictions_in_effect
from registration.services.access_ends import access_end
from registration.services.audit import audit_record
from registration.services.errors import ContactNotOnChart, ContactRestricted, RestrictionInvalid
from registration.services.pin_rules import pins_revoke

DOCUMENT_TYPES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".heic"}


def restriction_refuse(
    *,
    patient_id: int,
    day: date,
    contact_id: int | None = None,
    contact_ids: Iterable[int] = (),
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    names: Iterable[tuple[str, str]] = (),
) -> None:
    """Raise `ContactRestricted` if a restriction in effect on `day` keeps this person from the patient."""
    restriction = restriction_in_effect(
        patient_id=patient_id,
        day=day,
        contact_id=contact_id,
        contact_ids=contact_ids,
        emails=emails,
        phones=phones,
        names=names,
    )
    if restriction is not None:
        raise ContactRestricted(restriction)


def restriction_create(
    *,
    patient: Patient,
    contact: FamilyContact,
    basis: AccessRestriction.Basis,
    starts_on: date,
    by: User | None,
    ends_on: date | None = None,
    review_on: date | None = None,
    note: str = "",
    document: UploadedFile | None = None,
    source_id: str = "",
    now: datetime | None = None,
    client_address: str | None = None,
) -> AccessRestriction:
    """Record that `contact` may not be given access to `patient`; if it is in effect today, end their
    live PINs and accesses to the child now (a later first day is enforced by the daily task)."""
    now = now or timezone.now()
    _check(basis=basis, starts_on=starts_on, ends_on=ends_on, document=document)
    with transaction.atomic(durable=True):
        _patient_and_link_lock(patient, contact)
        same = AccessRestriction.objects.filter(
            patient=patient, contact=contact, basis=basis, starts_on=starts_on, ends_on=ends_on
        )
        if not source_id and (twice := same.filter(lifted_at__isnull=True, source_id="").first()):
            return twice  # the form sent twice (a double click): one restriction, one audit event
        restriction = AccessRestriction(
            patient=patient,
            contact=contact,
            basis=basis,
            starts_on=starts_on,
            ends_on=ends_on,
            review_on=review_on,
            note=note.strip(),
            created_by=by,
            created_at=now,
            source_id=source_id,
        )
        if document is not None:
            restriction.document.save(document.name, document, save=False)
        restriction.save()
        audit_record(
            action=AuditEvent.Action.RESTRICTION_CREATED,
            at=now,
            actor=by,
            patient=patient,
            contact=contact,
            client_address=client_address,
            details=_described(restriction),
        )
        if restriction.in_effect_on(timezone.localdate(now)):
            restriction_enforce(restriction, actor=by, now=now, client_address=client_address)
    return restriction


def restriction_lift(
    *,
    restriction: AccessRestriction,
    by: User,
    reason: str,
    now: datetime | None = None,
    client_address: str | None = None,
) -> AccessRestriction:
    """End a restriction early (a court order vacated). Ended accesses stay ended: staff issue a new PIN."""
    if not reason.strip():
        raise RestrictionInvalid("Say why the restriction is lifted (for example, the order was vacated).")
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        restriction = AccessRestriction.objects.select_for_update().get(pk=restriction.pk)
        if restriction.lifted_at is not None:
            return restriction
        restriction.lifted_at, restriction.lifted_by, restriction.lift_reason = now, by, reason.strip()
        restriction.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        audit_record(
            action=AuditEvent.Action.RESTRICTION_LIFTED,
            at=now,
            actor=by,
            patient_id=restriction.patient_id,
            contact_id=restriction.contact_id,
            client_address=client_address,
            details={"restriction_id": restriction.pk, "reason": restriction.lift_reason},
        )
    return restriction


def restriction_enforce(
    restriction: AccessRestriction,
    *,
    actor: User | None,
    now: datetime,
    client_address: str | None = None,
) -> None:
    """Within the caller's transaction: revoke the person's live PINs for the child, then end every
    access to the child held through the contact or by an account using the contact's email or phone.

    The PINs are locked first: a redemption holding one finishes before the accesses are read, so the
    access it made is among them.
    """
    contact = restriction.contact
    # Every live PIN of the child, not only the person's: one of them may be the other parent's, being
    # redeemed right now by this person. Its redemption commits first, and its access is ended below.
    list(
        pins_live(Pin.objects.filter(patient_id=restriction.patient_id)).select_for_update().values_list("pk")
    )
    revoked = pins_revoke(
        Pin.objects.filter(patient_id=restriction.patient_id, contact_id=contact.pk),
        reason=Pin.EndReason.RESTRICTED,
        now=now,
    )
    # The person's accounts: those that ever saw a child through the contact, or use its email or phone.
    person = Q(contact_id=contact.pk) | Q(
        account_id__in=PortalAccess.history.filter(contact_id=contact.pk).values("account_id")
    )
    if contact.email:
        person |= Q(account__user__email__iexact=contact.email)
    if contact.cell_phone:
        person |= Q(account__cell_phone=str(contact.cell_phone))
    accesses = list(
        PortalAccess.objects.select_for_update(of=("self",))
        .filter(person, patient_id=restriction.patient_id)
        .select_related("account")
    )
    for access in accesses:
        access_end(
            access,
            reason=PortalAccess.EndReason.RESTRICTED,
            now=now,
            actor=actor,
            client_address=client_address,
            details={"restriction_id": restriction.pk},
        )
    restriction.enforced_at = now
    restriction.save(update_fields=["enforced_at"])
    audit_record(
        action=AuditEvent.Action.RESTRICTION_ENFORCED,
        at=now,
        actor=actor,
        patient_id=restriction.patient_id,
        contact_id=contact.pk,
        client_address=client_address,
        details={
            "restriction_id": restriction.pk,
            "revoked_pin_ids": revoked,
            "ended_access_ids": [a.pk for a in accesses],
        },
    )


def restrictions_take_effect(*, day: date, now: datetime | None = None) -> int:
    """Enforce the restrictions whose first day has come (recorded earlier with a later start), each in
    its own transaction; return how many. Running it twice does nothing the second time."""
    now = now or timezone.now()
    done = 0
    for restriction_id in (
        restrictions_in_effect(day).filter(enforced_at__isnull=True).values_list("pk", flat=True)
    ):
        with transaction.atomic(durable=True):
            restriction = (
                AccessRestriction.objects.select_for_update(of=("self",))
                .select_related("contact")
                .get(pk=restriction_id)
            )
            if restriction.enforced_at is None and restriction.in_effect_on(day):
                _patient_and_link_lock(restriction.patient, restriction.contact, must_be_on_chart=False)
                restriction_enforce(restriction, actor=None, now=now)
                done += 1
    return done


def _patient_and_link_lock(
    patient: Patient, contact: FamilyContact, *, must_be_on_chart: bool = True
) -> None:
    # The order PIN issue takes them in (patient, then the chart link), so the two cannot deadlock and
    # a PIN being issued for the pair either commits first (and is revoked here) or waits and is refused.
    Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).values_list("pk").first()
    link = PatientContact.objects.select_for_update().filter(patient=patient, contact=contact).first()
    if must_be_on_chart and link is None:
        raise ContactNotOnChart()
    if link is not None and link.relationship == PatientContact.Relationship.SELF:
        raise RestrictionInvalid("The patient cannot be restricted from their own record.")


def _check(*, basis, starts_on, ends_on, document) -> None:
    if basis not in AccessRestriction.Basis.values or starts_on is None:
        raise RestrictionInvalid()
    if ends_on is not None and ends_on < starts_on:
        raise RestrictionInvalid("The last day of the restriction cannot be before its first day.")
    if document is not None:
        name = document.name.lower()
        if not any(name.endswith(ext) for ext in DOCUMENT_TYPES):
            raise RestrictionInvalid("Attach the order as a PDF or a picture (PDF, PNG, JPEG, TIFF, HEIC).")
        if document.size > settings.RESTRICTION_DOCUMENT_MAX_BYTES:
            raise RestrictionInvalid("The document is too large: attach a file of at most 10 MB.")


def _described(restriction: AccessRestriction) -> dict:
    return {
        "restriction_id": restriction.pk,
        "basis": restriction.basis,
        "starts_on": restriction.starts_on.isoformat(),
        "ends_on": restriction.ends_on.isoformat() if restriction.ends_on else None,
        "review_on": restriction.review_on.isoformat() if restriction.review_on else None,
        "document": bool(restriction.document),
        "source_id": restriction.source_id,
    }
