"""Ending a portal access: the row is kept (its history) with when and why, and the end is audited.

Restrictions, birthdays and chart merges end accesses; each calls this, inside its own transaction and
with the access locked.
"""

from datetime import datetime

from registration.models import AuditEvent, PortalAccess
from registration.services.audit import audit_record


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
