"""Patients are found by a range of dates of birth: a birthday within [first, last], 29 February too."""

import datetime as dt

import pytest

from patients.models import Patient
from registration.selectors.birthdays import birthdays_between
from tests.factories import PatientFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # 2030 is a common year: someone born on 29 February 2012 turns 18 on 1 March.
        (dt.date(2030, 2, 28), dt.date(2030, 2, 28), {"feb28"}),
        (dt.date(2030, 3, 1), dt.date(2030, 3, 1), {"leap", "mar1"}),
        (dt.date(2030, 2, 1), dt.date(2030, 3, 2), {"feb28", "leap", "mar1", "mar2"}),
        (dt.date(2030, 3, 2), dt.date(2030, 3, 31), {"mar2"}),
    ],
)
def test_birthdays_between_finds_each_birthday_once_and_29_february_on_1_march(first, last, expected):
    born = {
        "feb28": dt.date(2012, 2, 28),
        "leap": dt.date(2012, 2, 29),
        "mar1": dt.date(2012, 3, 1),
        "mar2": dt.date(2012, 3, 2),
    }
    for name, day in born.items():
        PatientFactory(first_name=name, date_of_birth=day)

    found = set(
        Patient.objects.filter(birthdays_between(18, first, last)).values_list("first_name", flat=True)
    )

    assert found == expected


@pytest.mark.django_db
def test_in_a_leap_year_29_february_is_the_birthday():
    PatientFactory(first_name="leap", date_of_birth=dt.date(2016, 2, 29))

    def found(day):
        return Patient.objects.filter(birthdays_between(12, day, day)).exists()

    assert (found(dt.date(2028, 2, 28)), found(dt.date(2028, 2, 29)), found(dt.date(2028, 3, 1))) == (
        False,
        True,
        False,
    )
