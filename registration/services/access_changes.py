"""Staff changes to who sees a child beyond PINs and restrictions: a parent's access kept past the patient's
majority on another basis, and the reading of a restriction's private document (audited like a change)."""

from datetime import datetime

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from registration.models import AccessBasis, AccessRestriction, AuditEvent, PortalAccess
from registration.services.audit import audit_record
from registration.services.errors import RegistrationError

# What a parent's access may become: it then outlives the patient's majority birthday.
BASES_PAST_MAJORITY = (AccessBasis.ADULT_CONSENT, AccessBasis.GUARDIAN)


class AccessBasisNotChanged(RegistrationError):
    message = "Check the change: a live parent's access, the new basis and a note are needed."


class RestrictionHasNoDocument(RegistrationError):
    message = "No document was attached to this restriction."


def access_basis_change(
    *,
    access: PortalAccess,
    basis: AccessBasis,
    by: User,
    note: str,
    now: datetime | None = None,
    client_address: str | None = None,
) -> PortalAccess:
    """Record that a parent's live access continues past the patient's majority because the adult patient
    consents (`ADULT_CONSENT`) or a court appointed the parent guardian (`GUARDIAN`)."""
    if basis not in BASES_PAST_MAJORITY:
        raise AccessBasisNotChanged("Choose the adult patient's consent or a court-appointed guardianship.")
    if not note.strip():
        raise AccessBasisNotChanged(
            "Add a note: how the consent was given, or which court order appoints the guardian."
        )
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        access = PortalAccess.objects.select_for_update(of=("self",)).filter(pk=access.pk).first()
        if access is None:  # ended (a restriction, the majority) since the page was drawn
            raise AccessBasisNotChanged(
                "That access has ended: issue a new PIN if the person may see the patient."
            )
        if access.basis != AccessBasis.PARENT:
            raise AccessBasisNotChanged(
                f"That access is already on another basis ({access.get_basis_display()})."
            )
        previous, access.basis = access.basis, basis
        access.save(update_fields=["basis"])
        audit_record(
            action=AuditEvent.Action.ACCESS_BASIS_CHANGED,
            at=now,
            actor=by,
            patient_id=access.patient_id,
            contact_id=access.contact_id,
            account_id=access.account_id,
            client_address=client_address,
            details={"access_id": access.pk, "from": previous, "to": basis, "note": note.strip()},
        )
    return access


def restriction_document_read(
    *,
    restriction: AccessRestriction,
    by: User,
    now: datetime | None = None,
    client_address: str | None = None,
) -> File:
    """Open a restriction's private document for a staff member, recording who read it."""
    if not restriction.document:
        raise RestrictionHasNoDocument()
    now = now or timezone.now()
    opened = restriction.document.open("rb")  # a file gone from the disk is not recorded as read
    with transaction.atomic(durable=True):
        audit_record(
            action=AuditEvent.Action.RESTRICTION_DOCUMENT_READ,
            at=now,
            actor=by,
            patient_id=restriction.patient_id,
            contact_id=restriction.contact_id,
            client_address=client_address,
            details={"restriction_id": restriction.pk, "document": restriction.document.name},
        )
    return opened
