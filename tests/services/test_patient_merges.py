"""A chart the EHR merged into another (ADT A40): the surviving chart keeps the contacts, appointments,
PINs, accesses and restrictions of both, each change audited; a merge sent twice is applied once."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from patients.models import Patient, PatientContact
from registration.models import (
    AccessRestriction,
    AgeMilestone,
    AuditEvent,
    ParentLevelChoice,
    Pin,
    PortalAccess,
)
from registration.services.errors import PinNotAccepted, PinReplaced
from registration.services.patient_merges import MergeOutcome, MergeRefused, patient_merge
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.restrictions import restriction_create
from tests.factories import AppointmentFactory, NewAccountFactory, PatientContactFactory, PatientFactory
from tests.services.test_concurrency import outcome_counts, start, wait_until_blocked

pytestmark = pytest.mark.django_db
BORN = dt.date(2019, 5, 4)
HL7 = {"hl7": "MSG00042"}


def merge(survivor: Patient, merged: Patient, **kwargs) -> MergeOutcome:
    """As the feed applies a merge: inside its own transaction."""
    kwargs.setdefault("now", timezone.now())
    kwargs.setdefault("details", HL7)
    with transaction.atomic():
        return patient_merge(survivor=survivor, merged=merged, **kwargs)


@pytest.fixture
def charts(db):
    """The same child twice: the survivor with the mother, the duplicate with the father."""
    mother = PatientContactFactory(patient__date_of_birth=BORN, patient__first_name="Ana")
    father = PatientContactFactory(
        patient=PatientFactory(date_of_birth=BORN, first_name="Ana", last_name=mother.patient.last_name),
        relationship=PatientContact.Relationship.FATHER,
    )
    return mother, father


def _fresh(patient: Patient) -> Patient:
    return Patient.objects.get(pk=patient.pk)


def test_contacts_and_appointments_move_to_the_survivor(charts):
    """The merged chart's contacts and visits are the survivor's now; the merged chart is kept, inactive."""
    mother, father = charts
    survivor, merged = mother.patient, father.patient
    visits = [AppointmentFactory(patient=merged), AppointmentFactory(patient=merged)]

    outcome = merge(survivor, merged)

    assert outcome == MergeOutcome(already=False, links_moved=1, appointments_moved=2)
    assert set(survivor.contact_links.values_list("contact_id", flat=True)) == {
        mother.contact_id,
        father.contact_id,
    }
    assert {v.pk for v in survivor.appointments.all()} == {v.pk for v in visits}
    merged = _fresh(merged)
    assert (merged.active, merged.merged_into_id) == (False, survivor.pk)
    assert not merged.contact_links.exists() and not merged.appointments.exists()


def test_a_contact_on_both_charts_keeps_the_survivors_link(charts):
    """The survivor's link (and its relationship) stands; the merged chart's copy is not left behind."""
    mother, father = charts
    PatientContactFactory(
        patient=father.patient, contact=mother.contact, relationship=PatientContact.Relationship.GUARDIAN
    )

    outcome = merge(mother.patient, father.patient)

    assert (outcome.links_moved, outcome.links_kept) == (1, 1)
    assert PatientContact.objects.get(contact=mother.contact).relationship == "mother"
    assert not PatientContact.objects.filter(patient=father.patient).exists()


def test_a_live_pin_of_the_merged_chart_keeps_working_on_the_survivor(charts, staff):
    """The father's slip, printed for the duplicate chart, registers him to the surviving chart."""
    mother, father = charts
    issued = pin_issue(patient=father.patient, contact=father.contact, path="chart", by=staff)

    outcome = merge(mother.patient, father.patient)

    assert (outcome.pins_moved, outcome.pins_ended) == (1, 0)
    access = pin_redeem(code=issued.code, child_birth_date=BORN, new_account=NewAccountFactory())
    assert (access.patient_id, access.contact_id) == (mother.patient.pk, father.contact.pk)


