"""Birthdays handled by the system: parents told 30 days before what a birthday changes, the change made
on the day (and on a later run if a day was missed), each change audited.

`access_birthdays_run` is the daily task's body. The accesses, PINs and patients it works on are found
by a few set-based queries on `date_of_birth` ranges; each patient's change is then one transaction that
locks the patient and checks again, so a second run, or two at once, change nothing twice and send
nothing twice (`AgeMilestone` holds when parents were told and when the change was made).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from patients.models import Patient, PatientContact
from registration.access_policy import AccessPolicy, access_policy, birthday, is_adult_on, is_teen_on
from registration.messaging.account_email_outbox import parent_email_queue_within
from registration.messaging.tasks import parent_email_enqueue
from registration.models import (
    AccessBasis,
    AccessLevel,
    AgeMilestone,
    AuditEvent,
    LevelSetBy,
    ParentAccountEmail,
    Pin,
    PortalAccess,
    PortalAccount,
)
from registration.selectors.access import access_terms
from registration.selectors.birthdays import (
    TEEN_BASES,
    MilestoneDue,
    guardianships_ended,
    majority_accesses_due,
    majority_pins_due,
    milestones_due,
    patients_of,
    teen_accesses_due,
)
from registration.services.access_ends import access_end, pins_end
from registration.services.audit import audit_record
from registration.services.restrictions import restrictions_take_effect

Kind = AgeMilestone.Kind


@dataclass
class BirthdaysSummary:
    """What one run did, for the command's output and the task's result."""

    parents_notified: int = 0
    patients_notified: int = 0
    accesses_narrowed: int = 0
    accesses_ended: int = 0
    pins_revoked: int = 0
    restrictions_took_effect: int = 0

    def __str__(self) -> str:
        return (
            f"notified {_count(self.parents_notified, 'parent')} of "
            f"{_count(self.patients_notified, 'patient')}; "
            f"{_count(self.accesses_narrowed, 'access', 'accesses')} narrowed; {self.accesses_ended} ended; "
            f"{_count(self.pins_revoked, 'PIN')} revoked; "
            f"{_count(self.restrictions_took_effect, 'restriction')} took effect"
        )


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def access_birthdays_run(*, now: datetime | None = None) -> BirthdaysSummary:
    """Make today's birthday changes (and any a missed day left), then tell parents of the changes due
    in the next `ACCESS_CHANGE_NOTICE_DAYS` days. "Today" is the day in the practice's time zone."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    policy = access_policy()
    summary = BirthdaysSummary()
    summary.restrictions_took_effect = restrictions_take_effect(day=today, now=now)
    for access_id in guardianships_ended(today).values_list("pk", flat=True):
        summary.accesses_ended += _guardianship_end(access_id, today=today, now=now)
    adults = set(majority_accesses_due(today, policy).values_list("patient_id", flat=True))
    adults |= set(majority_pins_due(today, policy).values_list("patient_id", flat=True))
    for patient_id in sorted(adults):
        ended, revoked = _majority_apply(patient_id, policy=policy, today=today, now=now)
        summary.accesses_ended += ended
        summary.pins_revoked += revoked
    teens = patients_of(teen_accesses_due(today, policy).values_list("patient_id", "pk"))
    for patient_id, access_ids in sorted(teens.items()):
        summary.accesses_narrowed += _teen_apply(patient_id, access_ids, policy=policy, today=today, now=now)
    # Milestones whose day came with nothing left to change (the access ended, the teen chose first).
    AgeMilestone.objects.filter(due_on__lte=today, applied_at__isnull=True).update(applied_at=now)
    last = today + timedelta(days=settings.ACCESS_CHANGE_NOTICE_DAYS)
    for due in milestones_due(first=today, last=last, policy=policy):
        if due.notified_at is None and due.accounts:
            told = _parents_notify(due, now=now)
            summary.parents_notified += told
            summary.patients_notified += 1 if told else 0
    return summary


def _milestone_applied(patient: Patient, kind: str, due_on: date, now: datetime) -> AgeMilestone:
    milestone, _ = AgeMilestone.objects.get_or_create(patient=patient, kind=kind, due_on=due_on)
    if milestone.applied_at is None:
        milestone.applied_at = now
        milestone.save(update_fields=["applied_at"])
    return milestone


def _patient_lock(patient_id: int) -> Patient:
    # The lock PIN issue and restrictions take first: one change to a child's access at a time.
    return Patient.objects.select_for_update(no_key=True).get(pk=patient_id)


@transaction.atomic(durable=True)
def _guardianship_end(access_id: int, *, today: date, now: datetime) -> int:
    access = PortalAccess.objects.select_for_update().filter(pk=access_id, ends_on__lt=today).first()
    if access is None:  # ended meanwhile
        return 0
    access_end(
        access,
        reason=PortalAccess.EndReason.GUARDIANSHIP_ENDED,
        now=now,
        details={"ends_on": access.ends_on.isoformat()},
    )
    return 1


