"""The audit trail page: its events, and the people a search names."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import (
    Q,
    QuerySet,
)
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from patients.models import FamilyContact, Patient
from registration.models import (
    AuditEvent,
    PortalAccount,
)
from registration.selectors.patients import patient_match

AUDIT_PATIENTS_AT_MOST = 20


def audit_patients_named(text: str) -> list[Patient]:
    """Patients the audit trail's Patient box names, read as patient search reads it: a name in parts,
    an MRN or a birth date. At most `AUDIT_PATIENTS_AT_MOST` + 1, so the page can say there are more."""
    match = patient_match(" ".join(text.split()))
    return list(Patient.objects.filter(match).order_by("sort_name", "pk")[: AUDIT_PATIENTS_AT_MOST + 1])


@dataclass(frozen=True)
class AuditPeople:
    """Whoever an email address names in the audit trail: sign-in users (a parent or staff member who
    acted), their portal accounts (acted on), and family contacts on charts with that email."""

    user_ids: list[int]
    account_ids: list[int]
    contact_ids: list[int]

    def __bool__(self) -> bool:
        return bool(self.user_ids or self.contact_ids)


def audit_people_with_email(email: str) -> AuditPeople:
    """Users, accounts and family contacts with this email, in any case, in two indexed queries."""
    email = email.strip()
    # lower(email) is how the unique constraint indexes users' emails; contacts' have an UPPER index.
    users = list(
        User.objects.exclude(email="")
        .alias(email_lower=Lower("email"))
        .filter(email_lower=email.lower())
        .values_list("pk", "portal_account")
    )
    return AuditPeople(
        user_ids=[user_id for user_id, _ in users],
        account_ids=[account_id for _, account_id in users if account_id is not None],
        contact_ids=list(FamilyContact.objects.filter(email__iexact=email).values_list("pk", flat=True)),
    )


def accounts_recently_disabled(*, limit: int = 10) -> list[PortalAccount]:
    """The accounts disabled last, newest first, with whom each was merged into: to enable one again."""
    return list(
        PortalAccount.objects.filter(disabled_at__isnull=False)
        .select_related("user", "disabled_by", "merged_into__user")
        .order_by("-disabled_at", "-pk")[:limit]
    )


def audit_events(
    *,
    patients: Iterable[Patient] | None = None,
    people: AuditPeople | None = None,
    actor_id: int | None = None,
    action: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events, newest first; each filter given narrows them. Patients and people come found
    already (a handful of ids), so each filter is an index lookup however large the practice."""
    events = AuditEvent.objects.select_related("actor", "patient", "contact", "account__user")
    if patients is not None:
        events = events.filter(patient_id__in=[patient.pk for patient in patients])
    if people is not None:
        events = events.filter(
            Q(actor_id__in=people.user_ids)
            | Q(account_id__in=people.account_ids)
            | Q(contact_id__in=people.contact_ids)
        )
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if action:
        events = events.filter(action=action)
    if date_from is not None:
        events = events.filter(at__gte=timezone.make_aware(datetime.combine(date_from, time.min)))
    if date_to is not None:
        events = events.filter(
            at__lt=timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min))
        )
    return events.order_by("-at", "-pk")


# ---------------------------------------------------------------- parent portal
