"""What the staff page of a patient's own account shows: the patient's own contact, account and choice."""

from dataclasses import dataclass
from datetime import date

from patients.models import Patient, PatientContact
from registration.access_policy import AccessPolicy, access_policy, age_on, is_teen_on
from registration.models import AccessBasis, ParentLevelChoice, PortalAccess


@dataclass(frozen=True)
class TeenAccountPage:
    patient: Patient
    policy: AccessPolicy
    age: int
    is_teen: bool  # the policy's teen years: the patient may choose their parents' level, if it says so
    own_link: PatientContact | None  # the patient's own email and phone on the chart (relationship SELF)
    own_access: PortalAccess | None  # the patient's own live account, with its user
    choice: ParentLevelChoice | None
    parent_accesses: list[PortalAccess]  # live, with their account's user and their contact

    @property
    def may_choose(self) -> bool:
        return self.is_teen and self.policy.teen_chooses_parent_level


def teen_account_page(patient_id: int, *, day: date, policy: AccessPolicy | None = None) -> TeenAccountPage:
    """Everything the page shows, in four queries. Raise `Patient.DoesNotExist` for no such patient."""
    policy = policy or access_policy()
    patient = Patient.objects.get(pk=patient_id)
    own_link = (
        PatientContact.objects.filter(patient=patient, relationship=PatientContact.Relationship.SELF)
        .select_related("contact")
        .order_by("pk")
        .first()
    )
    accesses = list(
        PortalAccess.objects.filter(patient=patient).select_related("account__user", "contact").order_by("pk")
    )
    own = next((a for a in accesses if a.basis == AccessBasis.SELF), None)
    return TeenAccountPage(
        patient=patient,
        policy=policy,
        age=age_on(patient.date_of_birth, day),
        is_teen=is_teen_on(patient.date_of_birth, day, policy),
        own_link=own_link,
        own_access=own,
        choice=ParentLevelChoice.objects.filter(patient=patient).select_related("recorded_by").first(),
        parent_accesses=[a for a in accesses if a.basis in (AccessBasis.PARENT, AccessBasis.GUARDIAN)],
    )
