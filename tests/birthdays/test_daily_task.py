"""The daily birthdays task across a 12th and an 18th birthday, in the practice's time zone (New York),
run twice in a row each time: notices 30 days before, the change on the day, nothing twice."""

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from patients.models import FamilyContact, PatientContact
from registration.birthday_tasks import apply_access_birthdays
from registration.messaging.tasks import send_parent_account_email
from registration.models import (
    AccessBasis,
    AccessLevel,
    AgeMilestone,
    AuditEvent,
    LevelSetBy,
    ParentAccountEmail,
    ParentLevelChoice,
    Pin,
    PortalAccess,
)
from registration.services.birthdays import access_birthdays_run
from registration.services.pins import pin_issue
from registration.services.restrictions import restriction_create
from tests.birthdays.conftest import days_ahead, local
from tests.factories import PatientContactFactory

Action = AuditEvent.Action
SPANISH = FamilyContact.Language.SPANISH


def reload(access: PortalAccess) -> PortalAccess:
    return PortalAccess.history.get(pk=access.pk)


@pytest.fixture
def family(child_turning, parent_of):
    """Ana turns 12 and Ben 18 on the birthday. Ana's mother reads English, her father Spanish; Ben has
    a parent and a court-appointed guardian."""
    ana = child_turning(12, first_name="Ana", sex="F")
    ben = child_turning(18, first_name="Ben", sex="M")
    return {
        "ana": ana,
        "ben": ben,
        "ana_mother": parent_of(ana),
        "ana_father": parent_of(ana, PatientContact.Relationship.FATHER, SPANISH),
        "ben_father": parent_of(ben, PatientContact.Relationship.FATHER),
        "ben_guardian": parent_of(ben, PatientContact.Relationship.GUARDIAN),
    }


@pytest.mark.django_db
def test_parents_are_told_30_days_before_in_their_language_once(
    family, birthday_day, django_capture_on_commit_callbacks
):
    notice_day = birthday_day - dt.timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        summary = access_birthdays_run(now=local(notice_day, 0, 10))
    with django_capture_on_commit_callbacks(execute=True):
        again = access_birthdays_run(now=local(notice_day, 0, 20))

    # Ana's parents (12: narrowed) and Ben's father (18: ended); Ben's guardian keeps access, so is not told.
    assert str(summary).startswith("notified 3 parents of 2 patients; 0 accesses narrowed; 0 ended")
    assert str(again).startswith("notified 0 parents of 0 patients")
    by_address = {message.to[0]: message for message in mail.outbox}
    assert len(mail.outbox) == 3 == len(by_address)
    english = by_address[family["ana_mother"].account.email].body
    spanish = by_address[family["ana_father"].account.email].body
    adult = by_address[family["ben_father"].account.email].body
    day_en = birthday_day.strftime("%b ") + str(birthday_day.day)
    assert f"On {day_en}, {birthday_day.year} Ana turns 12." in english
    assert (
        "you will see her appointments, messages and billing on the patient portal, but not her " in english
    )
    assert "Ana can choose otherwise with her own account." in english
    assert "Ana cumple 12 años" in spanish and "las citas, los mensajes y la facturación de Ana" in spanish
    assert "pero no su historia clínica" in spanish
    assert f"{birthday_day.day} de " in spanish and "/portal/sign-in/?lang=es" in spanish
    assert "Ben turns 18." in adult and "your access to his record" in adult and "guardianship" in adult
    assert family["ben_guardian"].account.email not in by_address
    notices = ParentAccountEmail.objects.filter(kind=ParentAccountEmail.Kind.ACCESS_CHANGE)
    assert sorted(notices.values_list("status", flat=True)) == ["sent"] * 3
    milestones = AgeMilestone.objects.order_by("kind")
    assert [(m.patient.first_name, m.kind, m.due_on) for m in milestones] == [
        ("Ben", "majority", birthday_day),
        ("Ana", "teen", birthday_day),
    ]
    assert all(m.notified_at is not None and m.applied_at is None for m in milestones)
    notified = AuditEvent.objects.filter(action=Action.ACCESS_CHANGE_NOTIFIED)
    assert sorted((e.patient_id, len(e.details["account_ids"])) for e in notified) == sorted(
        [(family["ana"].pk, 2), (family["ben"].pk, 1)]
    )
    # Nothing changed yet.
    assert {reload(family[k]).level for k in ("ana_mother", "ana_father")} == {AccessLevel.FULL}
    assert reload(family["ben_father"]).ended_at is None


