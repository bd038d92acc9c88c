"""Path 4: a parent asks for their children without a PIN; the practice authenticates or declines."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import User
from patients.models import FamilyContact, PatientContact
from registration import selectors
from registration.models import (
    AuditEvent,
    Pin,
    PortalAccess,
    PortalStatus,
    RegistrationPath,
    SelfRegistrationRequest,
)
from registration.selectors import patient_portal_status, self_registration_requests_matching
from registration.services.accounts import account_disable_duplicate, portal_account_verify_email
from registration.services.errors import (
    AccountDisabled,
    ContactNotOnChart,
    DeclineNoteRequired,
    EmailInUse,
    InvalidChild,
    PinReplaced,
    ReasonRequired,
    RegistrationError,
    RequestAlreadyDecided,
    RequestAlreadyWaiting,
)
from registration.services.pin_redemption import pin_redeem
from registration.services.self_registration import (
    self_registration_authenticate,
    self_registration_decline,
    self_registration_submit,
)
from tests.factories import (
    ChildDetailsFactory,
    FamilyContactFactory,
    NewAccountFactory,
    PatientContactFactory,
    PatientFactory,
    confirmed_self_registration,
)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)  # children made by the factories are born before it
# The practice's day at NOW, which is not UTC's in the hours after UTC midnight.
TODAY = timezone.localdate(NOW)
AWAITING = SelfRegistrationRequest.Status.AWAITING


def _submit(*children, **kwargs) -> list[SelfRegistrationRequest]:
    if "account" not in kwargs and "new_account" not in kwargs:
        kwargs["new_account"] = NewAccountFactory()
    return self_registration_submit(children=list(children) or [ChildDetailsFactory()], **kwargs)


def _request_for(link: PatientContact, **account_fields) -> SelfRegistrationRequest:
    """A waiting request that names the link's patient, from a parent with a new account."""
    patient = link.patient
    child = ChildDetailsFactory(
        first_name=patient.first_name, last_name=patient.last_name, date_of_birth=patient.date_of_birth
    )
    return confirmed_self_registration(children=[child], new_account=NewAccountFactory(**account_fields))[0]


# ---------------------------------------------------------------- submitting


def test_submit_with_a_new_account_makes_one_request_per_child(db):
    children = ChildDetailsFactory.build_batch(3)
    details = NewAccountFactory(email="Dad@example.net", cell_phone="+12025550111")

    requests = self_registration_submit(children=children, new_account=details, now=NOW)

    assert len(requests) == 3
    account = requests[0].account
    assert account.user.email == "Dad@example.net"
    stored = SelfRegistrationRequest.objects.order_by("pk")
    assert [(r.child_first_name, r.child_last_name, r.child_date_of_birth) for r in stored] == [
        (c.first_name, c.last_name, c.date_of_birth) for c in children
    ]
    for request in stored:
        assert request.account == account
        assert request.status == AWAITING
        assert request.submitted_at == NOW
        assert (request.parent_first_name, request.parent_last_name) == (
            details.first_name,
            details.last_name,
        )
        assert request.parent_email == "Dad@example.net"
        assert str(request.parent_cell_phone) == "+12025550111"
        assert request.decided_at is None


def test_submit_writes_one_audit_event(db):
    requests = _submit(*ChildDetailsFactory.build_batch(2), now=NOW, client_address="192.0.2.44")

    event = AuditEvent.objects.get()
    account = requests[0].account
    assert event.action == AuditEvent.Action.SELF_REGISTRATION_SUBMITTED
    assert (event.actor, event.account, event.path) == (
        account.user,
        account,
        RegistrationPath.SELF_REGISTRATION,
    )
    assert (event.at, event.client_address) == (NOW, "192.0.2.44")
    assert event.patient is None
    assert event.details == {"request_ids": [r.pk for r in requests], "account_created": True}


def test_submitted_account_sees_no_child_until_authenticated(db):
    requests = _submit(*ChildDetailsFactory.build_batch(2))

    assert not PortalAccess.objects.exists()
    assert not requests[0].account.accesses.exists()


def test_existing_account_can_ask_for_another_child(make_portal_account):
    account = make_portal_account()
    users_before = User.objects.count()

    [request] = _submit(ChildDetailsFactory(), account=account)

    assert request.account == account
    assert User.objects.count() == users_before
    assert AuditEvent.objects.first().details["account_created"] is False


