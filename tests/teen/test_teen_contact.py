"""Staff put the patient's own email and phone on the chart (the SELF contact) for their own account."""

import pytest
from django.test import override_settings

from patients.models import FamilyContact, PatientContact
from registration.models import AuditEvent, Pin
from registration.services.errors import (
    InvalidAddress,
    OwnAccountNotAllowed,
    PatientNotInvitable,
    TeenAddressIsParents,
)
from registration.services.pins import pin_issue
from registration.services.teen_accounts import teen_contact_add
from tests.factories import PatientFactory
from tests.teen.conftest import born_years_ago

SELF = PatientContact.Relationship.SELF


def _self_links(patient):
    return list(PatientContact.objects.filter(patient=patient, relationship=SELF).select_related("contact"))


def test_the_patients_own_contact_is_added_with_their_name_and_their_parents_language(teen, staff):
    link = teen_contact_add(
        patient=teen, email=" ana.reyes@example.com ", cell_phone="(312) 555-0199", by=staff
    )

    assert link.relationship == SELF and link.patient == teen
    contact = FamilyContact.objects.get(pk=link.contact_id)
    assert (contact.first_name, contact.last_name) == ("Ana", "Reyes")
    assert (contact.email, str(contact.cell_phone)) == ("ana.reyes@example.com", "+13125550199")
    assert contact.preferred_language == "es"  # the mother's, the first parent on the chart
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.TEEN_CONTACT_ADDED)
    assert (event.patient, event.contact_id, event.actor) == (teen, contact.pk, staff)
    assert event.details == {"email": "ana.reyes@example.com", "cell_phone": "+13125550199", "created": True}


def test_a_patient_without_parents_on_the_chart_gets_english(staff):
    patient = PatientFactory(date_of_birth=born_years_ago(15))
    link = teen_contact_add(patient=patient, email="", cell_phone="312 555 0142", by=staff)
    assert (link.contact.preferred_language, link.contact.email) == ("en", "")


def test_a_second_call_changes_the_one_own_contact(teen, staff):
    first = teen_contact_add(patient=teen, email="ana@example.com", cell_phone="", by=staff)
    second = teen_contact_add(patient=teen, email="ana.r@example.com", cell_phone="3125550177", by=staff)

    assert second.pk == first.pk and second.contact_id == first.contact_id
    [link] = _self_links(teen)
    assert (link.contact.email, str(link.contact.cell_phone)) == ("ana.r@example.com", "+13125550177")
    last = AuditEvent.objects.filter(action=AuditEvent.Action.TEEN_CONTACT_ADDED).latest("pk")
    assert last.details["created"] is False
    assert last.details["before"] == {"email": "ana@example.com", "cell_phone": ""}


@pytest.mark.parametrize("which", ["mother", "father"])
def test_a_parents_email_is_refused_whatever_its_case(teen, staff, which):
    parent = getattr(teen, which).contact
    with pytest.raises(TeenAddressIsParents):
        teen_contact_add(patient=teen, email=parent.email.upper(), cell_phone="", by=staff)
    assert _self_links(teen) == []
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.TEEN_CONTACT_ADDED).exists()


def test_a_parents_cell_phone_is_refused_as_staff_type_it(teen, staff):
    typed = teen.mother.contact.cell_phone.as_national  # "(202) 555-0001", stored as E.164
    with pytest.raises(TeenAddressIsParents):
        teen_contact_add(patient=teen, email="ana@example.com", cell_phone=typed, by=staff)
    assert _self_links(teen) == []


def test_a_parents_address_is_refused_when_changing_the_own_contact_too(teen, staff):
    teen_contact_add(patient=teen, email="ana@example.com", cell_phone="", by=staff)
    with pytest.raises(TeenAddressIsParents):
        teen_contact_add(patient=teen, email=teen.father.contact.email, cell_phone="", by=staff)
    [link] = _self_links(teen)
    assert link.contact.email == "ana@example.com"


def test_under_the_teen_age_it_is_refused_with_the_age(staff):
    child = PatientFactory(date_of_birth=born_years_ago(11))
    with pytest.raises(OwnAccountNotAllowed, match="from age 12; this patient is 11"):
        teen_contact_add(patient=child, email="kid@example.com", cell_phone="", by=staff)
    assert _self_links(child) == []


@override_settings(ACCESS_POLICY="ID")
def test_a_policy_without_own_accounts_refuses_it(teen, staff):
    with pytest.raises(OwnAccountNotAllowed, match="no account of their own"):
        teen_contact_add(patient=teen, email="ana@example.com", cell_phone="", by=staff)


@override_settings(ACCESS_POLICY="OH")
def test_the_policys_teen_age_decides(staff):
    twelve = PatientFactory(date_of_birth=born_years_ago(12))
    with pytest.raises(OwnAccountNotAllowed, match="from age 13"):
        teen_contact_add(patient=twelve, email="kid@example.com", cell_phone="", by=staff)


@pytest.mark.parametrize(
    ("email", "phone", "says"),
    [
        ("", "", "email, cell phone, or both"),
        ("not an email", "", "valid email"),
        ("ana@example.com", "555", "valid cell phone"),
    ],
)
def test_an_invalid_or_missing_address_is_refused(teen, staff, email, phone, says):
    with pytest.raises(InvalidAddress, match=says):
        teen_contact_add(patient=teen, email=email, cell_phone=phone, by=staff)
    assert _self_links(teen) == []


def test_a_deceased_patient_gets_no_own_contact(teen, staff):
    teen.deceased = True
    teen.save(update_fields=["deceased"])
    with pytest.raises(PatientNotInvitable):
        teen_contact_add(patient=teen, email="ana@example.com", cell_phone="", by=staff)


def test_a_changed_own_address_ends_the_pin_sent_to_the_old_one(teen, staff):
    link = teen_contact_add(patient=teen, email="ana@exmaple.com", cell_phone="", by=staff)  # mistyped
    issued = pin_issue(patient=teen, contact=link.contact, path="chart", by=staff)
    teen_contact_add(patient=teen, email="ana@example.com", cell_phone="", by=staff)
    assert Pin.objects.get(pk=issued.pin.pk).end_reason == Pin.EndReason.SUPERSEDED
    last = AuditEvent.objects.filter(action=AuditEvent.Action.TEEN_CONTACT_ADDED).latest("pk")
    assert last.details["revoked_pin_ids"] == [issued.pin.pk]
    teen_contact_add(patient=teen, email="ana@example.com", cell_phone="", by=staff)  # the same again
    assert (
        "revoked_pin_ids"
        not in AuditEvent.objects.filter(action=AuditEvent.Action.TEEN_CONTACT_ADDED).latest("pk").details
    )
