"""A request's candidates are scored once: the score that ranks them is the sum of what their reasons
are worth, so the list staff read is in the order of the reasons it shows."""

import datetime as dt

import pytest

from registration import selectors
from registration.services.accounts import NewAccount
from registration.services.self_registration import ChildDetails
from tests.factories import (
    FamilyContactFactory,
    PatientContactFactory,
    PatientFactory,
    confirmed_self_registration,
)

pytestmark = pytest.mark.django_db

WORTH = {"date of birth": 3, "last name": 2, "first name": 2, "parent's confirmed email": 3}
BORN = dt.date(2019, 6, 14)


def test_each_score_is_what_its_reasons_are_worth_and_ranks_the_list():
    everything = PatientContactFactory(
        patient=PatientFactory(first_name="Mia", last_name="Okafor", date_of_birth=BORN),
        contact=FamilyContactFactory(email="ada.okafor@example.org"),
    )
    names_only = PatientFactory(first_name="Mia", last_name="Okafor", date_of_birth=dt.date(2019, 6, 15))
    birthday_and_last_name = PatientFactory(first_name="Zoe", last_name="Okafor", date_of_birth=BORN)
    [request] = confirmed_self_registration(
        children=[ChildDetails("Mia", "Okafor", BORN)],
        new_account=NewAccount(
            email="ADA.OKAFOR@example.org",
            password="x" * 16,
            first_name="Ada",
            last_name="Okafor",
            cell_phone="",
        ),
    )

    candidates = selectors.reconcile_candidates(request)

    assert [(c.patient, c.reasons) for c in candidates] == [
        (everything.patient, ["date of birth", "last name", "first name", "parent's confirmed email"]),
        (birthday_and_last_name, ["date of birth", "last name"]),
    ], "names alone (4) are under a strong match, and the strongest is 10"
    for candidate in candidates:
        assert candidate.score == sum(WORTH[reason] for reason in candidate.reasons)
    assert names_only not in [c.patient for c in candidates]
