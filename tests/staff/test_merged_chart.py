"""What staff see of a chart the EHR merged into another: a banner on the merged chart pointing at the
survivor, the merged chart's history on the survivor's page, and the reason a merge ended a PIN."""

import datetime as dt
import re

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from patients.models import PatientContact
from registration.models import Pin, WelcomeMessage
from registration.services.patient_merges import patient_merge
from registration.services.pins import pin_issue
from registration.services.welcome_invites import welcome_invite
from tests.factories import PatientContactFactory, PatientFactory
from tests.staff.test_query_counts import queries_for

pytestmark = pytest.mark.django_db
BORN = dt.date(2019, 5, 4)
MERGED_ON = timezone.make_aware(dt.datetime(2026, 3, 2, 10, 0))


@pytest.fixture
def merged_charts(staff):
    """Ana Quist's two charts: the father's (with a PIN issued on it) merged into the mother's."""
    mother = PatientContactFactory(
        patient__date_of_birth=BORN, patient__first_name="Ana", patient__last_name="Quist"
    )
    father = PatientContactFactory(
        patient=PatientFactory(date_of_birth=BORN, first_name="Ana", last_name="Quist"),
        relationship=PatientContact.Relationship.FATHER,
    )
    pin_issue(patient=father.patient, contact=father.contact, path="chart", by=staff)
    with transaction.atomic():
        patient_merge(survivor=mother.patient, merged=father.patient, now=MERGED_ON, details={"hl7": "M1"})
    return mother, father


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode()))


def test_the_merged_chart_says_where_it_went(admin_client, merged_charts):
    mother, father = merged_charts

    response = admin_client.get(reverse("staff:patient-chart", args=[father.patient.pk]))

    survivor_url = reverse("staff:patient-chart", args=[mother.patient.pk])
    assert f'href="{survivor_url}"' in response.content.decode()
    assert f"Merged into Ana Quist ({mother.patient.mrn}) on Mar 2, 2026." in _text(response)


def test_the_survivors_chart_has_no_banner(admin_client, merged_charts):
    mother, _ = merged_charts

    response = admin_client.get(reverse("staff:patient-chart", args=[mother.patient.pk]))

    assert 'id="merged-into"' not in response.content.decode()


def test_the_survivors_history_includes_the_merged_charts_events(admin_client, merged_charts):
    """The PIN issued on the duplicate chart, and the merge recorded on both charts."""
    mother, father = merged_charts

    text = _text(admin_client.get(reverse("staff:patient-chart", args=[mother.patient.pk])))

    said = f"(chart {father.patient.mrn} into chart {mother.patient.mrn})"
    assert text.count(f"Chart merged into another by the EHR {said}") == 2
    assert f"PIN issued (on merged chart {father.patient.mrn}) (chart family contacts)" in text


def test_the_chart_pages_run_as_many_queries_as_before(admin_client, merged_charts):
    """The counts tests/staff/test_not_invitable_pages.py asserts for any chart, merged or surviving."""
    mother, father = merged_charts
    for patient in (mother.patient, father.patient):
        assert queries_for(admin_client, f"/staff/patients/{patient.pk}/") == 8


def test_a_pin_the_merge_ended_says_why(admin_client, staff):
    """The welcome message of a PIN the survivor already had for the person names the merge."""
    mother = PatientContactFactory(patient__date_of_birth=BORN)
    duplicate = PatientFactory(date_of_birth=BORN)
    PatientContactFactory(patient=duplicate, contact=mother.contact)
    pin_issue(patient=mother.patient, contact=mother.contact, path="chart", by=staff)
    message = welcome_invite(
        patient=duplicate,
        contact=mother.contact,
        channel=WelcomeMessage.Channel.EMAIL,
        address=mother.contact.email,
        by=staff,
    )
    with transaction.atomic():
        patient_merge(survivor=mother.patient, merged=duplicate, now=timezone.now(), details={})
    assert Pin.objects.get(pk=message.pin_id).end_reason == Pin.EndReason.MERGED

    text = _text(admin_client.get(reverse("staff:welcome-message", args=[message.pk])))
    chart = _text(admin_client.get(reverse("staff:patient-chart", args=[mother.patient.pk])))

    assert (
        "(ended: The chart was merged into another that had a PIN for this person or another birth date)"
        in text
    )
    assert f"Portal access ended (PIN ended by the merge of chart {duplicate.mrn})" in chart
