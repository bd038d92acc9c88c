"""A deceased child or an inactive chart gets no PIN, no welcome message and no new portal access (issue 11).

Every path refuses with the same rule (`registration/services/invitation_rules.py`), reading the
patient's state inside the service's transaction, and nothing is saved when it refuses.
"""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation

from patients.models import FamilyContact, Patient
from registration.messaging.welcome_outbox import welcome_message_claim
from registration.models import (
    AuditEvent,
    Pin,
    PortalAccess,
    PortalAccount,
    RegistrationPath,
    SelfRegistrationRequest,
    WelcomeMessage,
)
from registration.services.errors import (
    PatientDeceased,
    PatientInactive,
    PatientNotInvitable,
    PinNoLongerUsable,
    PinNotAccepted,
)
from registration.services.invitation_rules import invitation_refusal
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.self_registration import self_registration_authenticate
from registration.services.welcome_invites import welcome_invite
from tests.factories import (
    ChildDetailsFactory,
    NewAccountFactory,
    PatientContactFactory,
    confirmed_self_registration,
)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DIED = dt.date(2024, 3, 2)

# How the EHR import marks a patient: a plain UPDATE of the row (the copy callers hold goes stale).
DECEASED = {"deceased": True, "deceased_on": DIED}
INACTIVE = {"active": False}


def _mark(patient: Patient, **state) -> None:
    Patient.objects.filter(pk=patient.pk).update(**state)


def _nothing_written():
    assert not Pin.objects.exists()
    assert not WelcomeMessage.objects.exists()
    assert not PortalAccess.objects.exists()
    assert not AuditEvent.objects.exists()


# ---------------------------------------------------------------- the rule


def test_the_rule_says_why_in_words_staff_understand(db):
    deceased = invitation_refusal(active=True, deceased=True, deceased_on=DIED)
    assert isinstance(deceased, PatientDeceased)
    assert str(deceased).startswith(
        "The EHR records this child as deceased (on Mar 2, 2024): no PIN or welcome message can be sent"
    )
    assert "deceased:" in str(invitation_refusal(active=True, deceased=True))  # date not known
    inactive = invitation_refusal(active=False, deceased=False)
    assert isinstance(inactive, PatientInactive)
    assert str(inactive).startswith("This chart is inactive in the EHR (merged or no longer seen here): ")
    assert invitation_refusal(active=True, deceased=False) is None


def test_a_deceased_child_whose_chart_is_also_inactive_is_shown_as_deceased(db):
    refusal = invitation_refusal(active=False, deceased=True, deceased_on=DIED)
    assert refusal.state == "Deceased"


# ---------------------------------------------------------------- staff paths


@pytest.mark.parametrize(("state", "error"), [(DECEASED, PatientDeceased), (INACTIVE, PatientInactive)])
def test_pin_issue_is_refused_and_writes_nothing(chart, staff, state, error):
    _mark(chart.patient, **state)  # after `chart` was loaded: the service reads the row afresh

    with pytest.raises(error):
        pin_issue(patient=chart.patient, contact=chart.contact, path=RegistrationPath.CHART, by=staff)

    _nothing_written()


def test_pin_issue_refuses_before_anything_else_it_would_have_said(chart, staff):
    """A deceased child's chart is refused for that reason, not for a waiting request that matches."""
    patient = chart.patient
    confirmed_self_registration(
        children=[ChildDetailsFactory(first_name=patient.first_name, date_of_birth=patient.date_of_birth)],
        new_account=NewAccountFactory(email=chart.contact.email),
    )
    _mark(patient, **DECEASED)

    with pytest.raises(PatientDeceased):
        pin_issue(patient=patient, contact=chart.contact, path=RegistrationPath.CHART, by=staff)

    assert not Pin.objects.exists()


@pytest.mark.parametrize(("state", "error"), [(DECEASED, PatientDeceased), (INACTIVE, PatientInactive)])
def test_welcome_invite_is_refused_and_writes_nothing(chart, staff, state, error):
    _mark(chart.patient, **state)

    with pytest.raises(error):
        welcome_invite(
            patient=chart.patient,
            contact=chart.contact,
            channel=WelcomeMessage.Channel.EMAIL,
            address="corrected@example.org",  # not saved back to the contact either
            by=staff,
        )

    _nothing_written()
    assert FamilyContact.objects.get(pk=chart.contact.pk).email == chart.contact.email


