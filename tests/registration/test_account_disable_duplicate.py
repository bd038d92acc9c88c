"""A practice admin disables a parent's duplicate account and keeps the other one."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.contrib.auth import authenticate
from django.test import Client

from registration import services
from registration.models import (
    AuditEvent,
    Pin,
    PortalAccess,
    PortalAccount,
    PortalStatus,
    SelfRegistrationRequest,
)
from registration.selectors import patient_portal_status
from registration.services.errors import AccountDisabled, SameAccount
from tests.factories import ChildDetailsFactory, PatientContactFactory

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
PASSWORD = "a long enough pass phrase"


@pytest.fixture
def family(staff, issue_pin, make_portal_account):
    """A mother with three children and two accounts.

    She registered the eldest with one email (`kept`) and the middle child with another (`duplicate`),
    which also asked for a child by self-registration. A PIN for her youngest is still unused.
    """
    eldest = PatientContactFactory()
    middle = PatientContactFactory(contact=eldest.contact)
    youngest = PatientContactFactory(contact=eldest.contact)
    kept = make_portal_account(eldest, email="mum@example.net")
    duplicate = make_portal_account(middle, email="mum.work@example.net")
    [waiting] = services.self_registration_submit(children=[ChildDetailsFactory()], account=duplicate)
    [declined] = services.self_registration_submit(children=[ChildDetailsFactory()], account=duplicate)
    services.self_registration_decline(request=declined, reason="Not our patient.", by=staff)
    youngest_pin = issue_pin(youngest)
    return SimpleNamespace(
        eldest=eldest,
        middle=middle,
        youngest=youngest,
        kept=kept,
        duplicate=duplicate,
        waiting=waiting,
        declined=declined,
        youngest_pin=youngest_pin.pin,
    )


def _disable(family, admin, **kwargs):
    return services.account_disable_duplicate(
        duplicate=family.duplicate, keep=family.kept, by=admin, **kwargs
    )


def test_disable_returns_the_kept_account(family, admin):
    assert _disable(family, admin) == family.kept


def test_duplicates_accesses_move_to_the_kept_account(family, admin):
    middle_access = family.duplicate.accesses.get()

    _disable(family, admin)

    middle_access.refresh_from_db()
    assert middle_access.account == family.kept
    assert set(family.kept.accesses.values_list("patient", flat=True)) == {
        family.eldest.patient.pk,
        family.middle.patient.pk,
    }
    assert not family.duplicate.accesses.exists()


def test_patients_stay_registered(family, admin):
    _disable(family, admin)

    assert patient_portal_status(family.eldest.patient) == PortalStatus.REGISTERED
    assert patient_portal_status(family.middle.patient) == PortalStatus.REGISTERED


def test_access_to_a_child_both_accounts_see_stays_behind_and_the_child_stays_registered(
    family, admin, issue_pin
):
    father = PatientContactFactory(patient=family.eldest.patient, relationship="father")
    fathers_pin = issue_pin(father)
    left_behind = services.pin_redeem(
        code=fathers_pin.code, child_birth_date=father.patient.date_of_birth, account=family.duplicate
    )

    _disable(family, admin)

    left_behind.refresh_from_db()
    assert left_behind.account == family.duplicate
    assert family.kept.accesses.filter(patient=family.eldest.patient).count() == 1
    assert patient_portal_status(family.eldest.patient) == PortalStatus.REGISTERED
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCOUNT_DISABLED)
    assert event.details["left_access_ids"] == [left_behind.pk]


def test_waiting_requests_move_and_decided_ones_stay(family, admin):
    _disable(family, admin)

    family.waiting.refresh_from_db()
    family.declined.refresh_from_db()
    assert family.waiting.account == family.kept
    assert family.waiting.status == SelfRegistrationRequest.Status.AWAITING
    assert family.declined.account == family.duplicate


def test_live_pins_of_the_duplicates_contacts_are_revoked(family, admin, issue_pin):
    unrelated = issue_pin()

    _disable(family, admin, now=NOW)

    family.youngest_pin.refresh_from_db()
    assert family.youngest_pin.revoked_at == NOW
    assert family.youngest_pin.end_reason == Pin.EndReason.ACCOUNT_DISABLED
    unrelated.pin.refresh_from_db()
    assert unrelated.pin.revoked_at is None
    redeemed = PortalAccess.objects.get(patient=family.middle.patient).pin
    assert (redeemed.redeemed_at is not None, redeemed.revoked_at) == (True, None)
    assert patient_portal_status(family.youngest.patient) == PortalStatus.NOT_REGISTERED


def test_duplicate_can_no_longer_sign_in(family, admin):
    assert authenticate(username="mum.work@example.net", password=PASSWORD) == family.duplicate.user

    _disable(family, admin)

    assert authenticate(username="mum.work@example.net", password=PASSWORD) is None
    assert not Client().login(username="mum.work@example.net", password=PASSWORD)
    assert Client().login(username="mum@example.net", password=PASSWORD)


def test_duplicate_is_marked_disabled_and_merged(family, admin):
    _disable(family, admin, now=NOW)

    duplicate = PortalAccount.objects.select_related("user").get(pk=family.duplicate.pk)
    assert duplicate.is_disabled
    assert (duplicate.disabled_at, duplicate.disabled_by, duplicate.merged_into) == (NOW, admin, family.kept)
    assert duplicate.user.is_active is False
    kept = PortalAccount.objects.get(pk=family.kept.pk)
    assert (kept.disabled_at, kept.merged_into) == (None, None)
    assert kept.user.is_active


def test_disable_writes_one_audit_event(family, admin):
    events_before = AuditEvent.objects.count()
    middle_access = family.duplicate.accesses.get()

    _disable(family, admin, reason="  Signed up twice  ", now=NOW, client_address="192.0.2.80")

    assert AuditEvent.objects.count() == events_before + 1
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCOUNT_DISABLED)
    assert (event.actor, event.account, event.at, event.client_address) == (
        admin,
        family.duplicate,
        NOW,
        "192.0.2.80",
    )
    assert event.details == {
        "kept_account_id": family.kept.pk,
        "moved_access_ids": [middle_access.pk],
        "left_access_ids": [],
        "moved_request_ids": [family.waiting.pk],
        "revoked_pin_ids": [family.youngest_pin.pk],
        "reason": "Signed up twice",
    }


def test_same_account_twice_is_refused(family, admin):
    with pytest.raises(SameAccount):
        services.account_disable_duplicate(duplicate=family.kept, keep=family.kept, by=admin)

    family.kept.refresh_from_db()
    assert not family.kept.is_disabled
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT_DISABLED).exists()


def test_disabling_an_already_disabled_account_is_refused(family, admin, make_portal_account):
    _disable(family, admin)
    third = make_portal_account()

    with pytest.raises(AccountDisabled):
        services.account_disable_duplicate(duplicate=family.duplicate, keep=third, by=admin)
    with pytest.raises(AccountDisabled):
        _disable(family, admin)

    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT_DISABLED).count() == 1
    family.duplicate.refresh_from_db()
    assert family.duplicate.merged_into == family.kept


def test_keeping_a_disabled_account_is_refused(family, admin, make_portal_account):
    _disable(family, admin)
    other = make_portal_account()

    with pytest.raises(AccountDisabled):
        services.account_disable_duplicate(duplicate=other, keep=family.duplicate, by=admin)

    other.refresh_from_db()
    assert not other.is_disabled
    assert other.accesses.count() == 1