def test_submit_strips_the_childs_names(db):
    child = ChildDetailsFactory(first_name="  Ava ", last_name=" Lee  ")

    [request] = _submit(child)

    assert (request.child_first_name, request.child_last_name) == ("Ava", "Lee")


def test_child_born_today_is_accepted(db):
    [request] = _submit(ChildDetailsFactory(date_of_birth=TODAY), now=NOW)

    assert request.child_date_of_birth == TODAY


@pytest.mark.parametrize(
    "child",
    [
        pytest.param({"date_of_birth": TODAY + dt.timedelta(days=1)}, id="born tomorrow"),
        pytest.param({"date_of_birth": TODAY + dt.timedelta(days=400)}, id="born next year"),
        pytest.param({"first_name": ""}, id="no first name"),
        pytest.param({"last_name": "   "}, id="blank last name"),
    ],
)
def test_invalid_child_is_refused_and_nothing_is_saved(db, child):
    good = ChildDetailsFactory()

    with pytest.raises(InvalidChild):
        _submit(good, ChildDetailsFactory(**child), now=NOW)

    assert not User.objects.exists()
    assert not SelfRegistrationRequest.objects.exists()
    assert not AuditEvent.objects.exists()


def test_submit_without_children_is_refused(db):
    with pytest.raises(InvalidChild):
        self_registration_submit(children=[], new_account=NewAccountFactory())

    assert not User.objects.exists()


def test_same_child_twice_while_waiting_is_refused(db):
    child = ChildDetailsFactory(first_name="Ava", last_name="Lee")
    [first] = _submit(child)

    again = ChildDetailsFactory(first_name="AVA", last_name="lee", date_of_birth=child.date_of_birth)
    with pytest.raises(RequestAlreadyWaiting, match="already asked to see AVA"):
        _submit(ChildDetailsFactory(), again, account=first.account)

    assert SelfRegistrationRequest.objects.get() == first


def test_same_child_can_be_asked_for_again_after_a_decline(staff):
    child = ChildDetailsFactory()
    [first] = _submit(child)
    self_registration_decline(request=first, reason="no_match", by=staff)

    [second] = _submit(child, account=first.account)

    assert second.status == AWAITING


def test_another_parent_may_ask_for_the_same_child(db):
    child = ChildDetailsFactory()
    _submit(child)

    _submit(child)

    assert SelfRegistrationRequest.objects.filter(status=AWAITING).count() == 2


def test_submit_with_an_email_in_use_is_refused(make_portal_account):
    make_portal_account(email="taken@example.net")
    users_before = User.objects.count()

    with pytest.raises(EmailInUse):
        _submit(new_account=NewAccountFactory(email="Taken@Example.net"))

    assert User.objects.count() == users_before
    assert not SelfRegistrationRequest.objects.exists()


def test_submit_from_a_disabled_account_is_refused(make_duplicate_accounts, admin):
    duplicate, kept = make_duplicate_accounts()
    account_disable_duplicate(duplicate=duplicate, keep=kept, by=admin, reason="Signed up twice")

    with pytest.raises(AccountDisabled):
        _submit(account=duplicate)

    assert not SelfRegistrationRequest.objects.exists()


# ---------------------------------------------------------------- authenticating


def test_authenticate_against_a_chart_contact_registers_the_patient(chart, staff):
    request = _request_for(chart)

    access = self_registration_authenticate(
        request=request, patient=chart.patient, contact=chart.contact, by=staff, now=NOW
    )

    assert (access.account, access.patient, access.contact) == (request.account, chart.patient, chart.contact)
    assert access.path == RegistrationPath.SELF_REGISTRATION
    assert access.pin is None
    assert access.granted_at == NOW
    request.refresh_from_db()
    assert request.status == SelfRegistrationRequest.Status.AUTHENTICATED
    assert (request.decided_by, request.decided_at, request.access) == (staff, NOW, access)
    assert patient_portal_status(chart.patient) == PortalStatus.REGISTERED


def test_authenticate_writes_one_audit_event(chart, staff):
    request = _request_for(chart)
    before = AuditEvent.objects.count()

    access = self_registration_authenticate(
        request=request, patient=chart.patient, contact=chart.contact, by=staff, client_address="192.0.2.9"
    )

    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.first()
    assert event.action == AuditEvent.Action.SELF_REGISTRATION_AUTHENTICATED
    assert (event.actor, event.patient, event.contact, event.account) == (
        staff,
        chart.patient,
        chart.contact,
        request.account,
    )
    assert event.client_address == "192.0.2.9"
    assert event.details == {
        "request_id": request.pk,
        "access_id": access.pk,
        "contact_created": False,
        "revoked_pin_ids": [],
    }


