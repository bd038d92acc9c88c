"""A parent who already has an account signs up again to ask for a child: staff add the child to the account
they have, instead of authenticating the request into a second one."""

import datetime as dt
from types import SimpleNamespace

import pytest

from registration import selectors
from registration.models import AuditEvent, Pin, PortalAccess, SelfRegistrationRequest
from registration.services.errors import (
    AccountNotConfirmed,
    AlreadyRegistered,
    ContactHasNoAccount,
    ContactHasTwoAccounts,
    ContactNotOnChart,
    RequestAlreadyDecided,
)
from registration.services.self_registration import (
    self_registration_add_to_existing_account,
    self_registration_decline,
    self_registration_submit,
)
from tests.factories import (
    ChildDetailsFactory,
    NewAccountFactory,
    PatientContactFactory,
    confirmed_self_registration,
)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _asking_for(link, **account_fields):
    patient = link.patient
    child = ChildDetailsFactory(
        first_name=patient.first_name, last_name=patient.last_name, date_of_birth=patient.date_of_birth
    )
    return confirmed_self_registration(children=[child], new_account=NewAccountFactory(**account_fields))[0]


@pytest.fixture
def family(make_portal_account, issue_pin):
    """A mother who registered her eldest with a PIN, then signed up again to ask for the youngest."""
    eldest = PatientContactFactory()
    youngest = PatientContactFactory(contact=eldest.contact)
    existing = make_portal_account(eldest)
    unused_pin = issue_pin(youngest).pin
    return SimpleNamespace(
        eldest=eldest,
        youngest=youngest,
        existing=existing,
        request=_asking_for(youngest),
        unused_pin=unused_pin,
    )


def _add(family, staff, **kwargs):
    return self_registration_add_to_existing_account(
        request=family.request,
        patient=family.youngest.patient,
        contact=family.youngest.contact,
        by=staff,
        **kwargs,
    )


def test_the_child_goes_to_the_account_the_parent_has_and_the_request_is_settled(family, staff):
    access = _add(family, staff, now=NOW)

    assert (access.account, access.patient, access.contact) == (
        family.existing,
        family.youngest.patient,
        family.youngest.contact,
    )
    family.request.refresh_from_db()
    assert family.request.status == SelfRegistrationRequest.Status.AUTHENTICATED
    assert (family.request.access, family.request.decided_by, family.request.decided_at) == (
        access,
        staff,
        NOW,
    )
    assert not PortalAccess.objects.filter(account=family.request.account).exists()  # no second account


def test_unused_pins_for_the_child_stop(family, staff):
    _add(family, staff, now=NOW)

    family.unused_pin.refresh_from_db()
    assert (family.unused_pin.revoked_at, family.unused_pin.end_reason) == (NOW, Pin.EndReason.AUTHENTICATED)


def test_it_is_audited(family, staff):
    access = _add(family, staff, now=NOW, client_address="192.0.2.9")

    event = AuditEvent.objects.filter(action=AuditEvent.Action.SELF_REGISTRATION_AUTHENTICATED).get()
    assert (event.actor, event.account, event.patient, event.contact, event.client_address) == (
        staff,
        family.existing,
        family.youngest.patient,
        family.youngest.contact,
        "192.0.2.9",
    )
    assert event.details == {
        "request_id": family.request.pk,
        "access_id": access.pk,
        "requesting_account_id": family.request.account_id,
        "revoked_pin_ids": [family.unused_pin.pk],
    }


def test_both_portals_say_where_the_child_is(family, staff):
    _add(family, staff)

    [told] = selectors.portal_home(family.request.account)["requests"]
    assert told.access.account == family.existing
    seen = [card.patient for card in selectors.portal_home(family.existing)["children"]]
    assert family.youngest.patient in seen


def test_a_contact_without_an_account_is_refused(staff):
    link = PatientContactFactory()
    request = _asking_for(link)

    with pytest.raises(ContactHasNoAccount):
        self_registration_add_to_existing_account(
            request=request, patient=link.patient, contact=link.contact, by=staff
        )


def test_a_contact_with_two_accounts_is_refused(family, staff, make_portal_account):
    make_portal_account(PatientContactFactory(contact=family.eldest.contact))

    with pytest.raises(ContactHasTwoAccounts):
        _add(family, staff)
    family.request.refresh_from_db()
    assert family.request.status == SelfRegistrationRequest.Status.AWAITING


def test_a_child_that_account_sees_already_is_refused(family, staff):
    request = _asking_for(family.eldest)

    with pytest.raises(AlreadyRegistered):
        self_registration_add_to_existing_account(
            request=request, patient=family.eldest.patient, contact=family.eldest.contact, by=staff
        )


def test_a_contact_not_on_the_childs_chart_is_refused(family, staff):
    stranger = PatientContactFactory()

    with pytest.raises(ContactNotOnChart):
        self_registration_add_to_existing_account(
            request=family.request, patient=stranger.patient, contact=family.youngest.contact, by=staff
        )
    assert not PortalAccess.objects.filter(patient=stranger.patient).exists()


def test_an_unconfirmed_sign_up_learns_nothing(staff, make_portal_account):
    link = PatientContactFactory()
    make_portal_account(link)
    patient = link.patient
    [request] = self_registration_submit(
        children=[ChildDetailsFactory(first_name=patient.first_name, date_of_birth=patient.date_of_birth)],
        new_account=NewAccountFactory(),
    )

    with pytest.raises(AccountNotConfirmed):
        self_registration_add_to_existing_account(
            request=request, patient=patient, contact=link.contact, by=staff
        )


def test_a_decided_request_is_refused(family, staff):
    self_registration_decline(request=family.request, reason="duplicate", by=staff)

    with pytest.raises(RequestAlreadyDecided):
        _add(family, staff)
