"""Staff send a PIN in a welcome email or text from the appointment list (path 2)."""

import datetime as dt
import time

import pytest
from django.core import mail

from patients.models import FamilyContact
from registration import pin_codes
from registration.models import AuditEvent, Pin, RegistrationPath, WelcomeMessage
from registration.pin_codes import PinFormatError, pin_parse
from registration.services.errors import (
    AlreadyRegistered,
    ContactNotOnChart,
    InvalidAddress,
    PinNotAccepted,
)
from registration.services.pin_redemption import pin_redeem
from registration.services.welcome_invites import welcome_invite
from tests.factories import (
    AppointmentFactory,
    FamilyContactFactory,
    NewAccountFactory,
    PatientContactFactory,
)

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
EMAIL = WelcomeMessage.Channel.EMAIL
SMS = WelcomeMessage.Channel.SMS


def _invite(link, staff, channel, address, **kwargs):
    return welcome_invite(
        patient=link.patient, contact=link.contact, channel=channel, address=address, by=staff, **kwargs
    )


def _assert_nothing_saved(contact: FamilyContact, email: str, phone: str):
    assert not Pin.objects.exists()
    assert not WelcomeMessage.objects.exists()
    assert not AuditEvent.objects.exists()
    contact.refresh_from_db()
    assert (contact.email, str(contact.cell_phone)) == (email, phone)


def test_email_invite_issues_a_pin_and_queues_a_message(chart, staff):
    message = _invite(chart, staff, EMAIL, chart.contact.email, now=NOW)

    message.refresh_from_db()
    pin = message.pin
    assert pin.path == RegistrationPath.APPOINTMENT_LIST
    assert (pin.patient, pin.contact) == (chart.patient, chart.contact)
    assert pin.issued_by == staff
    assert message.channel == EMAIL
    assert message.address == chart.contact.email
    assert message.status == WelcomeMessage.Status.QUEUED
    assert message.queued_at == NOW
    assert message.sent_at is None
    assert message.attempts == 0


