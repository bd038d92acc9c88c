"""Two transactions changing one child's status at once count it once (PostgreSQL row locks).

Each round gives a child two parents, each holding a live PIN (Pending), then changes both at the same
moment in two transactions: restrictions recorded for both parents, one parent redeeming while the other
is restricted, or one redeeming while staff give the other a new PIN. The last pair shares no lock of its
own: without the status mark locked first, each transaction reads the other's PIN as it was, and the
kept counts go wrong (this test fails so when the lock is taken out).
"""

import datetime as dt

import pytest
from django.utils import timezone

from registration.models import RegistrationPath
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.restrictions import restriction_create
from registration.statistics.tallies import tallied_counts, tallies_recount
from tests.factories import (
    FamilyContactFactory,
    NewAccountFactory,
    PatientContactFactory,
    StaffFactory,
    admin_user,
)
from tests.services.test_concurrency import run_at_once
from tests.statistics.test_kept_counts import full_count

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 8


def _two_parents_with_pins(staff):
    """A child whose first parent's PIN was issued 10 days ago (it runs out in 4) and second's today."""
    first = PatientContactFactory(patient__date_of_birth=dt.date(2020, 5, 4))
    second = PatientContactFactory(patient=first.patient, contact=FamilyContactFactory())
    codes = [
        pin_issue(
            patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=staff, now=issued
        ).code
        for link, issued in ((first, timezone.now() - dt.timedelta(days=10)), (second, timezone.now()))
    ]
    return first, second, codes


def _reissue(link, staff):
    return lambda: pin_issue(
        patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=staff
    )


def _restrict(link, admin):
    return lambda: restriction_create(
        patient=link.patient,
        contact=link.contact,
        basis="court_order",
        starts_on=timezone.localdate() - dt.timedelta(days=1),
        by=admin,
    )


def _redeem(link, code):
    return lambda: pin_redeem(
        code=code, child_birth_date=link.patient.date_of_birth, new_account=NewAccountFactory()
    )


@pytest.mark.parametrize(
    "race", ["both restricted", "one redeems, one restricted", "one redeems, one gets a new PIN"]
)
def test_two_transactions_ending_one_childs_pins_at_once_count_the_child_once(settings, race):
    settings.STATISTICS_RECOUNT_SECONDS = 10**9
    staff, admin = StaffFactory(), admin_user()
    for _ in range(ROUNDS):
        first, second, codes = _two_parents_with_pins(staff)
        tallies_recount(timezone.now())  # the factories' chart, counted
        calls = {
            "both restricted": [_restrict(first, admin), _restrict(second, admin)],
            "one redeems, one restricted": [_redeem(first, codes[0]), _restrict(second, admin)],
            # Nothing else serialises these two: the PIN redeemed is locked, the chart link reissued.
            "one redeems, one gets a new PIN": [_redeem(first, codes[0]), _reissue(second, staff)],
        }[race]
        outcomes = run_at_once(calls)
        assert not any(isinstance(o, Exception) for o in outcomes), outcomes
        # Now, and once the first PIN would have run out: a transaction that missed the other's redemption
        # would have kept the first PIN's expiry as the child's earliest.
        for now in (timezone.now(), timezone.now() + dt.timedelta(days=5)):
            assert tallied_counts(now) == full_count(now)
    counts = full_count(timezone.now())
    print(f"{race}, {ROUNDS} rounds: kept counts equal a full count: {counts}")
    assert counts.registered == (0 if race == "both restricted" else ROUNDS)
