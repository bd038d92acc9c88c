"""Birthdays that change who sees a patient: the accesses a birthday narrows or ends, the PINs it stops,
the changes due in the coming days, and what a parent's notice says.

Patients are found by ranges of `date_of_birth` (indexed), never one by one: a birthday `years` from
birth falls within [first, last] exactly when the person is `years` old on `last` and not yet the day
before `first`.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import pgettext_lazy

from patients.models import Patient, PatientContact
from registration.access_policy import AccessPolicy, access_policy, birthday, born_by
from registration.models import (
    AccessBasis,
    AccessLevel,
    AgeMilestone,
    LevelSetBy,
    ParentLevelChoice,
    Pin,
    PortalAccess,
    PortalAccount,
)
from registration.selectors.portal_status import pins_live

Kind = AgeMilestone.Kind
# A teen's birthday narrows what parents and guardians see; majority ends what parents see.
TEEN_BASES = (AccessBasis.PARENT, AccessBasis.GUARDIAN)
# At majority a PIN still works for these links only: the patient's own, and a guardian's.
LINKS_KEPT_AT_MAJORITY = (PatientContact.Relationship.GUARDIAN, PatientContact.Relationship.SELF)


def birthdays_between(years: int, first: date, last: date) -> Q:
    """Patients whose birthday `years` from birth falls on a day in [first, last] (a `Patient` filter)."""
    return Q(
        date_of_birth__gt=born_by(first - timedelta(days=1), years), date_of_birth__lte=born_by(last, years)
    )


def _on_patient(q: Q) -> Q:
    return Q(*[(f"patient__{key}", value) for key, value in q.children])


def teen_level_changes(patients: Q, policy: AccessPolicy) -> QuerySet[PortalAccess]:
    """Live accesses of parents and guardians of `patients` whose level the policy sets and that differ
    from the level a teen's parent has (the teen's recorded choice, else the policy's), annotated with it
    as `new_level`. A level a teen or staff chose is never among them."""
    new_level = Value(policy.parent_level_for_teens.value, output_field=CharField())
    if policy.teen_chooses_parent_level:
        chosen = ParentLevelChoice.objects.filter(patient=OuterRef("patient_id")).values("level")[:1]
        new_level = Coalesce(Subquery(chosen), new_level, output_field=CharField())
    return (
        PortalAccess.objects.filter(
            _on_patient(patients), basis__in=TEEN_BASES, level_set_by=LevelSetBy.POLICY
        )
        .annotate(new_level=new_level)
        .exclude(level=F("new_level"))
    )


def teen_accesses_due(day: date, policy: AccessPolicy) -> QuerySet[PortalAccess]:
    """Accesses to narrow on `day`: their patient is a teen, and their level is not yet the teen's."""
    if policy.teen_age is None:
        return PortalAccess.objects.none()
    teens = Q(
        date_of_birth__gt=born_by(day, policy.majority_age), date_of_birth__lte=born_by(day, policy.teen_age)
    )
    return teen_level_changes(teens, policy)


def majority_accesses_due(day: date, policy: AccessPolicy) -> QuerySet[PortalAccess]:
    """Live accesses to a patient who is an adult on `day` that change: a parent's ends, and a
    guardian's or one the adult consented to, narrowed in the teen years, sees everything again."""
    return PortalAccess.objects.filter(
        Q(basis=AccessBasis.PARENT)
        | Q(basis__in=[AccessBasis.GUARDIAN, AccessBasis.ADULT_CONSENT]) & ~Q(level=AccessLevel.FULL),
        patient__date_of_birth__lte=born_by(day, policy.majority_age),
    )


def majority_pins_due(day: date, policy: AccessPolicy) -> QuerySet[Pin]:
    """Live PINs of patients who are adults on `day`, for anyone but the patient and a guardian."""
    kept_link = PatientContact.objects.filter(
        patient=OuterRef("patient_id"),
        contact=OuterRef("contact_id"),
        relationship__in=LINKS_KEPT_AT_MAJORITY,
    )
    return (
        pins_live()
        .filter(patient__date_of_birth__lte=born_by(day, policy.majority_age))
        .exclude(Exists(kept_link))
    )


def guardianships_ended(day: date) -> QuerySet[PortalAccess]:
    """Live accesses whose guardianship's last day is before `day`."""
    return PortalAccess.objects.filter(ends_on__lt=day)


