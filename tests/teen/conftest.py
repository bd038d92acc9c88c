import datetime as dt

import pytest
from django.utils import timezone

from patients.models import PatientContact
from tests.factories import PatientContactFactory, PatientFactory


def born_years_ago(years: int, *, days: int = 30) -> dt.date:
    """A date of birth of someone `years` old today, whose birthday was about `days` ago."""
    today = timezone.localdate()
    return dt.date(today.year - years, today.month, min(today.day, 28)) - dt.timedelta(days=days)


@pytest.fixture
def teen(db):
    """A 14-year-old on the chart with their mother (English) and father (Spanish)."""
    patient = PatientFactory(first_name="Ana", last_name="Reyes", date_of_birth=born_years_ago(14))
    mother = PatientContactFactory(
        patient=patient, relationship=PatientContact.Relationship.MOTHER, contact__preferred_language="es"
    )
    father = PatientContactFactory(patient=patient, relationship=PatientContact.Relationship.FATHER)
    patient.mother, patient.father = mother, father
    return patient