def test_authenticate_can_add_the_parent_to_the_chart_as_a_new_contact(chart, staff):
    request = _request_for(chart, cell_phone="+12025550177", preferred_language="es")
    contacts_before = FamilyContact.objects.count()

    access = self_registration_authenticate(
        request=request,
        patient=chart.patient,
        new_contact_relationship=PatientContact.Relationship.FATHER,
        by=staff,
    )

    assert FamilyContact.objects.count() == contacts_before + 1
    contact = access.contact
    assert contact != chart.contact
    assert (contact.first_name, contact.last_name, contact.email) == (
        request.parent_first_name,
        request.parent_last_name,
        request.parent_email,
    )
    assert str(contact.cell_phone) == "+12025550177"
    assert contact.preferred_language == "es"
    link = PatientContact.objects.get(patient=chart.patient, contact=contact)
    assert link.relationship == PatientContact.Relationship.FATHER
    assert AuditEvent.objects.first().details["contact_created"] is True
    assert patient_portal_status(chart.patient) == PortalStatus.REGISTERED


def test_authenticate_refuses_an_unknown_relationship(chart, staff):
    request = _request_for(chart)
    contacts_before = FamilyContact.objects.count()

    with pytest.raises(RegistrationError, match="related"):
        self_registration_authenticate(
            request=request, patient=chart.patient, new_contact_relationship="neighbour", by=staff
        )

    assert FamilyContact.objects.count() == contacts_before
    request.refresh_from_db()
    assert request.status == AWAITING


def test_authenticate_refuses_a_contact_not_on_the_patients_chart(chart, staff):
    request = _request_for(chart)

    with pytest.raises(ContactNotOnChart):
        self_registration_authenticate(
            request=request, patient=chart.patient, contact=FamilyContactFactory(), by=staff
        )

    assert not PortalAccess.objects.exists()
    request.refresh_from_db()
    assert request.status == AWAITING


@pytest.mark.parametrize("which", ["neither", "both"])
def test_authenticate_needs_exactly_one_of_contact_and_relationship(chart, staff, which):
    request = _request_for(chart)
    kwargs = {} if which == "neither" else {"contact": chart.contact, "new_contact_relationship": "father"}

    with pytest.raises(ValueError, match="exactly one"):
        self_registration_authenticate(request=request, patient=chart.patient, by=staff, **kwargs)


def test_authenticating_revokes_live_pins_for_that_patient_and_contact(chart, staff, issue_pin):
    father = PatientContactFactory(patient=chart.patient, relationship="father")
    mothers_sibling_link = PatientContactFactory(contact=chart.contact)
    mothers_pin = issue_pin(chart, duplicate_override_reason="set up before the request")
    fathers_pin = issue_pin(father)
    siblings_pin = issue_pin(mothers_sibling_link)
    request = _request_for(chart)

    self_registration_authenticate(
        request=request, patient=chart.patient, contact=chart.contact, by=staff, now=NOW
    )

    mothers_pin.pin.refresh_from_db()
    assert (mothers_pin.pin.revoked_at, mothers_pin.pin.end_reason) == (NOW, Pin.EndReason.AUTHENTICATED)
    event = AuditEvent.objects.get(action=AuditEvent.Action.SELF_REGISTRATION_AUTHENTICATED)
    assert event.details["revoked_pin_ids"] == [mothers_pin.pin.pk]
    for other in (fathers_pin, siblings_pin):
        other.pin.refresh_from_db()
        assert other.pin.revoked_at is None
    with pytest.raises(PinReplaced):
        pin_redeem(
            code=mothers_pin.code,
            child_birth_date=chart.patient.date_of_birth,
            new_account=NewAccountFactory(),
        )


def test_authenticate_keeps_the_access_an_account_already_has(chart, staff, make_portal_account):
    account = make_portal_account(chart)
    existing = account.accesses.get()
    [request] = _submit(ChildDetailsFactory(), account=account)

    access = self_registration_authenticate(
        request=request, patient=chart.patient, contact=chart.contact, by=staff
    )

    assert access == existing
    assert account.accesses.count() == 1
    request.refresh_from_db()
    assert request.access == existing


