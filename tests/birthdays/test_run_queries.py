"""The daily task finds its work with a fixed number of set-based queries on `date_of_birth` ranges, then
changes each patient in its own transaction: its queries grow by a constant per patient changed, not
with the practice's size."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.models import PatientContact
from registration.services.birthdays import access_birthdays_run
from tests.birthdays.conftest import local
from tests.factories import PatientContactFactory, PatientFactory

# Per patient changed, in its own transaction (its savepoint and release are counted here): lock the
# patient; its milestone (get; savepoint, insert, release; mark applied); the teen's choice
# (access_terms) or the adult's PINs to stop; the accesses to change, locked. Then per access changed: its
# update and its audit row. Nothing per patient the task leaves alone.
QUERIES_A_PATIENT = 10
QUERIES_AN_ACCESS = 2
# An access ended (the adult's parent's) changes the patient's portal status: the kept registration counts
# lock its status mark, read its status, and write mark and counters (one statement on PostgreSQL, two
# elsewhere).
QUERIES_A_STATUS_CHANGE = {"postgresql": 3}.get(connection.vendor, 4)


def queries_of_run(now) -> int:
    with CaptureQueriesContext(connection) as captured:
        access_birthdays_run(now=now)
    return len(captured)


@pytest.mark.django_db
def test_the_run_costs_a_constant_per_patient_changed_and_nothing_per_patient_untouched(
    child_turning, parent_of, birthday_day
):
    def families(n, day):
        for _ in range(n):
            parent_of(child_turning(12, on=day))
            parent_of(child_turning(18, on=day))

    # Forty days apart: neither birthday is in the other's 30 days of notices.
    first, second = birthday_day, birthday_day + dt.timedelta(days=40)
    families(1, first)
    families(3, second)
    for _ in range(20):  # patients the task has nothing to do for
        PatientContactFactory(patient=PatientFactory(), relationship=PatientContact.Relationship.MOTHER)

    idle = queries_of_run(local(first - dt.timedelta(days=40), 9))
    two = queries_of_run(local(first, 0, 10))  # 1 teen and 1 adult; no notice: the change is made
    six = queries_of_run(local(second, 0, 10))  # 3 and 3

    per_family = (six - two) / 2
    print(
        f"birthdays run: {idle} queries with nothing to do, {two} for 1 teen and 1 adult, {six} for 3 and 3"
    )
    assert per_family == two - idle == 2 * (QUERIES_A_PATIENT + QUERIES_AN_ACCESS) + QUERIES_A_STATUS_CHANGE