@pytest.mark.django_db
def test_nothing_changes_the_evening_before_though_it_is_the_birthday_in_utc(family, birthday_day):
    evening = local(birthday_day - dt.timedelta(days=1), 23, 30)
    assert evening.astimezone(dt.UTC).date() == birthday_day

    summary = access_birthdays_run(now=evening)

    assert (summary.accesses_narrowed, summary.accesses_ended) == (0, 0)
    assert reload(family["ana_mother"]).level == AccessLevel.FULL
    assert reload(family["ben_father"]).ended_at is None
    assert not AuditEvent.objects.filter(
        action__in=[Action.ACCESS_LEVEL_CHANGED, Action.ACCESS_ENDED]
    ).exists()


@pytest.mark.django_db
def test_on_the_birthday_the_teens_parents_see_less_and_the_adults_parent_stops(family, birthday_day, staff):
    ben_mother_link = PatientContactFactory(patient=family["ben"])
    unused = pin_issue(patient=family["ben"], contact=ben_mother_link.contact, path="chart", by=staff)
    guardian_link = PatientContactFactory(
        patient=family["ben"], relationship=PatientContact.Relationship.GUARDIAN
    )
    guardian_pin = pin_issue(patient=family["ben"], contact=guardian_link.contact, path="chart", by=staff)
    morning = local(birthday_day, 0, 10)

    summary = access_birthdays_run(now=morning)
    again = access_birthdays_run(now=local(birthday_day, 0, 40))

    assert str(summary) == (
        "notified 0 parents of 0 patients; 2 accesses narrowed; 1 ended; 1 PIN revoked; "
        "0 restrictions took effect"
    )
    assert (again.accesses_narrowed, again.accesses_ended, again.pins_revoked) == (0, 0, 0)
    for key in ("ana_mother", "ana_father"):
        access = reload(family[key])
        assert (access.level, access.level_set_by, access.level_set_at) == (
            AccessLevel.LIMITED,
            LevelSetBy.POLICY,
            morning,
        )
    father = reload(family["ben_father"])
    assert (father.ended_at, father.end_reason) == (morning, PortalAccess.EndReason.MAJORITY)
    assert family["ben_father"].account.accesses.count() == 0
    guardian = reload(family["ben_guardian"])
    assert guardian.ended_at is None and guardian.basis == AccessBasis.GUARDIAN
    assert Pin.objects.get(pk=unused.pin.pk).end_reason == Pin.EndReason.MAJORITY
    assert Pin.objects.get(pk=guardian_pin.pin.pk).revoked_at is None
    changed = AuditEvent.objects.filter(action=Action.ACCESS_LEVEL_CHANGED).order_by("pk")
    # Ana's parents narrowed; Ben's guardian, held to the teen level until today, sees everything again.
    assert sorted((e.details["old_level"], e.details["new_level"]) for e in changed) == [
        ("full", "limited"),
        ("full", "limited"),
        ("limited", "full"),
    ]
    assert reload(family["ben_guardian"]).level == AccessLevel.FULL
    ended = AuditEvent.objects.filter(action=Action.ACCESS_ENDED).order_by("pk")
    assert sorted(e.details.get("pin_id") or e.details["access_id"] for e in ended) == sorted(
        [unused.pin.pk, family["ben_father"].pk]
    )
    assert {e.details["reason"] for e in ended} == {"majority"}
    assert all(m.applied_at == morning for m in AgeMilestone.objects.all())


@pytest.mark.django_db
def test_a_missed_day_is_caught_up(family, birthday_day):
    summary = access_birthdays_run(now=local(birthday_day + dt.timedelta(days=3), 9))

    assert (summary.accesses_narrowed, summary.accesses_ended) == (2, 1)


