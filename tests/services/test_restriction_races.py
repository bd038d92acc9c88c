"""A restriction recorded while the restricted parent redeems a PIN leaves them no access, whichever
transaction takes the PIN's lock first (PostgreSQL row locks; see test_concurrency.py for the helpers)."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from patients.models import PatientContact
from registration.models import AccessRestriction, AuditEvent, Pin, PortalAccess
from registration.services.errors import PinNotAccepted, RegistrationError
from registration.services.pin_redemption import pin_redeem
from registration.services.restrictions import restriction_create
from tests.factories import NewAccountFactory, PatientContactFactory, admin_user
from tests.services.test_concurrency import outcome_counts, start, wait_until_blocked

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def family(db):
    mother = PatientContactFactory(patient__date_of_birth=dt.date(2018, 9, 1))
    father = PatientContactFactory(patient=mother.patient, relationship=PatientContact.Relationship.FATHER)
    return mother, father


def race(issued, *, redeemer_email: str, restricted: PatientContact, redeem_first: bool) -> list:
    """Hold the PIN's lock, queue the redemption and the restriction behind it in the order given, let
    them go, and return their outcomes."""
    admin = admin_user()

    def redeem():
        return pin_redeem(
            code=issued.code,
            child_birth_date=restricted.patient.date_of_birth,
            new_account=NewAccountFactory(email=redeemer_email),
        )

    def restrict():
        return restriction_create(
            patient=restricted.patient,
            contact=restricted.contact,
            basis=AccessRestriction.Basis.PROTECTIVE_ORDER,
            starts_on=timezone.localdate(),
            by=admin,
        )

    first, second = (redeem, restrict) if redeem_first else (restrict, redeem)
    with transaction.atomic():
        Pin.objects.select_for_update().get(pk=issued.pin.pk)  # busy: both calls queue behind this
        first_done = start(first)
        wait_until_blocked(1)
        second_done = start(second)
        wait_until_blocked(2)
    return [first_done(), second_done()]


@pytest.mark.parametrize("redeem_first", [True, False], ids=["redemption-first", "restriction-first"])
def test_a_restriction_recorded_while_the_parent_redeems_leaves_no_access(family, issue_pin, redeem_first):
    _, father = family
    issued = issue_pin(father)
    outcomes = race(issued, redeemer_email="dad@example.net", restricted=father, redeem_first=redeem_first)
    outcome_counts(f"redeem vs restrict ({'redemption' if redeem_first else 'restriction'} first)", outcomes)

    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, RegistrationError)]
    assert isinstance(outcomes[1 if redeem_first else 0], AccessRestriction), "the restriction is recorded"
    assert not PortalAccess.objects.filter(patient=father.patient).exists(), "no live access is left"
    made = PortalAccess.history.filter(patient=father.patient)
    if redeem_first:  # the redemption committed, then the restriction ended what it made
        assert [a.end_reason for a in made] == ["restricted"]
        assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_ENDED).count() == 1
    else:  # the PIN was revoked before the redemption could read it
        assert not made.exists()
        assert isinstance(outcomes[1], PinNotAccepted)
        assert Pin.objects.get(pk=issued.pin.pk).end_reason == Pin.EndReason.RESTRICTED


@pytest.mark.parametrize("redeem_first", [True, False], ids=["redemption-first", "restriction-first"])
def test_the_restricted_parent_racing_with_the_other_parents_pin_is_left_without_access(
    family, issue_pin, redeem_first
):
    mother, father = family
    issued = issue_pin(mother)
    outcomes = race(issued, redeemer_email=father.contact.email, restricted=father, redeem_first=redeem_first)
    outcome_counts(f"father redeems mother's PIN vs restrict ({redeem_first=})", outcomes)

    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, RegistrationError)]
    assert not PortalAccess.objects.filter(patient=father.patient).exists(), "no live access is left"
    if not redeem_first:
        assert isinstance(outcomes[1], PinNotAccepted)
        assert Pin.objects.get(pk=issued.pin.pk).redeemed_at is None, "the mother's PIN still works"