def test_the_message_is_queued_for_sending_only_when_the_invite_commits(
    chart, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        message = _invite(chart, staff, EMAIL, chart.contact.email)

    assert len(callbacks) == 1
    assert not mail.outbox, "nothing is sent before the PIN and the message are committed"
    assert WelcomeMessage.objects.get().status == WelcomeMessage.Status.QUEUED

    callbacks[0]()

    message.refresh_from_db()
    assert message.status == WelcomeMessage.Status.SENT
    assert message.attempts == 1
    assert len(mail.outbox) == 1


def test_the_parent_gets_a_pin_that_works_and_staff_never_see_it(
    chart, staff, sent_pin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = _invite(chart, staff, EMAIL, chart.contact.email)

    assert not hasattr(message, "code"), "welcome_invite returns no PIN for staff to see"
    code = sent_pin(message)
    message.pin.refresh_from_db()
    assert pin_parse(code).lookup == message.pin.lookup
    access = pin_redeem(
        code=code, child_birth_date=chart.patient.date_of_birth, new_account=NewAccountFactory()
    )
    assert (access.patient, access.contact, access.pin) == (chart.patient, chart.contact, message.pin)


def test_sms_invite_queues_a_text_to_the_number_in_e164(chart, staff):
    message = _invite(chart, staff, SMS, "(202) 555-0143")

    message.refresh_from_db()
    assert message.channel == SMS
    assert message.address == "+12025550143"
    assert message.status == WelcomeMessage.Status.QUEUED


@pytest.mark.parametrize("typed", ["(202) 555-0143", "202.555.0143", "+1 202 555 0143", " 2025550143 "])
def test_phone_numbers_are_normalised_to_e164(chart, staff, typed):
    message = _invite(chart, staff, SMS, typed)

    assert message.address == "+12025550143"
    chart.contact.refresh_from_db()
    assert str(chart.contact.cell_phone) == "+12025550143"


def test_message_is_in_the_contacts_language(staff):
    link = PatientContactFactory(
        contact=FamilyContactFactory(preferred_language=FamilyContact.Language.SPANISH)
    )

    message = _invite(link, staff, EMAIL, link.contact.email)

    assert message.language == "es"


def test_invite_writes_one_audit_event(chart, staff):
    visit = AppointmentFactory(patient=chart.patient)

    message = _invite(
        chart,
        staff,
        SMS,
        str(chart.contact.cell_phone),
        appointment=visit,
        now=NOW,
        client_address="192.0.2.1",
    )

    event = AuditEvent.objects.get()
    assert event.action == AuditEvent.Action.WELCOME_QUEUED
    assert (event.actor, event.path, event.patient, event.contact) == (
        staff,
        "appointment_list",
        chart.patient,
        chart.contact,
    )
    assert (event.at, event.client_address) == (NOW, "192.0.2.1")
    assert event.details["pin_id"] == message.pin_id
    assert event.details["welcome_message_id"] == message.pk
    assert event.details["channel"] == "sms"
    assert event.details["appointment_id"] == visit.pk
    assert "contact_updated" not in event.details


def test_unchanged_address_leaves_the_contact_alone(chart, staff):
    email, phone = chart.contact.email, str(chart.contact.cell_phone)

    _invite(chart, staff, EMAIL, email)
    _invite(chart, staff, SMS, phone)

    chart.contact.refresh_from_db()
    assert (chart.contact.email, str(chart.contact.cell_phone)) == (email, phone)
    assert all("contact_updated" not in e.details for e in AuditEvent.objects.all())


def test_corrected_email_is_saved_to_the_contact_and_audited(chart, staff):
    message = _invite(chart, staff, EMAIL, "  corrected.mum@example.org ")

    assert message.address == "corrected.mum@example.org"
    chart.contact.refresh_from_db()
    assert chart.contact.email == "corrected.mum@example.org"
    assert AuditEvent.objects.get().details["contact_updated"] == "email"


def test_corrected_phone_is_saved_to_the_contact_and_audited(chart, staff):
    _invite(chart, staff, SMS, "(202) 555-0199")

    chart.contact.refresh_from_db()
    assert str(chart.contact.cell_phone) == "+12025550199"
    assert AuditEvent.objects.get().details["contact_updated"] == "cell_phone"


def test_a_phone_is_added_to_a_contact_who_had_none(staff):
    link = PatientContactFactory(contact=FamilyContactFactory(cell_phone=""))

    _invite(link, staff, SMS, "202-555-0123")

    link.contact.refresh_from_db()
    assert str(link.contact.cell_phone) == "+12025550123"


@pytest.mark.parametrize(
    "address", ["", "   ", "not-an-email", "mum@example", "mum@@example.org", "mum example.org"]
)
def test_malformed_email_is_refused_and_nothing_is_saved(chart, staff, address):
    email, phone = chart.contact.email, str(chart.contact.cell_phone)

    with pytest.raises(InvalidAddress, match="valid email address"):
        _invite(chart, staff, EMAIL, address)

    _assert_nothing_saved(chart.contact, email, phone)


@pytest.mark.parametrize("address", ["", "12345", "call me", "(555) 201-3344", "+1 202 555 01"])
def test_malformed_phone_is_refused_and_nothing_is_saved(chart, staff, address):
    email, phone = chart.contact.email, str(chart.contact.cell_phone)

    with pytest.raises(InvalidAddress, match="valid cell phone number"):
        _invite(chart, staff, SMS, address)

    _assert_nothing_saved(chart.contact, email, phone)


def test_unknown_channel_is_refused(chart, staff):
    with pytest.raises(InvalidAddress):
        _invite(chart, staff, "fax", "+12025550143")

    assert not Pin.objects.exists()


def test_refused_invite_does_not_save_the_corrected_address(chart, staff):
    """The address is saved back only together with the PIN it carries."""
    stranger = FamilyContactFactory()
    email = stranger.email

    with pytest.raises(ContactNotOnChart):
        welcome_invite(
            patient=chart.patient, contact=stranger, channel=EMAIL, address="new@example.org", by=staff
        )

    _assert_nothing_saved(stranger, email, str(stranger.cell_phone))


def test_invite_to_a_registered_contact_is_refused(chart, staff, make_portal_account):
    make_portal_account(chart)
    messages_before = WelcomeMessage.objects.count()

    with pytest.raises(AlreadyRegistered):
        _invite(chart, staff, EMAIL, chart.contact.email)

    assert WelcomeMessage.objects.count() == messages_before


def test_invite_supersedes_an_earlier_pin(chart, staff, issue_pin):
    earlier = issue_pin(chart)

    message = _invite(chart, staff, EMAIL, chart.contact.email)

    earlier.pin.refresh_from_db()
    assert earlier.pin.end_reason == Pin.EndReason.SUPERSEDED
    assert AuditEvent.objects.first().details["revoked_pin_ids"] == [earlier.pin.pk]
    assert Pin.objects.filter(revoked_at__isnull=True).get() == message.pin


def test_plain_pin_in_a_welcome_message_is_stored_nowhere(
    chart, staff, stored_text, sent_pin, django_capture_on_commit_callbacks
):
    other = PatientContactFactory()
    with django_capture_on_commit_callbacks(execute=True):
        by_email = _invite(chart, staff, EMAIL, chart.contact.email)
        by_text = _invite(other, staff, SMS, str(other.contact.cell_phone))
    codes = [sent_pin(by_email), sent_pin(by_text)]

    text = [value.upper() for _, _, value in stored_text()]

    for code in codes:
        for form in (code, code.replace("-", ""), pin_parse(code).secret):
            assert not any(form in value for value in text), form


@pytest.fixture
def hashings(monkeypatch):
    """Count the PIN hashes made (Argon2 in production): each goes through `pin_codes._hasher`."""
    calls = []
    real = pin_codes._hasher

    def counted():
        calls.append(1)
        return real()

    monkeypatch.setattr(pin_codes, "_hasher", counted)
    return calls


def test_no_pin_is_hashed_when_staff_queue_a_welcome(chart, staff, hashings, issue_pin):
    _invite(chart, staff, EMAIL, chart.contact.email)

    assert hashings == [], "the code is drawn, and hashed, only when the message is sent"
    issue_pin()
    assert hashings == [1], "the spy sees the hash a PIN with a code gets"


def test_the_pin_of_a_message_not_yet_sent_is_redeemed_by_no_code(chart, staff, hashings):
    message = _invite(chart, staff, EMAIL, chart.contact.email)
    pin = Pin.objects.get(pk=message.pin_id)

    # No typed code has its lookup: every typed code has four characters there.
    with pytest.raises(PinFormatError):
        pin_parse(pin.lookup + "0" * 8)
    for code in ["0000-0000-0000", "ZZZZ-ZZZZ-ZZZZ", pin_codes.pin_code_new().display]:
        with pytest.raises(PinNotAccepted):
            pin_redeem(
                code=code, child_birth_date=chart.patient.date_of_birth, new_account=NewAccountFactory()
            )
        # Nor does any secret match its hash, and saying so takes a real check's time.
        hashings.clear()
        assert not pin_codes.pin_secret_matches(pin_parse(code), pin.secret_hash)
        assert hashings == [1]
    pin.refresh_from_db()
    assert (pin.redeemed_at, pin.failed_attempts) == (None, 0)


def test_what_queueing_fifty_welcomes_costs_without_hashing_their_pins(staff, settings):
    """Printed, not asserted: the time queueing 50 welcomes takes, and the Argon2 hashes of 50 PINs
    (the production hasher) it no longer spends on codes nobody would see."""
    settings.PIN_HASHER = "registration.pin_codes.PinHasher"
    links = [PatientContactFactory() for _ in range(50)]

    started = time.perf_counter()
    for link in links:
        _invite(link, staff, EMAIL, link.contact.email)
    queueing = time.perf_counter() - started
    started = time.perf_counter()
    for _ in links:
        pin_codes.pin_secret_hash(pin_codes.pin_code_new())
    hashing = time.perf_counter() - started

    assert WelcomeMessage.objects.count() == 50
    print(
        f"welcome_invite for 50 patients: {queueing * 1000:.0f} ms now; "
        f"the Argon2 hashes it made before: {hashing * 1000:.0f} ms more"
    )