@pytest.mark.parametrize("first", ["authenticate", "decline"])
@pytest.mark.parametrize("second", ["authenticate", "decline"])
def test_a_request_is_decided_only_once(chart, staff, first, second):
    request = _request_for(chart)

    def decide(how):
        if how == "authenticate":
            self_registration_authenticate(
                request=request, patient=chart.patient, contact=chart.contact, by=staff
            )
        else:
            self_registration_decline(request=request, reason="no_match", by=staff)

    decide(first)
    events_before = AuditEvent.objects.count()

    with pytest.raises(RequestAlreadyDecided):
        decide(second)  # `request` is the stale object from before the first decision

    request.refresh_from_db()
    assert request.status == ("authenticated" if first == "authenticate" else "declined")
    assert AuditEvent.objects.count() == events_before
    assert PortalAccess.objects.count() == (1 if first == "authenticate" else 0)


def test_request_of_a_merged_duplicate_is_authenticated_onto_the_kept_account(
    chart, staff, admin, make_portal_account
):
    request = _request_for(chart, cell_phone="+13125550190")
    kept = make_portal_account(cell_phone="+13125550190")  # the duplicates page pairs them
    account_disable_duplicate(duplicate=request.account, keep=kept, by=admin, reason="Signed up twice")

    access = self_registration_authenticate(
        request=request, patient=chart.patient, contact=chart.contact, by=staff
    )

    assert access.account == kept


# ---------------------------------------------------------------- declining


@pytest.mark.parametrize("reason", ["", "   \n", "We have no patient by that name."])
def test_decline_requires_one_of_the_canned_reasons(chart, staff, reason):
    request = _request_for(chart)

    with pytest.raises(ReasonRequired):
        self_registration_decline(request=request, reason=reason, by=staff)

    request.refresh_from_db()
    assert request.status == AWAITING
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SELF_REGISTRATION_DECLINED).exists()


@pytest.mark.parametrize("note", ["", "  \n "])
def test_declining_for_another_reason_needs_a_note(chart, staff, note):
    """'Another reason' tells the parent nothing by itself: the note is what they read."""
    request = _request_for(chart)

    with pytest.raises(DeclineNoteRequired):
        self_registration_decline(request=request, reason="other", note=note, by=staff)

    request.refresh_from_db()
    assert request.status == AWAITING


def test_decline_stores_the_reason_and_note_and_audits_them(chart, staff):
    request = _request_for(chart)

    declined = self_registration_decline(
        request=request, reason="not_guardian", note="  Please bring the custody papers.  ", by=staff, now=NOW
    )

    declined.refresh_from_db()
    assert declined.status == SelfRegistrationRequest.Status.DECLINED
    assert declined.decline_reason == SelfRegistrationRequest.DeclineReason.NOT_GUARDIAN
    assert declined.decline_note == "Please bring the custody papers."
    assert (declined.decided_by, declined.decided_at) == (staff, NOW)
    assert declined.access is None
    event = AuditEvent.objects.get(action=AuditEvent.Action.SELF_REGISTRATION_DECLINED)
    assert (event.actor, event.account, event.at) == (staff, request.account, NOW)
    assert event.details == {
        "request_id": request.pk,
        "reason": "not_guardian",
        "note": "Please bring the custody papers.",
    }
    assert not PortalAccess.objects.exists()


# ---------------------------------------------------------------- matching requests to charts


@pytest.fixture
def waiting(db):
    """One waiting request from Jordan Park (jordan.park@example.net, +1 202 555 0160) for Mia Park,
    whose email is confirmed: until then a request is nobody's to match."""
    child = ChildDetailsFactory(first_name="Mia", last_name="Park", date_of_birth=dt.date(2021, 6, 15))
    account = NewAccountFactory(email="Jordan.Park@example.net", cell_phone="+12025550160")
    return confirmed_self_registration(children=[child], new_account=account)[0]


def test_a_request_from_an_unconfirmed_account_matches_nothing_and_waits_outside_the_queue(db):
    """Staff cannot authenticate it: it neither holds up a PIN as a possible duplicate nor fills the queue."""
    link = PatientContactFactory()
    child = ChildDetailsFactory(
        first_name=link.patient.first_name,
        last_name=link.patient.last_name,
        date_of_birth=link.patient.date_of_birth,
    )
    [request] = _submit(child, new_account=NewAccountFactory(email=link.contact.email))
    assert (
        list(selectors.self_registration_requests_matching(patient=link.patient, contacts=[link.contact]))
        == []
    )
    assert (
        list(selectors.self_registrations_in_stage()) == []
        and selectors.self_registrations_awaiting_count() == 0
    )
    portal_account_verify_email(account=request.account)
    assert list(selectors.self_registrations_in_stage()) == [request]
    assert [r.pk for r in selectors.self_registration_requests_matching(patient=link.patient)] == [request.pk]