@pytest.mark.parametrize(("state", "error"), [(DECEASED, PatientDeceased), (INACTIVE, PatientInactive)])
@pytest.mark.parametrize("new_contact", [False, True])
def test_reconcile_authenticate_is_refused_and_writes_nothing(chart, staff, state, error, new_contact):
    patient = chart.patient
    request = confirmed_self_registration(
        children=[ChildDetailsFactory(first_name=patient.first_name, date_of_birth=patient.date_of_birth)],
        new_account=NewAccountFactory(email="someone.new@example.net"),
    )[0]
    audit_before = AuditEvent.objects.count()
    _mark(patient, **state)

    with pytest.raises(error):
        self_registration_authenticate(
            request=request,
            patient=patient,
            by=staff,
            contact=None if new_contact else chart.contact,
            new_contact_relationship="father" if new_contact else None,
        )

    assert not PortalAccess.objects.exists()
    assert FamilyContact.objects.count() == 1  # the parent was not added to the chart
    assert AuditEvent.objects.count() == audit_before
    request.refresh_from_db()
    assert request.status == SelfRegistrationRequest.Status.AWAITING  # staff can still decline it


# ---------------------------------------------------------------- PINs issued before the EHR said so


@pytest.mark.parametrize("state", [DECEASED, INACTIVE])
def test_a_pin_issued_before_the_child_was_marked_cannot_be_redeemed(chart, issue_pin, state):
    issued = issue_pin(chart)
    _mark(chart.patient, **state)

    with pytest.raises(PinNoLongerUsable) as refused:
        pin_redeem(
            code=issued.code, child_birth_date=chart.patient.date_of_birth, new_account=NewAccountFactory()
        )

    assert str(refused.value) == "This PIN can no longer be used. Please contact the practice."
    assert not PortalAccess.objects.exists()
    assert not PortalAccount.objects.exists()  # the new account was not made either
    pin = Pin.objects.get()
    assert (pin.redeemed_at, pin.revoked_at, pin.failed_attempts) == (None, None, 0)
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [AuditEvent.Action.PIN_ISSUED]


def test_a_wrong_birth_date_on_such_a_pin_reveals_nothing_and_still_counts(chart, issue_pin):
    issued = issue_pin(chart)
    _mark(chart.patient, **DECEASED)

    with pytest.raises(PinNotAccepted):
        pin_redeem(
            code=issued.code,
            child_birth_date=chart.patient.date_of_birth - dt.timedelta(days=1),
            new_account=NewAccountFactory(),
        )

    assert Pin.objects.get().failed_attempts == 1


def test_the_refusal_is_in_spanish_for_a_spanish_speaking_parent(chart, issue_pin):
    issued = issue_pin(chart)
    _mark(chart.patient, **DECEASED)

    with pytest.raises(PinNoLongerUsable) as refused:
        pin_redeem(
            code=issued.code, child_birth_date=chart.patient.date_of_birth, new_account=NewAccountFactory()
        )

    with translation.override("es"):
        assert str(refused.value) == "Este PIN ya no se puede usar. Comuníquese con la consulta."


def test_a_welcome_message_queued_before_the_child_was_marked_is_not_sent(chart, staff):
    message = welcome_invite(
        patient=chart.patient,
        contact=chart.contact,
        channel=WelcomeMessage.Channel.EMAIL,
        address=chart.contact.email,
        by=staff,
    )
    _mark(chart.patient, **DECEASED)

    assert welcome_message_claim(message_id=message.pk, now=timezone.now()) is None

    message.refresh_from_db()
    assert message.status == WelcomeMessage.Status.CANCELLED
    cancelled = AuditEvent.objects.get(action=AuditEvent.Action.WELCOME_CANCELLED)
    assert cancelled.details["reason"] == "Deceased"


# ---------------------------------------------------------------- under the service's lock


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pin_issue_waits_for_an_import_marking_the_child_and_then_refuses(staff):
    """The import's UPDATE holds the patient's row; pin_issue waits for it and reads what it committed."""
    chart = PatientContactFactory()
    marked, outcome = threading.Event(), {}

    def import_marks_deceased():
        try:
            with transaction.atomic():
                _mark(chart.patient, **DECEASED)
                marked.set()
                threading.Event().wait(0.5)  # pin_issue starts meanwhile, and must wait for this commit
        finally:
            connection.close()

    importer = threading.Thread(target=import_marks_deceased)
    importer.start()
    assert marked.wait(10)
    try:
        pin_issue(patient=chart.patient, contact=chart.contact, path=RegistrationPath.CHART, by=staff)
    except PatientNotInvitable as error:
        outcome["error"] = error
    importer.join(10)

    assert isinstance(outcome.get("error"), PatientDeceased)
    assert not Pin.objects.exists()
