"""Whether a person may be given access to a child now (restrictions, the age of majority, own accounts),
and the one way an access is made, on the terms the policy gives.

Every path that issues a PIN, redeems one or grants a self-registration asks `access_grant_check`, under
the chart link's or the patient's lock it already holds, and makes the access with `access_make`.
"""

from collections.abc import Iterable
from datetime import date, datetime

from django.db.models import Q
from django.utils import timezone

from patients.models import Patient, PatientContact
from registration.access_policy import access_policy, age_on, is_adult_on
from registration.models import AccessBasis, Pin, PortalAccess, PortalAccount
from registration.selectors.access import access_terms
from registration.services.errors import (
    OwnAccountNotAllowed,
    PatientIsAdult,
    RelationshipEnded,
    TeenAddressIsParents,
)
from registration.services.restrictions import restriction_refuse
from registration.statistics.tallies import statuses_refresh

SELF = PatientContact.Relationship.SELF


def access_grant_check(
    *,
    patient: Patient,
    link: PatientContact,
    day: date,
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    names: Iterable[tuple[str, str]] = (),
    account: PortalAccount | None = None,
) -> None:
    """Raise why the chart's contact (`link`), or whoever uses `emails`, `phones` or `names`, or the
    `account` (with every contact it has seen a child through, ended accesses too), may not be given
    access to the patient on `day`: a restriction, a relationship the EHR says ended, a parent of an
    adult, or an own account the policy does not allow yet or whose address is a parent's."""
    contact = link.contact
    restriction_refuse(
        patient_id=patient.pk,
        contact_id=contact.pk,
        contact_ids=PortalAccess.history.filter(account=account).values_list("contact_id", flat=True)
        if account is not None
        else (),
        day=day,
        emails=[contact.email, *emails],
        phones=[contact.cell_phone, *phones],
        names=names,
    )
    relationship_current_check(link=link, day=day)
    policy = access_policy()
    if link.relationship == SELF:
        own_account_check(patient=patient, day=day)
        own_address_check(
            patient=patient, emails=[contact.email, *emails], phones=[contact.cell_phone, *phones]
        )
    elif link.relationship != PatientContact.Relationship.GUARDIAN and is_adult_on(
        patient.date_of_birth, day, policy
    ):
        raise PatientIsAdult(majority_age=policy.majority_age)


def relationship_current_check(*, link: PatientContact, day: date) -> None:
    """Raise `RelationshipEnded` if the EHR says the link's relationship ended before `day` (a guardianship
    that ended, a stepparent after a divorce): the person stays on the chart, and is not given access."""
    if link.valid_until is not None and link.valid_until < day:
        raise RelationshipEnded(ended_on=link.valid_until)


def own_account_check(*, patient: Patient, day: date) -> None:
    """Raise `OwnAccountNotAllowed` unless the policy lets this patient hold their own account on `day`."""
    policy = access_policy()
    if is_adult_on(patient.date_of_birth, day, policy):
        return
    if not policy.teen_own_account or policy.teen_age is None:
        raise OwnAccountNotAllowed(
            "The practice's policy gives patients under "
            f"{policy.majority_age} no account of their own: their parents hold the access."
        )
    if age_on(patient.date_of_birth, day) < policy.teen_age:
        raise OwnAccountNotAllowed(
            f"A patient may have their own account from age {policy.teen_age}; this patient is "
            f"{age_on(patient.date_of_birth, day)}."
        )


def own_address_check(*, patient: Patient, emails: Iterable[str], phones: Iterable[str]) -> None:
    """Raise `TeenAddressIsParents` if an email or phone given for the patient's own account is one a
    parent on file uses: on the chart's other contacts, or on an account that sees the patient."""
    emails = {e.strip().lower() for e in emails if e and e.strip()}
    phones = {str(p) for p in phones if p}
    if not emails and not phones:
        return
    contact_match = Q(contact__email__in=[])
    account_match = Q(account__user__email__in=[])
    for email in emails:
        contact_match |= Q(contact__email__iexact=email)
        account_match |= Q(account__user__email__iexact=email)
    if phones:
        contact_match |= Q(contact__cell_phone__in=phones)
        account_match |= Q(account__cell_phone__in=phones)
    others = PatientContact.objects.filter(patient=patient).exclude(relationship=SELF)
    parents = PortalAccess.objects.filter(patient=patient).exclude(basis=AccessBasis.SELF)
    if others.filter(contact_match).exists() or parents.filter(account_match).exists():
        raise TeenAddressIsParents()


def access_make(
    *,
    account: PortalAccount,
    patient: Patient,
    contact_id: int,
    path: str,
    now: datetime,
    pin: Pin | None = None,
    relationship: str | None = None,
) -> PortalAccess:
    """Let `account` see `patient` through the chart's contact, with the basis and level the contact's
    relationship, the patient's age and any choice of theirs give (`access_terms`).

    Give the chart link's `relationship` if it was read already ("" if the contact has no link)."""
    if relationship is None:
        relationship = (
            PatientContact.objects.filter(patient=patient, contact_id=contact_id)
            .values_list("relationship", flat=True)
            .first()
        )
    terms = access_terms(patient=patient, relationship=relationship or "", day=timezone.localdate(now))
    access = PortalAccess.objects.create(
        account=account,
        patient=patient,
        contact_id=contact_id,
        path=path,
        granted_at=now,
        pin=pin,
        basis=terms.basis,
        level=terms.level,
        level_set_by=terms.level_set_by,
        level_set_at=now,
    )
    statuses_refresh([patient.pk])
    return access
