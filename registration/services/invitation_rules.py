"""Whether anyone may be invited to a patient's portal: the EHR's word on the chart decides.

A deceased child, or a chart the EHR made inactive (merged into another, or no longer seen here), gets
no PIN, no welcome message and no new portal access, whichever path staff or a parent take. Staff pages
use the same rule to hide the buttons and say why.
"""

from datetime import date

from patients.models import Patient
from registration.services.errors import PatientDeceased, PatientInactive, PatientNotInvitable


def invitation_refusal(
    *, active: bool, deceased: bool, deceased_on: date | None = None
) -> PatientNotInvitable | None:
    """Return why nobody may be invited to a patient in this state, or None if they may.

    Takes the fields themselves, so that rows read as plain values (the dashboard's) use the rule too.
    """
    if deceased:  # checked first: a deceased child's chart is often made inactive as well
        return PatientDeceased(on=deceased_on)
    if not active:
        return PatientInactive()
    return None


def patient_invitation_refusal(patient: Patient) -> PatientNotInvitable | None:
    """Return why nobody may be invited to `patient`'s portal, or None if they may."""
    return invitation_refusal(
        active=patient.active, deceased=patient.deceased, deceased_on=patient.deceased_on
    )


def patient_lock_invitable(patient: Patient) -> None:
    """Lock the patient's row as it is now and raise `PatientNotInvitable` if nobody may be invited.

    Call inside the service's transaction, before anything is written: the state is read fresh (the
    caller's copy may predate an import), and the lock keeps an import from changing it until commit.
    FOR NO KEY UPDATE, not FOR UPDATE: rows that refer to the patient (PINs, accesses, audit events)
    can still be inserted meanwhile by others, so this lock cannot deadlock against them.
    """
    state = (
        Patient.objects.select_for_update(no_key=True)
        .filter(pk=patient.pk)
        .values("active", "deceased", "deceased_on")
        .first()
    )
    if state is not None and (refusal := invitation_refusal(**state)) is not None:
        raise refusal