@transaction.atomic(durable=True)
def _majority_apply(patient_id: int, *, policy: AccessPolicy, today: date, now: datetime) -> tuple[int, int]:
    """End the parents' accesses of a patient who is an adult today and stop PINs that would give one;
    a guardian's access, an adult's consent and the patient's own account stay."""
    patient = _patient_lock(patient_id)
    if not is_adult_on(patient.date_of_birth, today, policy):
        return 0, 0
    milestone = _milestone_applied(
        patient, Kind.MAJORITY, birthday(patient.date_of_birth, policy.majority_age), now
    )
    # PINs first, as a restriction does: a redemption holding one finishes, and its access is ended below.
    due = list(majority_pins_due(today, policy).filter(patient_id=patient_id).values_list("pk", flat=True))
    revoked = pins_end(
        Pin.objects.filter(pk__in=due),
        reason=Pin.EndReason.MAJORITY,
        now=now,
        details={"milestone_id": milestone.pk},
    )
    accesses = list(PortalAccess.objects.select_for_update().filter(patient_id=patient_id).order_by("pk"))
    ended = [a for a in accesses if a.basis == AccessBasis.PARENT]
    for access in ended:
        access_end(
            access, reason=PortalAccess.EndReason.MAJORITY, now=now, details={"milestone_id": milestone.pk}
        )
    # A guardian of an adult, or a parent the adult consented to, is no longer held to the teen years'
    # level (the teen's choice no longer applies either): they see everything, until the adult says not.
    for access in accesses:
        if (
            access.basis in (AccessBasis.GUARDIAN, AccessBasis.ADULT_CONSENT)
            and access.level != AccessLevel.FULL
        ):
            old = access.level
            access.level, access.level_set_by, access.level_set_at = AccessLevel.FULL, LevelSetBy.POLICY, now
            access.save(update_fields=["level", "level_set_by", "level_set_at"])
            audit_record(
                action=AuditEvent.Action.ACCESS_LEVEL_CHANGED,
                at=now,
                actor=None,
                patient_id=patient_id,
                contact_id=access.contact_id,
                account_id=access.account_id,
                details={"access_id": access.pk, "old_level": old, "new_level": access.level}
                | {"set_by": "policy", "milestone_id": milestone.pk},
            )
    return len(ended), len(revoked)


@transaction.atomic(durable=True)
def _teen_apply(
    patient_id: int, access_ids: list[int], *, policy: AccessPolicy, today: date, now: datetime
) -> int:
    """Set the parents' and guardians' accesses of a patient who is a teen today to the teen's level.

    Only levels the policy set change: a level the teen or staff chose stays."""
    patient = _patient_lock(patient_id)
    if not is_teen_on(patient.date_of_birth, today, policy):
        return 0
    # The relationship only tells a guardian from a parent, and the level is the same for both.
    terms = access_terms(
        patient=patient, relationship=PatientContact.Relationship.PARENT, day=today, policy=policy
    )
    accesses = list(
        PortalAccess.objects.select_for_update()
        .filter(pk__in=access_ids, basis__in=TEEN_BASES, level_set_by=LevelSetBy.POLICY)
        .exclude(level=terms.level)
        .order_by("pk")
    )
    if not accesses:
        return 0
    milestone = _milestone_applied(patient, Kind.TEEN, birthday(patient.date_of_birth, policy.teen_age), now)
    for access in accesses:
        old = access.level
        access.level, access.level_set_by, access.level_set_at = terms.level, terms.level_set_by, now
        access.save(update_fields=["level", "level_set_by", "level_set_at"])
        audit_record(
            action=AuditEvent.Action.ACCESS_LEVEL_CHANGED,
            at=now,
            actor=None,
            patient_id=patient_id,
            contact_id=access.contact_id,
            account_id=access.account_id,
            details={
                "access_id": access.pk,
                "old_level": old,
                "new_level": access.level,
                "set_by": access.level_set_by,
                "milestone_id": milestone.pk,
            },
        )
    return len(accesses)


@transaction.atomic(durable=True)
def _parents_notify(due: MilestoneDue, *, now: datetime) -> int:
    """Queue one notice per parent account the birthday touches, unless they were told already; return
    how many were queued. The emails go once the transaction commits."""
    milestone, _ = AgeMilestone.objects.get_or_create(patient=due.patient, kind=due.kind, due_on=due.due_on)
    milestone = AgeMilestone.objects.select_for_update().get(pk=milestone.pk)
    if milestone.notified_at is not None:
        return 0
    accounts = list(
        PortalAccount.objects.select_for_update()
        .filter(pk__in=[account.pk for account in due.accounts], disabled_at__isnull=True)
        .order_by("pk")
    )
    emails = [
        parent_email_queue_within(
            account,
            kind=ParentAccountEmail.Kind.ACCESS_CHANGE,
            now=now,
            enqueue=parent_email_enqueue,
            milestone=milestone,
        )
        for account in accounts
    ]
    milestone.notified_at = now
    milestone.save(update_fields=["notified_at"])
    audit_record(
        action=AuditEvent.Action.ACCESS_CHANGE_NOTIFIED,
        at=now,
        actor=None,
        patient=due.patient,
        details={
            "milestone_id": milestone.pk,
            "kind": milestone.kind,
            "due_on": milestone.due_on.isoformat(),
            "account_ids": [account.pk for account in accounts],
            "parent_email_ids": [email.pk for email in emails],
        },
    )
    return len(emails)