def test_a_pin_is_ended_when_the_survivor_has_one_for_the_same_person(charts, staff):
    """One live PIN per person and child: the survivor's stands, the merged chart's ends with a reason."""
    mother, father = charts
    PatientContactFactory(patient=father.patient, contact=mother.contact)
    kept = pin_issue(patient=mother.patient, contact=mother.contact, path="chart", by=staff)
    ended = pin_issue(patient=father.patient, contact=mother.contact, path="chart", by=staff)
    now = timezone.now()

    outcome = merge(mother.patient, father.patient, now=now)

    assert (outcome.pins_moved, outcome.pins_ended) == (1, 1)
    pin = Pin.objects.get(pk=ended.pin.pk)
    assert (pin.patient_id, pin.revoked_at, pin.end_reason) == (mother.patient.pk, now, Pin.EndReason.MERGED)
    assert pin.get_end_reason_display() == (
        "The chart was merged into another that had a PIN for this person or another birth date"
    )
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_ENDED, details__pin_id=pin.pk)
    assert (event.patient_id, event.contact_id) == (mother.patient.pk, mother.contact.pk)
    assert event.details | HL7 == event.details and event.details["reason"] == "merged"
    with pytest.raises(PinReplaced):
        pin_redeem(code=ended.code, child_birth_date=BORN, new_account=NewAccountFactory())
    access = pin_redeem(code=kept.code, child_birth_date=BORN, new_account=NewAccountFactory())
    assert access.patient_id == mother.patient.pk


def test_a_pin_is_ended_when_the_charts_birth_dates_differ(charts, staff):
    """The slip's PIN is proved with the merged chart's birth date, which no longer names the child."""
    mother, father = charts
    Patient.objects.filter(pk=father.patient.pk).update(date_of_birth=BORN + dt.timedelta(days=1))
    issued = pin_issue(patient=_fresh(father.patient), contact=father.contact, path="chart", by=staff)

    outcome = merge(mother.patient, _fresh(father.patient))

    assert (outcome.pins_moved, outcome.pins_ended) == (1, 1)
    assert Pin.objects.get(pk=issued.pin.pk).end_reason == Pin.EndReason.MERGED
    with pytest.raises(PinNotAccepted):
        pin_redeem(
            code=issued.code, child_birth_date=BORN + dt.timedelta(days=1), new_account=NewAccountFactory()
        )


def test_used_and_ended_pins_move_as_history(charts, staff):
    mother, father = charts
    first = pin_issue(patient=father.patient, contact=father.contact, path="chart", by=staff)
    second = pin_issue(patient=father.patient, contact=father.contact, path="chart", by=staff)  # ends first
    pin_redeem(code=second.code, child_birth_date=BORN, new_account=NewAccountFactory())

    outcome = merge(mother.patient, father.patient)

    assert (outcome.pins_moved, outcome.pins_ended) == (2, 0)
    assert set(Pin.objects.filter(patient=mother.patient).values_list("pk", flat=True)) == {
        first.pin.pk,
        second.pin.pk,
    }
    assert Pin.objects.get(pk=first.pin.pk).end_reason == Pin.EndReason.SUPERSEDED


def test_an_access_moves_to_the_survivor(charts, make_portal_account):
    mother, father = charts
    account = make_portal_account(father)

    outcome = merge(mother.patient, father.patient)

    assert (outcome.accesses_moved, outcome.accesses_ended) == (1, 0)
    access = account.accesses.get()
    assert (access.patient_id, access.contact_id) == (mother.patient.pk, father.contact.pk)


def test_an_account_seeing_both_charts_keeps_its_access_to_the_survivor(charts, make_portal_account, staff):
    """One live access per account and child: the survivor's stays, the merged chart's ends, audited."""
    mother, father = charts
    account = make_portal_account(mother)
    issued = pin_issue(patient=father.patient, contact=father.contact, path="chart", by=staff)
    duplicate = pin_redeem(code=issued.code, child_birth_date=BORN, account=account)
    now = timezone.now()

    outcome = merge(mother.patient, father.patient, now=now)

    assert (outcome.accesses_moved, outcome.accesses_ended) == (1, 1)
    live = PortalAccess.objects.get(account=account)
    assert (live.patient_id, live.contact_id) == (mother.patient.pk, mother.contact.pk)
    ended = PortalAccess.history.get(pk=duplicate.pk)
    assert (ended.patient_id, ended.ended_at, ended.end_reason) == (
        mother.patient.pk,
        now,
        PortalAccess.EndReason.MERGED,
    )
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_ENDED, details__access_id=ended.pk)
    assert (event.account_id, event.details["hl7"], event.details["reason"]) == (
        account.pk,
        "MSG00042",
        "merged",
    )


