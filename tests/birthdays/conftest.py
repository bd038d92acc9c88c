import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from patients.models import FamilyContact, PatientContact
from registration.access_policy import birthday
from tests.factories import FamilyContactFactory, PatientContactFactory, PatientFactory

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def practice_in_new_york(settings):
    settings.TIME_ZONE = "America/New_York"
    settings.ACCESS_POLICY = (
        "default"  # teens at 12 (parents see scheduling, messages, billing), adults at 18
    )
    settings.ACCESS_POLICY_OVERRIDES = {}


@pytest.fixture
def birthday_day() -> dt.date:
    """A day 40 days ahead: the birthday the tests go through."""
    return days_ahead(40)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of `day` in the practice's time zone."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK)


def days_ahead(days: int) -> dt.date:
    """The day `days` after today in the practice's time zone, moved on from 29 February."""
    day = timezone.localdate() + dt.timedelta(days=days)
    return day + dt.timedelta(days=1) if (day.month, day.day) == (2, 29) else day


@pytest.fixture
def child_turning(birthday_day):
    """`child_turning(age, on=birthday_day, **patient)`: a patient whose `age`-th birthday is `on`."""

    def make(age: int, on: dt.date = birthday_day, **fields):
        born = on.replace(year=on.year - age)
        patient = PatientFactory(date_of_birth=born, **fields)
        assert birthday(born, age) == on
        return patient

    return make


@pytest.fixture
def parent_of(make_portal_account):
    """`parent_of(patient, relationship=..., language=...)`: a contact on the chart who redeemed a PIN."""

    def make(
        patient,
        relationship=PatientContact.Relationship.MOTHER,
        language=FamilyContact.Language.ENGLISH,
        **account,
    ):
        link = PatientContactFactory(
            patient=patient,
            contact=FamilyContactFactory(preferred_language=language),
            relationship=relationship,
        )
        account = make_portal_account(link, preferred_language=language, **account)
        return account.accesses.get(patient=patient)

    return make
