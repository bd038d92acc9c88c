"""Staff issue a PIN for one patient and one family contact on the chart (paths 1 to 3)."""

import datetime as dt

import pytest

from registration.models import PIN_PATHS, AuditEvent, Pin, RegistrationPath
from registration.pin_codes import pin_parse, pin_secret_matches
from registration.services.errors import (
    AlreadyRegistered,
    AppointmentMismatch,
    ContactNotOnChart,
    PossibleDuplicate,
    RegistrationError,
)
from registration.services.pins import pin_issue
from registration.services.self_registration import self_registration_decline
from tests.factories import (
    AppointmentFactory,
    ChildDetailsFactory,
    FamilyContactFactory,
    NewAccountFactory,
    PatientContactFactory,
    confirmed_self_registration,
)

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def test_issue_returns_the_plain_code_and_a_pin_that_checks_against_it(chart, staff):
    issued = pin_issue(
        patient=chart.patient, contact=chart.contact, path=RegistrationPath.CHART, by=staff, now=NOW
    )

    pin = Pin.objects.get()
    assert pin == issued.pin
    parts = pin_parse(issued.code)
    assert pin.lookup == parts.lookup
    assert pin_secret_matches(parts, pin.secret_hash)
    assert (pin.patient, pin.contact, pin.path, pin.issued_by) == (
        chart.patient,
        chart.contact,
        "chart",
        staff,
    )
    assert pin.issued_at == NOW
    assert pin.redeemed_at is None
    assert pin.revoked_at is None
    assert pin.failed_attempts == 0


def test_plain_pin_appears_nowhere_in_the_database(issue_pin, stored_text):
    codes = [issue_pin().code for _ in range(3)]

    text = [(table, column, value.upper()) for table, column, value in stored_text()]

    for code in codes:
        parts = pin_parse(code)
        for form in (code, code.replace("-", ""), parts.secret):
            leaks = [(table, column) for table, column, value in text if form in value]
            assert not leaks, f"{form} stored in {leaks}"
        # The lookup group is stored as typed: seeing it proves the scan reads the PIN table.
        assert ("registration_pin", "lookup", parts.lookup) in text


def test_issuing_again_supersedes_the_earlier_pin(chart, staff):
    later = NOW + dt.timedelta(hours=1)
    first = pin_issue(
        patient=chart.patient, contact=chart.contact, path=RegistrationPath.CHART, by=staff, now=NOW
    )
    second = pin_issue(
        patient=chart.patient,
        contact=chart.contact,
        path=RegistrationPath.APPOINTMENT_WINDOW,
        by=staff,
        now=later,
    )

    first.pin.refresh_from_db()
    assert first.pin.revoked_at == later
    assert first.pin.end_reason == Pin.EndReason.SUPERSEDED
    live = Pin.objects.filter(redeemed_at__isnull=True, revoked_at__isnull=True)
    assert list(live) == [second.pin]
    assert AuditEvent.objects.first().details["revoked_pin_ids"] == [first.pin.pk]


def test_issuing_for_a_second_contact_leaves_the_first_contacts_pin_live(chart, issue_pin):
    other_parent = PatientContactFactory(patient=chart.patient)

    first = issue_pin(chart)
    issue_pin(other_parent)

    first.pin.refresh_from_db()
    assert first.pin.revoked_at is None
    assert Pin.objects.filter(revoked_at__isnull=True).count() == 2


@pytest.mark.parametrize("path", PIN_PATHS)
def test_issue_through_each_pin_path(chart, staff, path):
    issued = pin_issue(patient=chart.patient, contact=chart.contact, path=path, by=staff)

    assert issued.pin.path == path


@pytest.mark.parametrize("path", [RegistrationPath.SELF_REGISTRATION, "front_door"])
def test_issue_refuses_a_path_that_gives_no_pins(chart, staff, path):
    with pytest.raises(RegistrationError, match="PINs are not issued through"):
        pin_issue(patient=chart.patient, contact=chart.contact, path=path, by=staff)

    assert not Pin.objects.exists()
    assert not AuditEvent.objects.exists()


def test_issue_refuses_a_contact_not_on_the_patients_chart(chart, staff):
    stranger = FamilyContactFactory()

    with pytest.raises(ContactNotOnChart):
        pin_issue(patient=chart.patient, contact=stranger, path=RegistrationPath.CHART, by=staff)

    assert not Pin.objects.exists()
    assert not AuditEvent.objects.exists()


def test_issue_refuses_a_contact_who_is_only_on_a_siblings_chart(chart, staff):
    sibling = PatientContactFactory(contact=chart.contact)
    newborn = PatientContactFactory().patient

    with pytest.raises(ContactNotOnChart):
        pin_issue(patient=newborn, contact=sibling.contact, path=RegistrationPath.CHART, by=staff)


def test_issue_records_the_appointment_of_the_same_patient(chart, staff):
    visit = AppointmentFactory(patient=chart.patient)

    issued = pin_issue(
        patient=chart.patient,
        contact=chart.contact,
        path=RegistrationPath.APPOINTMENT_WINDOW,
        by=staff,
        appointment=visit,
    )

    assert issued.pin.appointment == visit
    assert AuditEvent.objects.get().details["appointment_id"] == visit.pk