def test_a_restriction_moves_and_is_enforced_on_the_survivor(charts, admin, make_portal_account, staff):
    """A father kept from the duplicate chart does not keep the child through the survivor's PIN."""
    mother, father = charts
    PatientContactFactory(patient=mother.patient, contact=father.contact, relationship="father")
    on_survivor = pin_issue(patient=mother.patient, contact=father.contact, path="chart", by=staff)
    restriction = restriction_create(
        patient=father.patient,
        contact=father.contact,
        basis=AccessRestriction.Basis.COURT_ORDER,
        starts_on=timezone.localdate() - dt.timedelta(days=3),
        by=admin,
    )

    outcome = merge(mother.patient, father.patient)

    assert outcome.restrictions_moved == 1
    assert AccessRestriction.objects.get(pk=restriction.pk).patient_id == mother.patient.pk
    pin = Pin.objects.get(pk=on_survivor.pin.pk)
    assert (pin.revoked_at is not None, pin.end_reason) == (True, Pin.EndReason.RESTRICTED)
    with pytest.raises(PinNotAccepted):
        pin_redeem(code=on_survivor.code, child_birth_date=BORN, new_account=NewAccountFactory())


def test_a_restriction_on_the_survivor_ends_an_access_that_came_with_the_merge(
    charts, admin, make_portal_account
):
    mother, father = charts
    account = make_portal_account(father)  # the father sees the duplicate chart
    PatientContactFactory(patient=mother.patient, contact=father.contact, relationship="father")
    restriction_create(
        patient=mother.patient,
        contact=father.contact,
        basis=AccessRestriction.Basis.PROTECTIVE_ORDER,
        starts_on=timezone.localdate(),
        by=admin,
    )

    merge(mother.patient, father.patient)

    assert not PortalAccess.objects.filter(account=account).exists()
    assert PortalAccess.history.get(account=account).end_reason == PortalAccess.EndReason.RESTRICTED


def test_a_restriction_on_the_survivor_ends_a_pin_that_came_with_the_merge(charts, admin, staff):
    """The father's slip for the duplicate chart stops working: the survivor's court order keeps him out."""
    mother, father = charts
    issued = pin_issue(patient=father.patient, contact=father.contact, path="chart", by=staff)
    PatientContactFactory(patient=mother.patient, contact=father.contact, relationship="father")
    restriction_create(
        patient=mother.patient,
        contact=father.contact,
        basis=AccessRestriction.Basis.COURT_ORDER,
        starts_on=timezone.localdate(),
        by=admin,
    )

    outcome = merge(mother.patient, father.patient)

    assert (outcome.pins_moved, outcome.pins_ended) == (1, 0)
    assert Pin.objects.get(pk=issued.pin.pk).end_reason == Pin.EndReason.RESTRICTED
    with pytest.raises(PinNotAccepted):
        pin_redeem(code=issued.code, child_birth_date=BORN, new_account=NewAccountFactory())


def test_the_survivors_teen_choice_stands_and_milestones_do_not_clash(charts):
    mother, father = charts
    now = timezone.now()
    ParentLevelChoice.objects.create(patient=mother.patient, level="limited", chosen_at=now, how="in_person")
    ParentLevelChoice.objects.create(patient=father.patient, level="none", chosen_at=now, how="in_person")
    due = dt.date(2031, 5, 4)
    AgeMilestone.objects.create(patient=mother.patient, kind="teen", due_on=due)
    told = AgeMilestone.objects.create(patient=father.patient, kind="teen", due_on=due, notified_at=now)
    moved = AgeMilestone.objects.create(patient=father.patient, kind="majority", due_on=dt.date(2037, 5, 4))

    merge(mother.patient, father.patient)

    assert ParentLevelChoice.objects.get(patient=mother.patient).level == "limited"
    assert AgeMilestone.objects.get(pk=told.pk).patient_id == father.patient.pk
    assert AgeMilestone.objects.get(pk=moved.pk).patient_id == mother.patient.pk


def test_a_teen_choice_only_the_merged_chart_has_moves(charts):
    mother, father = charts
    ParentLevelChoice.objects.create(
        patient=father.patient, level="limited", chosen_at=timezone.now(), how="in_person"
    )

    merge(mother.patient, father.patient)

    assert ParentLevelChoice.objects.get(level="limited").patient_id == mother.patient.pk