@pytest.mark.parametrize(
    "patient",
    [
        pytest.param({"first_name": "Mia", "last_name": "Park"}, id="both names"),
        pytest.param({"first_name": "MIA", "last_name": "Park-Lopez"}, id="first name, any case"),
        pytest.param({"first_name": "Amelia", "last_name": "park"}, id="last name, any case"),
    ],
)
def test_matching_finds_a_request_by_the_childs_birth_date_and_a_name(waiting, patient):
    chart_patient = PatientFactory(date_of_birth=dt.date(2021, 6, 15), **patient)

    assert list(self_registration_requests_matching(patient=chart_patient)) == [waiting]


@pytest.mark.parametrize(
    "patient",
    [
        pytest.param(
            {"first_name": "Mia", "last_name": "Park", "date_of_birth": dt.date(2021, 6, 16)}, id="dob"
        ),
        pytest.param(
            {"first_name": "Noa", "last_name": "Kim", "date_of_birth": dt.date(2021, 6, 15)}, id="names"
        ),
    ],
)
def test_matching_needs_both_the_birth_date_and_a_name(waiting, patient):
    assert not self_registration_requests_matching(patient=PatientFactory(**patient)).exists()


@pytest.mark.parametrize(
    "email", ["jordan.park@example.net", "JORDAN.PARK@EXAMPLE.NET", "Jordan.Park@example.net"]
)
def test_matching_finds_a_request_by_the_parents_email_in_any_case(waiting, email):
    contact = FamilyContactFactory(email=email, cell_phone="")

    assert list(self_registration_requests_matching(contacts=[contact])) == [waiting]


def test_matching_finds_a_request_by_the_parents_cell_phone(waiting):
    contact = FamilyContactFactory(email="", cell_phone="+12025550160")

    assert list(self_registration_requests_matching(contacts=[contact])) == [waiting]


def test_matching_finds_nothing_for_an_unrelated_patient_and_contact(waiting):
    patient = PatientFactory(first_name="Noa", last_name="Kim", date_of_birth=dt.date(2019, 1, 2))
    contact = FamilyContactFactory(email="someone.else@example.org", cell_phone="+12025550161")

    assert not self_registration_requests_matching(patient=patient, contacts=[contact]).exists()


def test_matching_finds_nothing_without_anything_to_match(waiting):
    no_details = FamilyContactFactory(email="", cell_phone="")

    assert not self_registration_requests_matching().exists()
    assert not self_registration_requests_matching(contacts=[no_details]).exists()


def test_matching_ignores_decided_requests(waiting, staff):
    self_registration_decline(request=waiting, reason="no_match", by=staff)

    contact = FamilyContactFactory(email="jordan.park@example.net")
    assert not self_registration_requests_matching(contacts=[contact]).exists()


def test_matching_lists_requests_oldest_first(waiting):
    later = confirmed_self_registration(
        children=[
            ChildDetailsFactory(first_name="Mia", last_name="Park", date_of_birth=dt.date(2021, 6, 15))
        ],
        new_account=NewAccountFactory(),
        now=waiting.submitted_at + dt.timedelta(days=1),
    )[0]
    earlier = confirmed_self_registration(
        children=[
            ChildDetailsFactory(first_name="Mia", last_name="Park", date_of_birth=dt.date(2021, 6, 15))
        ],
        new_account=NewAccountFactory(),
        now=waiting.submitted_at - dt.timedelta(days=1),
    )[0]
    patient = PatientFactory(first_name="Mia", last_name="Park", date_of_birth=dt.date(2021, 6, 15))

    assert list(self_registration_requests_matching(patient=patient)) == [earlier, waiting, later]


def test_naming_the_same_child_twice_in_one_request_is_refused(db):
    twin = ChildDetailsFactory(first_name="Ada", last_name="Ng")
    again = ChildDetailsFactory(first_name="ada", last_name="NG", date_of_birth=twin.date_of_birth)
    with pytest.raises(InvalidChild, match="named once"):
        self_registration_submit(children=[twin, again], new_account=NewAccountFactory())
    assert not SelfRegistrationRequest.objects.exists()
