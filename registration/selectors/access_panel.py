"""The chart's Access panel: everyone who sees a child or is kept from it, and the policy behind it."""

from dataclasses import dataclass
from datetime import date

from django.db.models import F

from patients.models import Patient
from registration.access_policy import AccessPolicy, access_policy, age_on, birthday
from registration.models import AccessBasis, AccessRestriction, PortalAccess


@dataclass(frozen=True)
class AccessLine:
    """A portal access to the child, live or ended, and when it ends or ended."""

    access: PortalAccess  # its account's user and its contact loaded
    # When a live access will end by itself, and why: a guardianship's last day, or the majority
    # birthday for a parent's access; None when nothing ends it (the adult's consent, their own account).
    scheduled_end: date | None
    scheduled_end_why: str
    # A parent's live access may be kept past majority: the adult's consent or a guardianship.
    basis_changeable: bool

    @property
    def live(self) -> bool:
        return self.access.ended_at is None


@dataclass(frozen=True)
class RestrictionLine:
    restriction: AccessRestriction  # its contact and the staff who recorded and lifted it loaded
    in_effect: bool  # on the day the panel was read
    upcoming: bool  # its first day is still to come


@dataclass(frozen=True)
class AccessPanel:
    accesses: list[AccessLine]  # live first, newest granted first
    restrictions: list[RestrictionLine]  # newest first
    policy: AccessPolicy
    age: int
    # Offer the patient's own account: the policy allows one and the patient has reached its teen age.
    own_account_offered: bool


def access_panel(patient: Patient, *, day: date, policy: AccessPolicy | None = None) -> AccessPanel:
    """Every access to the patient (ended ones too) and every restriction, in two queries."""
    policy = policy or access_policy()
    majority = birthday(patient.date_of_birth, policy.majority_age)
    accesses = (
        PortalAccess.history.filter(patient=patient)
        .select_related("account__user", "contact")
        .order_by(F("ended_at").desc(nulls_first=True), "-granted_at", "-pk")
    )
    restrictions = (
        AccessRestriction.objects.filter(patient=patient)
        .select_related("contact", "created_by", "lifted_by")
        .order_by("-starts_on", "-pk")
    )
    age = age_on(patient.date_of_birth, day)
    return AccessPanel(
        accesses=[_line(access, majority) for access in accesses],
        restrictions=[RestrictionLine(r, r.in_effect_on(day), day < r.starts_on) for r in restrictions],
        policy=policy,
        age=age,
        own_account_offered=policy.teen_own_account
        and policy.teen_age is not None
        and age >= policy.teen_age,
    )


def _line(access: PortalAccess, majority: date) -> AccessLine:
    live = access.ended_at is None
    end, why = None, ""
    if live and access.basis == AccessBasis.GUARDIAN and access.ends_on:
        end, why = access.ends_on, "the guardianship's last day"
    elif live and access.basis == AccessBasis.PARENT:
        end, why = majority, "the patient's majority"
    return AccessLine(
        access=access,
        scheduled_end=end,
        scheduled_end_why=why,
        basis_changeable=live and access.basis == AccessBasis.PARENT,
    )
