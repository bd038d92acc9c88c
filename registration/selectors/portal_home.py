"""What a parent, or a teen on their own account, sees at home on the portal."""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from patients.models import Appointment, Patient
from registration.access_policy import AccessPolicy, access_policy, is_teen_on
from registration.models import (
    AccessBasis,
    AccessLevel,
    ParentLevelChoice,
    PortalAccount,
    SelfRegistrationRequest,
)


@dataclass(frozen=True)
class ChildCard:
    """A patient the account sees, at the level its access gives."""

    patient: Patient
    level: str  # AccessLevel: "none" shows the patient's name only
    appointments: list[Appointment] = field(default_factory=list)


@dataclass(frozen=True)
class OwnCard(ChildCard):
    """The patient's own record, on their own account, and what their parents see of it."""

    is_teen: bool = False  # in the policy's teen years: parents see `parents_level` (an adult's see nothing)
    parents_level: str = AccessLevel.FULL  # the teen's choice, or the policy's level for teens
    may_choose: bool = False  # the policy lets the patient choose their parents' level today


def portal_home(account: PortalAccount, *, now: datetime | None = None) -> dict:
    """What the portal home shows: only the patients this account may see, their upcoming visits where
    the access's level shows them, the patient's own record on a teen's own account, and the account's
    requests. The same number of queries however many children."""
    now = now or timezone.now()
    policy = access_policy()
    accesses = list(account.accesses.select_related("patient").order_by("patient__first_name", "pk"))
    shown = [a.patient_id for a in accesses if a.level != AccessLevel.NONE]
    upcoming: dict[int, list[Appointment]] = {}
    if shown:
        for appointment in (
            Appointment.objects.filter(patient_id__in=shown, starts_at__gte=now)
            .exclude(status=Appointment.Status.CANCELLED)
            .order_by("starts_at")
        ):
            upcoming.setdefault(appointment.patient_id, []).append(appointment)
    own = [a for a in accesses if a.basis == AccessBasis.SELF]
    children = [
        ChildCard(a.patient, a.level, upcoming.get(a.patient_id, [])[:3])
        for a in accesses
        if a.basis != AccessBasis.SELF
    ]
    # An authenticated request is the child on this portal, unless the practice added the child to the
    # parent's other account: then the request says which one.
    requests = list(
        account.self_registrations.exclude(
            status=SelfRegistrationRequest.Status.AUTHENTICATED, access__account=account
        )
        .select_related("access__account__user")
        .order_by("-submitted_at", "-pk")
    )
    return {
        "account": account,
        "own": [_own_card(a, upcoming, policy, now) for a in own],
        "children": children,
        "requests": requests,
        "teen_age": policy.teen_age,
    }


def _own_card(access, upcoming, policy: AccessPolicy, now: datetime) -> OwnCard:
    patient = access.patient
    is_teen = is_teen_on(patient.date_of_birth, timezone.localdate(now), policy)
    may_choose = is_teen and policy.teen_chooses_parent_level
    # What `access_terms` gives a parent's new access: the teen's choice, where the policy lets them make one.
    choice = ParentLevelChoice.objects.filter(patient=patient).first() if may_choose else None
    parents_level = choice.level if choice is not None else policy.parent_level_for_teens
    return OwnCard(
        patient,
        access.level,
        upcoming.get(patient.pk, [])[:3],
        is_teen=is_teen,
        parents_level=AccessLevel(parents_level).value,
        may_choose=may_choose,
    )