@dataclass
class MilestoneDue:
    """A birthday in the coming days that changes what parents see, and whom it touches."""

    patient: Patient
    kind: str  # AgeMilestone.Kind
    age: int
    due_on: date
    new_level: str | None  # a teen's parents' level from that day; None at majority (access ends)
    accounts: list[PortalAccount] = field(default_factory=list)
    access_ids: list[int] = field(default_factory=list)
    milestone: AgeMilestone | None = None  # its row, once parents were told (or the change applied)

    @property
    def notified_at(self):
        return self.milestone.notified_at if self.milestone is not None else None


def milestones_due(*, first: date, last: date, policy: AccessPolicy | None = None) -> list[MilestoneDue]:
    """Birthdays in [first, last] that will change a live access, soonest first, with the accounts they
    touch and their milestone rows: three queries however many there are."""
    policy = policy or access_policy()
    sources = []
    if policy.teen_age is not None:
        teens = birthdays_between(policy.teen_age, first, last)
        sources.append((Kind.TEEN, policy.teen_age, teen_level_changes(teens, policy)))
    adults = PortalAccess.objects.filter(
        _on_patient(birthdays_between(policy.majority_age, first, last)), basis=AccessBasis.PARENT
    )
    sources.append((Kind.MAJORITY, policy.majority_age, adults.annotate(new_level=Value(None, CharField()))))
    due: dict[tuple[int, str], MilestoneDue] = {}
    for kind, age, accesses in sources:
        for access in accesses.select_related("patient", "account__user").order_by("pk"):
            patient = access.patient
            key = (patient.pk, kind)
            if key not in due:
                day = birthday(patient.date_of_birth, age)
                due[key] = MilestoneDue(patient, kind, age, day, access.new_level)
            row = due[key]
            row.access_ids.append(access.pk)
            if access.account.disabled_at is None and access.account not in row.accounts:
                row.accounts.append(access.account)
    if due:
        for milestone in AgeMilestone.objects.filter(
            patient_id__in={patient_id for patient_id, _ in due}, due_on__range=(first, last)
        ):
            row = due.get((milestone.patient_id, milestone.kind))
            if row is not None and row.due_on == milestone.due_on:
                row.milestone = milestone
    return sorted(due.values(), key=lambda r: (r.due_on, r.patient.last_name, r.patient.first_name, r.kind))


def patients_of(accesses) -> dict[int, list[int]]:
    """Access ids by patient id, from rows with `patient_id` and `pk`."""
    found: dict[int, list[int]] = defaultdict(list)
    for patient_id, pk in accesses:
        found[patient_id].append(pk)
    return found


# ---------------------------------------------------------------- what a notice says


@dataclass(frozen=True)
class AccessChangeNotice:
    """What a parent's email about a birthday says: no clinical detail, only whose, when and what."""

    child: str  # the patient's first name
    kind: str
    age: int
    due_on: date
    new_level: str | None  # teen: the level parents will have; None at majority
    teen_chooses: bool
    possessive: str  # "her", "his", "their" (Spanish: "su"), translated when the email is drawn


POSSESSIVES = {
    Patient.Sex.FEMALE: pgettext_lazy("possessive, before a noun", "her"),
    Patient.Sex.MALE: pgettext_lazy("possessive, before a noun", "his"),
}
THEIR = pgettext_lazy("possessive, before a noun", "their")


def access_change_notice(milestone: AgeMilestone, policy: AccessPolicy | None = None) -> AccessChangeNotice:
    """The notice for `milestone`, as it stands when the email is sent."""
    policy = policy or access_policy()
    patient = milestone.patient
    new_level = None
    if milestone.kind == Kind.TEEN:
        choice = (
            ParentLevelChoice.objects.filter(patient=patient).first()
            if policy.teen_chooses_parent_level
            else None
        )
        new_level = choice.level if choice is not None else policy.parent_level_for_teens.value
    return AccessChangeNotice(
        child=patient.first_name,
        kind=milestone.kind,
        age=milestone.due_on.year - patient.date_of_birth.year,
        due_on=milestone.due_on,
        new_level=new_level,
        teen_chooses=policy.teen_chooses_parent_level,
        possessive=POSSESSIVES.get(patient.sex, THEIR),
    )