@pytest.mark.django_db
def test_a_teens_choice_and_a_staff_choice_are_kept(family, birthday_day):
    access_birthdays_run(now=local(birthday_day, 0, 10))
    ana, mother, father = family["ana"], family["ana_mother"], family["ana_father"]
    # Ana lets her mother see everything (the teen's own-account page would record this).
    ParentLevelChoice.objects.create(
        patient=ana, level=AccessLevel.FULL, chosen_at=local(birthday_day, 8), how="portal"
    )
    PortalAccess.objects.filter(pk=mother.pk).update(level=AccessLevel.FULL, level_set_by=LevelSetBy.TEEN)
    PortalAccess.objects.filter(pk=father.pk).update(level=AccessLevel.NONE, level_set_by=LevelSetBy.STAFF)

    summary = access_birthdays_run(now=local(birthday_day + dt.timedelta(days=1), 0, 10))

    assert summary.accesses_narrowed == 0
    assert (reload(mother).level, reload(father).level) == (AccessLevel.FULL, AccessLevel.NONE)


@pytest.mark.django_db
def test_a_guardianship_ends_the_day_after_its_last_day(family, birthday_day):
    guardian = family["ben_guardian"]
    PortalAccess.objects.filter(pk=guardian.pk).update(ends_on=birthday_day)

    access_birthdays_run(now=local(birthday_day, 23, 50))
    assert reload(guardian).ended_at is None
    summary = access_birthdays_run(now=local(birthday_day + dt.timedelta(days=1), 0, 10))

    assert summary.accesses_ended == 1
    assert reload(guardian).end_reason == PortalAccess.EndReason.GUARDIANSHIP_ENDED
    assert (
        AuditEvent.objects.filter(action=Action.ACCESS_ENDED, details__reason="guardianship_ended").count()
        == 1
    )


@pytest.mark.django_db
def test_the_task_tells_parents_and_the_command_run_again_the_same_day_does_nothing(
    child_turning, parent_of, capsys, django_capture_on_commit_callbacks
):
    teen = child_turning(12, on=days_ahead(10), first_name="Ana")
    parent_of(teen)
    parent_of(teen, PatientContact.Relationship.GUARDIAN)

    with django_capture_on_commit_callbacks(execute=True):
        result = apply_access_birthdays.enqueue()
    call_command("apply_access_birthdays")

    assert result.return_value == (
        "notified 2 parents of 1 patient; 0 accesses narrowed; 0 ended; 0 PINs revoked; "
        "0 restrictions took effect"
    )
    assert capsys.readouterr().out.startswith("notified 0 parents of 0 patients; 0 accesses narrowed")
    assert [m.subject for m in mail.outbox if "Ana" in m.subject] == [
        f"What you see of Ana on the portal changes on {days_ahead(10):%b} {days_ahead(10).day}, "
        f"{days_ahead(10).year}"
    ] * 2


@pytest.mark.django_db
def test_a_notice_to_a_parent_restricted_before_it_went_is_not_sent(family, birthday_day, admin):
    access_birthdays_run(now=local(birthday_day - dt.timedelta(days=30), 9))  # queued, not yet sent
    mother = family["ana_mother"]
    restriction_create(
        patient=family["ana"],
        contact=mother.contact,
        basis="court_order",
        starts_on=timezone.localdate(),
        by=admin,
    )

    for email in ParentAccountEmail.objects.filter(kind=ParentAccountEmail.Kind.ACCESS_CHANGE):
        send_parent_account_email.enqueue(email.pk)

    assert mother.account.email not in [message.to[0] for message in mail.outbox]
    assert len(mail.outbox) == 2  # Ana's father and Ben's
    cancelled = ParentAccountEmail.objects.get(
        account=mother.account, kind=ParentAccountEmail.Kind.ACCESS_CHANGE
    )
    assert cancelled.status == ParentAccountEmail.Status.CANCELLED


@pytest.mark.django_db
def test_at_majority_a_guardian_held_to_the_teen_level_sees_everything_again(family, birthday_day):
    guardian = family["ben_guardian"]
    PortalAccess.objects.filter(pk=guardian.pk).update(level=AccessLevel.NONE, level_set_by=LevelSetBy.TEEN)
    access_birthdays_run(now=local(birthday_day, 0, 10))
    access_birthdays_run(now=local(birthday_day, 0, 40))
    guardian = reload(guardian)
    assert (guardian.ended_at, guardian.level, guardian.level_set_by) == (
        None,
        AccessLevel.FULL,
        LevelSetBy.POLICY,
    )
    widened = AuditEvent.objects.filter(action=Action.ACCESS_LEVEL_CHANGED, details__access_id=guardian.pk)
    assert [(e.details["old_level"], e.details["new_level"]) for e in widened] == [("none", "full")]
