"""What a restricted parent sees on the portal: exactly what anyone sees whose PIN does not match, and
nothing about a restriction anywhere."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import PatientContact
from registration.models import AccessRestriction, AuditEvent, PortalAccount
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.restrictions import restriction_create
from tests.factories import NewAccountFactory, PatientContactFactory
from tests.portal.test_portal_views import account_fields

pytestmark = pytest.mark.django_db
HINTS = re.compile(rb"restrict|court|order|custody|protect", re.IGNORECASE)


@pytest.fixture
def family(db):
    mother = PatientContactFactory(patient__date_of_birth=dt.date(2017, 2, 11))
    father = PatientContactFactory(patient=mother.patient, relationship=PatientContact.Relationship.FATHER)
    return mother, father


def restrict(link, admin):
    return restriction_create(
        patient=link.patient,
        contact=link.contact,
        basis=AccessRestriction.Basis.COURT_ORDER,
        starts_on=timezone.localdate(),
        by=admin,
    )


def page_text(response, typed_pin: str) -> bytes:
    """The page without what differs on every request (the CSRF token) and the PIN typed, shown back."""
    page = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)
    return page.replace(typed_pin.encode(), b"[PIN]")


def test_a_restricted_parents_pin_gets_the_same_page_as_a_pin_that_does_not_exist(
    client, family, staff, admin
):
    _, father = family
    issued = pin_issue(patient=father.patient, contact=father.contact, path="chart", by=staff)
    restrict(father, admin)
    born = father.patient.date_of_birth.isoformat()
    restricted = client.post(
        reverse("portal:pin-start"),
        {"pin": issued.code, "child_birth_date": born} | account_fields(email=father.contact.email),
    )
    unknown = client.post(
        reverse("portal:pin-start"),
        {"pin": "ZZZZ-ZZZZ-ZZZZ", "child_birth_date": born} | account_fields(email=father.contact.email),
    )
    assert restricted.status_code == unknown.status_code == 200
    assert page_text(restricted, issued.code) == page_text(unknown, "ZZZZ-ZZZZ-ZZZZ")
    assert not HINTS.search(restricted.content)
    assert not PortalAccount.objects.exists()


def test_the_other_parents_pin_typed_by_the_restricted_parent_answers_as_a_mismatch_and_the_practice_sees_it(
    client, family, staff, admin
):
    mother, father = family
    issued = pin_issue(patient=mother.patient, contact=mother.contact, path="chart", by=staff)
    restrict(father, admin)
    response = client.post(
        reverse("portal:pin-start"),
        {"pin": issued.code, "child_birth_date": mother.patient.date_of_birth.isoformat()}
        | account_fields(email=father.contact.email),
    )
    assert b"don&#x27;t match our records" in response.content
    assert not HINTS.search(response.content)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RESTRICTION_REFUSED).count() == 1


def test_a_restricted_parent_signed_in_no_longer_sees_the_child_and_reads_no_reason(
    client, family, staff, admin
):
    _, father = family
    sibling = PatientContactFactory(contact=father.contact)  # a child the order does not cover
    account = pin_redeem(
        code=pin_issue(patient=father.patient, contact=father.contact, path="chart", by=staff).code,
        child_birth_date=father.patient.date_of_birth,
        new_account=NewAccountFactory(email=father.contact.email),
    ).account
    pin_redeem(
        code=pin_issue(patient=sibling.patient, contact=father.contact, path="chart", by=staff).code,
        child_birth_date=sibling.patient.date_of_birth,
        account=account,
    )
    account.email_verified_at = timezone.now()
    account.save(update_fields=["email_verified_at"])
    client.force_login(account.user)
    before = client.get(reverse("portal:home"))
    assert father.patient.first_name.encode() in before.content

    restrict(father, admin)
    after = client.get(reverse("portal:home"))
    assert after.status_code == 200
    assert father.patient.first_name.encode() not in after.content
    assert sibling.patient.first_name.encode() in after.content
    assert not HINTS.search(after.content)
