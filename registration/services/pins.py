"""Issuing PINs for staff to hand over: from the chart, an appointment or patient administration."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration import pin_codes as codes
from registration.models import (
    PIN_PATHS,
    AuditEvent,
    Pin,
    PortalAccess,
    RegistrationPath,
)
from registration.selectors import pins_usable, self_registration_requests_matching
from registration.services.access_rules import access_grant_check
from registration.services.audit import audit_record
from registration.services.errors import (
    AlreadyRegistered,
    AppointmentMismatch,
    ContactNotOnChart,
    OutstandingPin,
    PossibleDuplicate,
    RegistrationError,
)
from registration.services.invitation_rules import patient_lock_invitable
from registration.services.pin_rules import pin_expiry, pins_revoke
from registration.statistics.tallies import statuses_refresh


@dataclass(frozen=True)
class IssuedPin:
    pin: Pin
    code: str = field(repr=False)  # the only time the plain PIN exists: show it once, never store or log it


def pin_issue(
    *,
    patient: Patient,
    contact: FamilyContact,
    path: RegistrationPath,
    by: User,
    appointment: Appointment | None = None,
    duplicate_override_reason: str = "",
    replace_outstanding: bool = True,
    replacing_pin_id: int | None = None,
    now: datetime | None = None,
    client_address: str | None = None,
) -> IssuedPin:
    """Issue a PIN for one patient and family contact; any earlier unused PIN for the pair stops working.

    Issuing is the practice's authentication of the contact: nothing else is asked of staff. If a waiting
    self-registration request may be this parent's, refuse with `PossibleDuplicate` unless staff give a
    reason to go on. A deceased child or an inactive chart is refused with `PatientNotInvitable`. A PIN
    of the pair still valid is replaced, unless `replace_outstanding=False` (staff have not confirmed yet)
    or it is not `replacing_pin_id` (staff confirmed replacing another, which a colleague replaced since):
    then `OutstandingPin` is raised and nothing changes.
    """
    now = now or timezone.now()
    parts = codes.pin_code_new()
    with transaction.atomic(durable=True):
        pin, details = pin_row_issue(
            patient=patient,
            contact=contact,
            path=path,
            by=by,
            appointment=appointment,
            duplicate_override_reason=duplicate_override_reason,
            replace_outstanding=replace_outstanding,
            replacing_pin_id=replacing_pin_id,
            now=now,
            parts=parts,
        )
        audit_record(
            action=AuditEvent.Action.PIN_ISSUED,
            at=now,
            actor=by,
            path=path,
            patient=patient,
            contact=contact,
            client_address=client_address,
            details=details,
        )
    return IssuedPin(pin=pin, code=parts.display)


def pin_row_issue(
    *,
    patient,
    contact,
    path,
    by,
    appointment,
    duplicate_override_reason,
    replace_outstanding,
    replacing_pin_id,
    now,
    parts: codes.PinParts | None,
) -> tuple[Pin, dict]:
    """Make the PIN row, its code's hash from `parts`; with None, a row whose code is drawn later."""
    if path not in PIN_PATHS:
        raise RegistrationError(f"PINs are not issued through {path}.")
    if appointment is not None and appointment.patient_id != patient.pk:
        raise AppointmentMismatch()
    # First, and under the patient's lock: a deceased child or an inactive chart gets nothing.
    patient_lock_invitable(patient)
    # Locking the chart link serialises staff issuing for the same pair: the second waits, then
    # replaces the first's PIN, so exactly one stays live. The link alone: locking the contact too
    # deadlocked with a redemption holding the PIN, whose new access refers to the contact.
    link = (
        PatientContact.objects.select_for_update(of=("self",))
        .select_related("contact")
        .filter(patient=patient, contact=contact)
        .first()
    )
    if link is None:
        raise ContactNotOnChart()
    access_grant_check(patient=patient, link=link, day=timezone.localdate(now))
    if PortalAccess.objects.filter(
        patient=patient, contact=contact, account__disabled_at__isnull=True
    ).exists():
        raise AlreadyRegistered()
    details: dict = {}
    matches = list(self_registration_requests_matching(patient=patient, contacts=[link.contact]))
    if matches:
        if not duplicate_override_reason.strip():
            raise PossibleDuplicate(matches)
        details["duplicate_override"] = {
            "reason": duplicate_override_reason.strip(),
            "request_ids": [r.pk for r in matches],
        }

    if not replace_outstanding or replacing_pin_id is not None:
        # Checked under the link's lock: two clicks a minute apart must not send two PINs unasked, and
        # staff who agreed to replace one PIN are asked again about a colleague's newer one.
        outstanding = pins_usable(now).filter(patient=patient, contact=contact)
        outstanding = outstanding.select_related("welcome_message").first()
        if outstanding is not None and outstanding.pk != replacing_pin_id:
            raise OutstandingPin(outstanding)
    revoked = pins_revoke(
        Pin.objects.filter(patient=patient, contact=contact), reason=Pin.EndReason.SUPERSEDED, now=now
    )
    pin = Pin.objects.create(
        patient=patient,
        contact=link.contact,
        appointment=appointment,
        path=path,
        issued_by=by,
        lookup=codes.PIN_NOT_DRAWN_LOOKUP if parts is None else parts.lookup,
        secret_hash=codes.pin_secret_not_drawn() if parts is None else codes.pin_secret_hash(parts),
        issued_at=now,
        expires_at=pin_expiry(now),
    )
    statuses_refresh([patient.pk])
    details |= {"pin_id": pin.pk, "expires_at": pin.expires_at.isoformat(), "revoked_pin_ids": revoked}
    if appointment is not None:
        details["appointment_id"] = appointment.pk
    return pin, details
