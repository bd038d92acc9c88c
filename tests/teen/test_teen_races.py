"""Races on a patient's own account (PostgreSQL row locks): each call in its own thread and connection."""

import pytest
from django.db import transaction

from patients.models import PatientContact
from registration.models import AccessLevel, AuditEvent, ParentLevelChoice, Pin, PortalAccess
from registration.services.pin_redemption import pin_redeem
from registration.services.teen_accounts import parent_level_record_in_person, teen_contact_add
from tests.factories import NewAccountFactory, StaffFactory
from tests.services.test_concurrency import outcome_counts, run_at_once, start, successes, wait_until_blocked

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_five_staff_adding_the_patients_own_contact_at_once_leave_one(teen):
    staff = StaffFactory()
    outcomes = run_at_once(
        [
            lambda i=i: teen_contact_add(patient=teen, email=f"ana{i}@example.com", cell_phone="", by=staff)
            for i in range(5)
        ]
    )
    assert outcome_counts("own contact", outcomes) == {"ok": 5}
    [link] = PatientContact.objects.filter(patient=teen, relationship="self").select_related("contact")
    assert {o.contact_id for o in successes(outcomes)} == {link.contact_id}
    events = AuditEvent.objects.filter(action=AuditEvent.Action.TEEN_CONTACT_ADDED)
    assert sorted(e.details["created"] for e in events) == [False] * 4 + [True]
    # The last one to commit is what the chart holds.
    assert link.contact.email == events.latest("pk").details["email"]


def test_two_choices_at_once_leave_every_parent_at_the_last_choice(teen, make_portal_account):
    make_portal_account(teen.mother)
    make_portal_account(teen.father)
    staff = StaffFactory()
    outcomes = run_at_once(
        [
            lambda level=level: parent_level_record_in_person(patient=teen, level=level, by=staff)
            for level in (AccessLevel.NONE, AccessLevel.FULL)
        ]
    )
    assert outcome_counts("choices", outcomes) == {"ok": 2}
    choice = ParentLevelChoice.objects.get(patient=teen)
    assert set(PortalAccess.objects.filter(patient=teen).values_list("level", flat=True)) == {choice.level}


@pytest.mark.parametrize("redeem_first", [True, False], ids=["redemption-first", "choice-first"])
def test_a_parent_redeeming_while_the_teen_chooses_ends_at_the_choice(teen, issue_pin, redeem_first):
    issued = issue_pin(teen.mother)
    staff = StaffFactory()

    def redeem():
        return pin_redeem(
            code=issued.code, child_birth_date=teen.date_of_birth, new_account=NewAccountFactory()
        )

    def choose():
        return parent_level_record_in_person(patient=teen, level=AccessLevel.NONE, by=staff)

    first, second = (redeem, choose) if redeem_first else (choose, redeem)
    with transaction.atomic():
        Pin.objects.select_for_update().get(pk=issued.pin.pk)  # busy: both calls queue behind this
        first_done = start(first)
        wait_until_blocked(1)
        second_done = start(second)
        wait_until_blocked(2)
    outcomes = [first_done(), second_done()]
    assert outcome_counts(f"redeem vs choose ({redeem_first=})", outcomes) == {"ok": 2}
    assert list(PortalAccess.objects.filter(patient=teen).values_list("level", flat=True)) == [
        AccessLevel.NONE
    ]