def test_each_chart_records_the_merge(charts, staff):
    mother, father = charts
    PatientContactFactory(patient=father.patient, contact=mother.contact)
    pin_issue(patient=mother.patient, contact=mother.contact, path="chart", by=staff)
    pin_issue(patient=father.patient, contact=mother.contact, path="chart", by=staff)

    merge(mother.patient, father.patient)

    events = AuditEvent.objects.filter(action=AuditEvent.Action.PATIENT_MERGED).order_by("pk")
    assert [e.patient_id for e in events] == [father.patient.pk, mother.patient.pk]
    for event in events:
        assert event.actor is None
        assert event.details == {
            "hl7": "MSG00042",
            "survivor_patient_id": mother.patient.pk,
            "survivor_mrn": mother.patient.mrn,
            "merged_patient_id": father.patient.pk,
            "merged_mrn": father.patient.mrn,
            "earlier_merged_patient_ids": [],
            "links_moved": 1,
            "links_kept": 1,
            "appointments_moved": 0,
            "pins_moved": 1,
            "pins_ended": 1,
            "accesses_moved": 0,
            "accesses_ended": 0,
            "restrictions_moved": 0,
        }


def test_a_merge_sent_twice_is_applied_once(charts, staff):
    mother, father = charts
    pin_issue(patient=father.patient, contact=father.contact, path="chart", by=staff)
    merge(mother.patient, father.patient)
    events = AuditEvent.objects.count()

    again = merge(mother.patient, father.patient)

    assert again == MergeOutcome(already=True)
    assert AuditEvent.objects.count() == events


def test_charts_merged_earlier_follow_to_the_survivor(charts):
    """A into B, then B into C: A's banner and history point at C, the chart in use."""
    mother, father = charts
    earlier = PatientFactory(date_of_birth=BORN)
    merge(father.patient, earlier)

    merge(mother.patient, _fresh(father.patient))

    assert _fresh(earlier).merged_into_id == mother.patient.pk


@pytest.mark.parametrize("case", ["same", "merged_elsewhere", "survivor_merged"])
def test_merges_that_cannot_be_applied_are_refused_and_change_nothing(charts, case):
    mother, father = charts
    other = PatientFactory(date_of_birth=BORN)
    survivor, merged = mother.patient, father.patient
    if case == "same":
        merged = survivor
        said = "are the same chart"
    elif case == "merged_elsewhere":
        merge(other, merged)
        said = f"already merged into chart {other.mrn}, not {survivor.mrn}"
    else:
        merge(other, survivor)
        said = f"surviving chart {survivor.mrn} was itself merged into chart {other.mrn}"
    events = AuditEvent.objects.count()

    with pytest.raises(MergeRefused, match=said):
        merge(survivor, merged)

    assert AuditEvent.objects.count() == events


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "redeem_first",
    [
        pytest.param(True, id="redemption-first"),
        pytest.param(False, id="merge-first"),
    ],
)
def test_a_merge_while_the_parent_redeems_the_merged_charts_pin_leaves_one_live_access(
    charts, staff, redeem_first
):
    """Whichever takes the PIN's lock first, the father ends up seeing the surviving chart, and the two
    do not deadlock (the merge locks the charts, their links, then the PINs, as a restriction does)."""
    mother, father = charts
    issued = pin_issue(patient=father.patient, contact=father.contact, path="chart", by=staff)

    def redeem():
        return pin_redeem(code=issued.code, child_birth_date=BORN, new_account=NewAccountFactory())

    def merge_now():
        return merge(mother.patient, father.patient)

    first, second = (redeem, merge_now) if redeem_first else (merge_now, redeem)
    with transaction.atomic():
        Pin.objects.select_for_update().get(pk=issued.pin.pk)  # busy: both calls queue behind this
        first_done = start(first)
        wait_until_blocked(1)
        second_done = start(second)
        wait_until_blocked(2)
    outcomes = [first_done(), second_done()]
    outcome_counts(f"redeem vs merge ({'redemption' if redeem_first else 'merge'} first)", outcomes)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    access = PortalAccess.objects.get(contact=father.contact)
    assert access.patient_id == mother.patient.pk
    assert _fresh(father.patient).merged_into_id == mother.patient.pk
