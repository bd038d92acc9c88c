"""A patient's portal status is derived from PINs and accesses, never stored."""

import datetime as dt
from contextlib import suppress

import pytest

from patients.models import Patient
from registration.models import PortalAccount, PortalStatus, RegistrationPath
from registration.selectors import patient_portal_status, patients_with_portal_status
from registration.services.accounts import account_disable_duplicate
from registration.services.errors import RegistrationError
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.self_registration import self_registration_authenticate, self_registration_decline
from tests.factories import (
    ChildDetailsFactory,
    NewAccountFactory,
    PatientContactFactory,
    confirmed_self_registration,
)

# Every step happens at T0 or within the hour. Today, not a fixed date: children are born before it.
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
PARENTS_PHONE = "+13125550191"
NOT_REGISTERED = PortalStatus.NOT_REGISTERED
PENDING = PortalStatus.PENDING
REGISTERED = PortalStatus.REGISTERED


class Family:
    """A patient with a mother and a father on the chart, and the mother's other child.

    Each method is one step of a case in the table below; they go through the services, except where
    a state no service makes yet is needed to pin down the derivation.
    """

    def __init__(self, staff, admin):
        self.staff, self.admin = staff, admin
        self.mother = PatientContactFactory()
        self.patient = self.mother.patient
        self.father = PatientContactFactory(patient=self.patient, relationship="father")
        self.sibling = PatientContactFactory(contact=self.mother.contact)
        self.issued = None
        self.account = None
        self.sibling_account = None

    def run(self, steps):
        for step in steps:
            getattr(self, step.replace(" ", "_"))()
        return self

    def _issue(self, link, **kwargs):
        self.issued = pin_issue(
            patient=link.patient,
            contact=link.contact,
            path=RegistrationPath.CHART,
            by=self.staff,
            now=T0,
            **kwargs,
        )

    def _redeem(self, birth_date=None, **account):
        account = account or {"new_account": NewAccountFactory(cell_phone=PARENTS_PHONE)}
        return pin_redeem(
            code=self.issued.code,
            child_birth_date=birth_date or self.issued.pin.patient.date_of_birth,
            now=T0 + dt.timedelta(minutes=30),
            **account,
        )

    def pin(self):
        self._issue(self.mother, duplicate_override_reason="matched by hand")

    def fathers_pin(self):
        self._issue(self.father, duplicate_override_reason="matched by hand")

    def siblings_pin(self):
        self._issue(self.sibling)

    def redeem(self):
        self.account = self._redeem().account

    def lock(self):
        wrong = self.issued.pin.patient.date_of_birth - dt.timedelta(days=1)
        for _ in range(5):
            with suppress(RegistrationError):
                self._redeem(wrong)
        self.issued.pin.refresh_from_db()
        assert self.issued.pin.end_reason == "locked"

    def disable_account_without_merging(self):
        # No service disables an account on its own yet; the derivation must not count its accesses.
        PortalAccount.objects.filter(pk=self.account.pk).update(disabled_at=T0)

    def merge_account_into_another(self):
        keeper = self._account_elsewhere()
        account_disable_duplicate(
            duplicate=self.account, keep=keeper, by=self.admin, reason="Signed up twice", now=T0
        )

    def siblings_account(self):
        self._issue(self.sibling)
        self.sibling_account = self._redeem().account

    def disable_siblings_account(self):
        keeper = self._account_elsewhere()
        account_disable_duplicate(
            duplicate=self.sibling_account, keep=keeper, by=self.admin, reason="Signed up twice", now=T0
        )

    def _account_elsewhere(self) -> PortalAccount:
        """An account the parent made by asking for a child of another practice (one cell phone: a pair)."""
        [request] = confirmed_self_registration(
            children=[ChildDetailsFactory()], new_account=NewAccountFactory(cell_phone=PARENTS_PHONE), now=T0
        )
        return request.account

    def self_registration_waiting(self):
        self._self_registration_submit()

    def self_registration_authenticated(self):
        request = self._self_registration_submit()
        self_registration_authenticate(
            request=request, patient=self.patient, contact=self.mother.contact, by=self.staff, now=T0
        )

    def _self_registration_submit(self):
        child = ChildDetailsFactory(
            date_of_birth=self.patient.date_of_birth, last_name=self.patient.last_name
        )
        [request] = confirmed_self_registration(children=[child], new_account=NewAccountFactory(), now=T0)
        return request

    def self_registration_declined(self):
        request = self._self_registration_submit()
        self_registration_decline(request=request, reason="details_differ", by=self.staff, now=T0)


HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)

# (steps, when the status is read after T0, expected status). PINs are valid for 14 days.
CASES = [
    pytest.param([], HOUR, NOT_REGISTERED, id="nothing"),
    pytest.param(["pin"], HOUR, PENDING, id="live PIN"),
    pytest.param(["pin"], 14 * DAY - dt.timedelta(seconds=1), PENDING, id="PIN in its last second"),
    pytest.param(["pin"], 14 * DAY, NOT_REGISTERED, id="PIN at its expiry"),
    pytest.param(["pin"], 30 * DAY, NOT_REGISTERED, id="expired PIN"),
    pytest.param(["pin", "pin"], HOUR, PENDING, id="superseded PIN and its live successor"),
    pytest.param(["pin", "lock"], HOUR, NOT_REGISTERED, id="locked PIN"),
    pytest.param(["pin", "lock", "fathers pin"], HOUR, PENDING, id="locked PIN and the father's live PIN"),
    pytest.param(["fathers pin"], HOUR, PENDING, id="live PIN for the other parent"),
    pytest.param(["siblings pin"], HOUR, NOT_REGISTERED, id="live PIN for a sibling only"),
    pytest.param(["siblings account"], HOUR, NOT_REGISTERED, id="sibling registered only"),
    pytest.param(["pin", "redeem"], HOUR, REGISTERED, id="redeemed PIN"),
    pytest.param(["pin", "redeem"], 365 * DAY, REGISTERED, id="redeemed PIN, a year later"),
    pytest.param(["pin", "redeem", "fathers pin"], HOUR, REGISTERED, id="registered beats pending"),
    pytest.param(
        ["pin", "redeem", "disable account without merging"], HOUR, NOT_REGISTERED, id="disabled access"
    ),
    pytest.param(
        ["pin", "redeem", "disable account without merging", "pin"],
        HOUR,
        PENDING,
        id="disabled access and a live PIN",
    ),
    pytest.param(
        ["pin", "redeem", "merge account into another"], HOUR, REGISTERED, id="access moved by merge"
    ),
    pytest.param(
        ["siblings account", "pin", "disable siblings account"],
        HOUR,
        NOT_REGISTERED,
        id="PIN revoked with the contact's duplicate account",
    ),
    pytest.param(["self registration waiting"], HOUR, NOT_REGISTERED, id="self-registration waiting"),
    pytest.param(["self registration declined"], HOUR, NOT_REGISTERED, id="self-registration declined"),
    pytest.param(["self registration authenticated"], HOUR, REGISTERED, id="self-registration authenticated"),
    pytest.param(
        ["pin", "self registration authenticated"], HOUR, REGISTERED, id="PIN revoked by authentication"
    ),
]


@pytest.mark.parametrize(("steps", "after", "expected"), CASES)
def test_portal_status(staff, admin, settings, steps, after, expected):
    settings.PIN_VALIDITY_DAYS = 14
    family = Family(staff, admin).run(steps)

    assert patient_portal_status(family.patient, now=T0 + after) == expected


def test_all_patients_statuses_are_read_in_one_query(staff, admin, settings, django_assert_num_queries):
    settings.PIN_VALIDITY_DAYS = 14
    families = [
        (Family(staff, admin).run(case.values[0]), case.values[2]) for case in CASES if case.values[1] == HOUR
    ]

    with django_assert_num_queries(1):
        statuses = {p.pk: p.portal_status for p in patients_with_portal_status(now=T0 + HOUR)}

    assert len(families) > 15
    assert {f.patient.pk: statuses[f.patient.pk] for f, _ in families} == {
        f.patient.pk: expected for f, expected in families
    }


def test_status_can_be_read_for_part_of_the_patients(staff, admin, django_assert_num_queries):
    pending = Family(staff, admin).run(["pin"]).patient
    registered = Family(staff, admin).run(["pin", "redeem"]).patient

    with django_assert_num_queries(1):
        statuses = dict(
            patients_with_portal_status(
                Patient.objects.filter(pk__in=[pending.pk, registered.pk]), now=T0 + HOUR
            ).values_list("pk", "portal_status")
        )

    assert statuses == {pending.pk: PENDING, registered.pk: REGISTERED}
