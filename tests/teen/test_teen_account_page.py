"""The staff page of a patient's own account: the policy, the patient's own email and phone, the
choice told in person; and the chart's row for the patient's own contact."""

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.models import PatientContact
from registration.models import AuditEvent, ParentLevelChoice
from tests.factories import PatientContactFactory, PatientFactory, StaffFactory
from tests.teen.conftest import born_years_ago

SELF = PatientContact.Relationship.SELF


@pytest.fixture
def front_desk(client, db):
    client.force_login(StaffFactory())
    return client


def _self_links(patient):
    return PatientContact.objects.filter(patient=patient, relationship=SELF)


def test_the_page_shows_the_policy_with_its_source(front_desk, teen):
    page = front_desk.get(reverse("staff:teen-account", args=[teen.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Age 12" in text and "Allowed from 12" in text and "Age of majority" in text
    assert "Limited: scheduling, messages and billing, no clinical record" in text
    assert "Cal. Health &amp; Safety Code §123110(a)" in text
    assert 'name="email"' in text


def test_staff_add_the_patients_own_email_and_go_back_to_the_chart(front_desk, teen):
    answer = front_desk.post(
        reverse("staff:teen-account", args=[teen.pk]), {"email": "ana@example.com", "cell_phone": ""}
    )
    assert answer.status_code == 302 and answer.url == reverse("staff:patient-chart", args=[teen.pk])
    [link] = _self_links(teen)
    chart = front_desk.get(answer.url).content.decode()
    assert "own email and phone are on the chart" in chart
    # The chart's row for the patient's own contact: their name, "The patient", and Generate PIN.
    assert "The patient" in chart and "ana@example.com" in chart
    assert reverse("staff:pin-generate", args=[teen.pk, link.contact_id]) in chart


def test_a_parents_email_is_refused_with_the_reason_and_nothing_saved(front_desk, teen):
    answer = front_desk.post(
        reverse("staff:teen-account", args=[teen.pk]),
        {"email": teen.mother.contact.email, "cell_phone": ""},
    )
    assert answer.status_code == 409
    assert "belongs to a parent on file" in answer.content.decode()
    assert not _self_links(teen).exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.TEEN_CONTACT_ADDED).exists()


def test_under_the_teen_age_the_page_says_why_and_offers_no_form(front_desk):
    child = PatientFactory(date_of_birth=born_years_ago(9))
    text = front_desk.get(reverse("staff:teen-account", args=[child.pk])).content.decode()
    assert "from age 12; this patient is 9" in text and 'name="email"' not in text
    refused = front_desk.post(
        reverse("staff:teen-account", args=[child.pk]), {"email": "kid@example.com", "cell_phone": ""}
    )
    assert refused.status_code == 409 and not _self_links(child).exists()


@override_settings(ACCESS_POLICY="ID")
def test_a_policy_without_teen_years_says_so(front_desk, teen):
    text = front_desk.get(reverse("staff:teen-account", args=[teen.pk])).content.decode()
    assert "No teen years" in text and "no account of their own" in text
    assert reverse("staff:teen-parent-level", args=[teen.pk]) not in text


def test_staff_record_the_choice_made_in_person(front_desk, teen):
    answer = front_desk.post(reverse("staff:teen-parent-level", args=[teen.pk]), {"level": "none"})
    assert answer.status_code == 302
    choice = ParentLevelChoice.objects.get(patient=teen)
    assert (choice.level, choice.how) == ("none", "in_person")
    text = front_desk.get(answer.url).content.decode()
    assert "chose <strong>none</strong>" in text and "in person, recorded by" in text


def test_a_missing_patient_is_not_found(front_desk):
    assert front_desk.get(reverse("staff:teen-account", args=[999999])).status_code == 404


def test_a_parent_cannot_open_the_page(client, make_portal_account):
    account = make_portal_account()
    client.force_login(account.user, backend="accounts.backends.RolesModelBackend")
    patient = account.accesses.get().patient
    answer = client.get(reverse("staff:teen-account", args=[patient.pk]))
    assert answer.status_code in (302, 403)


def test_the_page_reads_the_same_queries_for_one_parent_or_three(front_desk, teen, make_portal_account):
    url = reverse("staff:teen-account", args=[teen.pk])
    make_portal_account(teen.mother)
    with CaptureQueriesContext(connection) as one:
        assert "<td>Limited" in front_desk.get(url).content.decode()
    make_portal_account(teen.father)
    make_portal_account(PatientContactFactory(patient=teen, relationship="grandparent"))
    with CaptureQueriesContext(connection) as three:
        assert front_desk.get(url).content.decode().count("<td>Limited") == 3
    assert len(three) == len(one)
