"""Ending a portal access, or the PINs that would give one: the rows are kept (their history) with when
and why, and each end is audited.

Restrictions, birthdays and chart merges end accesses and PINs; each calls these inside its own
transaction, with the rows locked.
"""

from datetime import datetime

from django.db.models import QuerySet

from registration.models import AuditEvent, Pin, PortalAccess
from registration.services.audit import audit_record
from registration.services.pin_rules import pins_revoke
from registration.statistics.tallies import statuses_refresh


def access_end(
    access: PortalAccess,
    *,
    reason: PortalAccess.EndReason,
    now: datetime,
    details: dict,
    actor=None,
    client_address: str | None = None,
    patient_id: int | None = None,
) -> None:
    """End `access` for `reason`; the event goes on its chart (or `patient_id`'s), with `details`."""
    access.ended_at, access.end_reason = now, reason
    access.save(update_fields=["ended_at", "end_reason"])
    statuses_refresh([access.patient_id])
    audit_record(
        action=AuditEvent.Action.ACCESS_ENDED,
        at=now,
        actor=actor,
        patient_id=patient_id or access.patient_id,
        contact_id=access.contact_id,
        account_id=access.account_id,
        client_address=client_address,
        details={"access_id": access.pk, "reason": PortalAccess.EndReason(reason).value, **details},
    )


def pins_end(
    pins: QuerySet[Pin], *, reason: Pin.EndReason, now: datetime, details: dict, patient_id: int | None = None
) -> list[int]:
    """Revoke the live PINs among `pins` for `reason`, each audited as an access ended (on its chart, or
    `patient_id`'s); return their ids."""
    owners = {
        pk: (patient, contact) for pk, patient, contact in pins.values_list("pk", "patient_id", "contact_id")
    }
    revoked = pins_revoke(pins, reason=reason, now=now)
    for pin_id in revoked:
        patient, contact = owners[pin_id]
        audit_record(
            action=AuditEvent.Action.ACCESS_ENDED,
            at=now,
            actor=None,
            patient_id=patient_id or patient,
            contact_id=contact,
            details={"pin_id": pin_id, "reason": Pin.EndReason(reason).value, **details},
        )
    return revoked