def test_issue_refuses_an_appointment_of_another_patient(chart, staff):
    someone_elses = AppointmentFactory()

    with pytest.raises(AppointmentMismatch):
        pin_issue(
            patient=chart.patient,
            contact=chart.contact,
            path=RegistrationPath.APPOINTMENT_WINDOW,
            by=staff,
            appointment=someone_elses,
        )

    assert not Pin.objects.exists()


def test_issue_refuses_a_contact_who_can_already_see_the_patient(chart, staff, make_portal_account):
    make_portal_account(chart)
    pins_before = Pin.objects.count()

    with pytest.raises(AlreadyRegistered):
        pin_issue(patient=chart.patient, contact=chart.contact, path=RegistrationPath.CHART, by=staff)

    assert Pin.objects.count() == pins_before


def test_issue_for_the_other_parent_of_a_registered_patient_is_allowed(chart, issue_pin, make_portal_account):
    make_portal_account(chart)
    father = PatientContactFactory(patient=chart.patient, relationship="father")

    issued = issue_pin(father)

    assert issued.pin.contact == father.contact


def _self_registration_for(chart, **account_fields):
    child = ChildDetailsFactory(
        first_name=chart.patient.first_name.upper(),
        last_name="Different",
        date_of_birth=chart.patient.date_of_birth,
    )
    [request] = confirmed_self_registration(children=[child], new_account=NewAccountFactory(**account_fields))
    return request


def test_issue_refuses_when_a_matching_self_registration_is_waiting(chart, staff):
    request = _self_registration_for(chart)

    with pytest.raises(PossibleDuplicate) as refused:
        pin_issue(patient=chart.patient, contact=chart.contact, path=RegistrationPath.CHART, by=staff)

    assert refused.value.requests == [request]
    assert not Pin.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PIN_ISSUED).exists()


def test_issue_refuses_when_the_parent_self_registered_with_the_contacts_email(chart, staff):
    request = confirmed_self_registration(
        children=[ChildDetailsFactory()], new_account=NewAccountFactory(email=chart.contact.email.upper())
    )[0]

    with pytest.raises(PossibleDuplicate) as refused:
        pin_issue(patient=chart.patient, contact=chart.contact, path=RegistrationPath.CHART, by=staff)

    assert refused.value.requests == [request]


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_blank_reason_does_not_override_a_possible_duplicate(chart, staff, reason):
    _self_registration_for(chart)

    with pytest.raises(PossibleDuplicate):
        pin_issue(
            patient=chart.patient,
            contact=chart.contact,
            path=RegistrationPath.CHART,
            by=staff,
            duplicate_override_reason=reason,
        )


def test_issue_with_a_reason_goes_on_despite_a_possible_duplicate_and_audits_it(chart, staff):
    request = _self_registration_for(chart)

    issued = pin_issue(
        patient=chart.patient,
        contact=chart.contact,
        path=RegistrationPath.CHART,
        by=staff,
        duplicate_override_reason="  Grandmother's request, not the mother's  ",
    )

    event = AuditEvent.objects.get(action=AuditEvent.Action.PIN_ISSUED)
    assert event.details["duplicate_override"] == {
        "reason": "Grandmother's request, not the mother's",
        "request_ids": [request.pk],
    }
    assert event.details["pin_id"] == issued.pin.pk


def test_a_decided_self_registration_is_not_a_possible_duplicate(chart, staff):
    request = _self_registration_for(chart)
    self_registration_decline(request=request, reason="no_match", by=staff)

    pin_issue(patient=chart.patient, contact=chart.contact, path=RegistrationPath.CHART, by=staff)

    assert Pin.objects.count() == 1


def test_issue_writes_exactly_one_audit_event(chart, staff):
    issued = pin_issue(
        patient=chart.patient,
        contact=chart.contact,
        path=RegistrationPath.PATIENT_ADMIN,
        by=staff,
        now=NOW,
        client_address="192.0.2.7",
    )

    event = AuditEvent.objects.get()
    assert event.action == AuditEvent.Action.PIN_ISSUED
    assert (event.actor, event.path, event.patient, event.contact) == (
        staff,
        "patient_admin",
        chart.patient,
        chart.contact,
    )
    assert event.at == NOW
    assert event.client_address == "192.0.2.7"
    assert event.account is None
    assert event.details["pin_id"] == issued.pin.pk
    assert event.details["revoked_pin_ids"] == []


def test_each_issue_writes_its_own_audit_event(chart, issue_pin):
    for _ in range(3):
        issue_pin(chart)

    assert AuditEvent.objects.filter(action=AuditEvent.Action.PIN_ISSUED).count() == 3


@pytest.mark.parametrize("days", [1, 3, 14, 30])
def test_pin_expires_the_configured_number_of_days_after_issue(chart, staff, settings, days):
    settings.PIN_VALIDITY_DAYS = days

    issued = pin_issue(
        patient=chart.patient, contact=chart.contact, path=RegistrationPath.CHART, by=staff, now=NOW
    )

    issued.pin.refresh_from_db()
    assert issued.pin.issued_at == NOW
    assert issued.pin.expires_at == NOW + dt.timedelta(days=days)
    assert AuditEvent.objects.get().details["expires_at"] == issued.pin.expires_at.isoformat()
