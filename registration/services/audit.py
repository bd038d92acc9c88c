from datetime import datetime

from accounts.models import User
from patients.models import FamilyContact, Patient
from registration.models import AuditEvent, PortalAccount


def audit_record(
    *,
    action: AuditEvent.Action,
    at: datetime,
    actor: User | None,
    path: str = "",
    patient: Patient | None = None,
    contact: FamilyContact | None = None,
    account: PortalAccount | None = None,
    client_address: str | None = None,
    details: dict | None = None,
    patient_id: int | None = None,
    contact_id: int | None = None,
    account_id: int | None = None,
) -> AuditEvent:
    """Write one audit event. Call it inside the transaction that makes the change it records.

    Give the patient, contact and account as objects, or as ids when only those are at hand.
    """
    return AuditEvent.objects.create(
        action=action,
        at=at,
        actor=actor,
        path=path,
        patient_id=patient.pk if patient is not None else patient_id,
        contact_id=contact.pk if contact is not None else contact_id,
        account_id=account.pk if account is not None else account_id,
        client_address=client_address,
        details=details or {},
    )
