"""Who may see a child: restrictions in effect, and the level and basis a new access gets."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from patients.models import Patient, PatientContact
from registration.access_policy import AccessPolicy, access_policy, is_teen_on
from registration.models import (
    AccessBasis,
    AccessLevel,
    AccessRestriction,
    LevelSetBy,
    ParentLevelChoice,
)


def restrictions_in_effect(day: date) -> QuerySet[AccessRestriction]:
    """Restrictions not lifted whose period includes `day`."""
    return AccessRestriction.objects.filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=day), lifted_at__isnull=True, starts_on__lte=day
    )


def restriction_in_effect(
    *,
    patient_id: int,
    day: date,
    contact_id: int | None = None,
    contact_ids: Iterable[int] = (),
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    names: Iterable[tuple[str, str]] = (),
) -> AccessRestriction | None:
    """The restriction keeping this person from the patient on `day`, if any.

    The person is the chart's contact `contact_id` (or any of `contact_ids`: those an account has seen a
    child through), or anyone using a restricted contact's email or cell phone, or first and last name
    (`names`, from what a parent typed): a restricted parent signing up afresh, or redeeming the other
    parent's PIN, is still them.
    """
    person = Q(pk__in=[])
    contact_ids = {*contact_ids, *([contact_id] if contact_id is not None else [])}
    if contact_ids:
        person |= Q(contact_id__in=contact_ids)
    for email in {e.strip().lower() for e in emails if e and e.strip()}:
        person |= Q(contact__email__iexact=email)
    for phone in {str(p) for p in phones if p}:
        person |= Q(contact__cell_phone=phone)
    for first_name, last_name in names:
        if first_name.strip() and last_name.strip():
            person |= Q(
                contact__first_name__iexact=first_name.strip(), contact__last_name__iexact=last_name.strip()
            )
    return (
        restrictions_in_effect(day)
        .filter(person, patient_id=patient_id)
        .select_related("contact")
        .order_by("starts_on", "pk")
        .first()
    )


def restricted_contact_ids(patient_ids: Iterable[int], day: date) -> dict[tuple[int, int], AccessRestriction]:
    """The restrictions in effect on `day` for these patients, by (patient id, contact id): for lists."""
    return {
        (r.patient_id, r.contact_id): r
        for r in restrictions_in_effect(day).filter(patient_id__in=list(patient_ids)).order_by("-starts_on")
    }


@dataclass(frozen=True)
class AccessTerms:
    """What a new access to a patient is: its basis, and the level it starts at and who set it."""

    basis: AccessBasis
    level: AccessLevel
    level_set_by: LevelSetBy


def access_terms(
    *, patient: Patient, relationship: str, day: date, policy: AccessPolicy | None = None
) -> AccessTerms:
    """The terms of an access granted on `day` through a contact of this `relationship` to the patient.

    The patient's own account sees everything. A parent, or a guardian, of an adolescent gets what the
    adolescent chose, or else the policy's level for teens; their access is full otherwise.
    """
    policy = policy or access_policy()
    if relationship == PatientContact.Relationship.SELF:
        return AccessTerms(AccessBasis.SELF, AccessLevel.FULL, LevelSetBy.POLICY)
    basis = (
        AccessBasis.GUARDIAN if relationship == PatientContact.Relationship.GUARDIAN else AccessBasis.PARENT
    )
    if not is_teen_on(patient.date_of_birth, day, policy):
        return AccessTerms(basis, AccessLevel.FULL, LevelSetBy.POLICY)
    # Read with the patient when the caller selected it (`select_related("patient__parent_level_choice")`).
    choice = getattr(patient, "parent_level_choice", None) if policy.teen_chooses_parent_level else None
    if choice is not None:
        set_by = LevelSetBy.TEEN if choice.how == ParentLevelChoice.How.PORTAL else LevelSetBy.STAFF
        return AccessTerms(basis, AccessLevel(choice.level), set_by)
    return AccessTerms(basis, policy.parent_level_for_teens, LevelSetBy.POLICY)


def contact_is_patient(*, patient_id: int, contact_id: int) -> bool:
    """Whether the chart's contact is the patient themselves (an adolescent's own email and phone): their
    PIN slip and welcome message speak to them, not to a parent."""
    return PatientContact.objects.filter(
        patient_id=patient_id, contact_id=contact_id, relationship=PatientContact.Relationship.SELF
    ).exists()
