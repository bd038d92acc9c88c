"""The chart's Access panel: who sees a child (live and ended accesses), who is kept from it and why, the
policy; a restricted contact's row says why instead of offering Generate PIN."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patients.models import Patient, PatientContact
from registration.access_policy import access_policy, birthday
from registration.models import AccessBasis, AccessRestriction, AuditEvent, PortalAccess
from registration.selectors.access_panel import access_panel, with_restrictions
from registration.services.access_changes import AccessBasisNotChanged, access_basis_change
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.restrictions import restriction_create, restriction_lift
from tests.factories import (
    AppointmentFactory,
    NewAccountFactory,
    PatientContactFactory,
    PatientFactory,
    StaffFactory,
    admin_user,
)

pytestmark = pytest.mark.django_db


def _registered(link, staff, **account):
    issued = pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff)
    return pin_redeem(
        code=issued.code,
        child_birth_date=link.patient.date_of_birth,
        new_account=NewAccountFactory(**account),
    )


def _chart(client, patient):
    response = client.get(f"/staff/patients/{patient.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_panel_lists_live_and_ended_accesses_with_their_ends(admin_client):
    staff = admin_user()
    patient = PatientFactory(date_of_birth=dt.date(2016, 5, 9))
    mother = PatientContactFactory(patient=patient, contact__first_name="Rosa", contact__last_name="Diaz")
    father = PatientContactFactory(
        patient=patient,
        contact__first_name="Tomas",
        contact__last_name="Diaz",
        relationship=PatientContact.Relationship.FATHER,
    )
    _registered(mother, staff, email="rosa@example.net")
    _registered(father, staff, email="tomas@example.net")
    restriction_create(
        patient=patient,
        contact=father.contact,
        basis=AccessRestriction.Basis.COURT_ORDER,
        starts_on=timezone.localdate(),
        by=staff,
        note="Order 24-FC-118",
    )

    page = _chart(admin_client, patient)

    majority = birthday(patient.date_of_birth, access_policy().majority_age)
    assert "rosa@example.net" in page and "tomas@example.net" in page
    assert f"{majority:%b} {majority.day}, {majority.year}" in page  # the parent's access ends at majority
    assert "the patient&#x27;s majority" in page
    assert "Ended" in page and "a restriction was recorded" in page  # the father's, with its reason
    assert f"Restricted by court order since {timezone.localdate():%m/%d/%Y}" in page
    assert "Order 24-FC-118" in page and "In effect" in page
    assert f"At {access_policy().majority_age} a parent" in page


def test_restricted_contact_row_shows_the_reason_instead_of_generate_pin(front_desk_client):
    link = PatientContactFactory(contact__first_name="Tomas", contact__last_name="Diaz")
    other = PatientContactFactory(patient=link.patient, contact__first_name="Rosa", contact__last_name="Diaz")
    restriction_create(
        patient=link.patient,
        contact=link.contact,
        basis=AccessRestriction.Basis.PROTECTIVE_ORDER,
        starts_on=dt.date(2026, 3, 2),
        by=admin_user(),
    )

    page = _chart(front_desk_client, link.patient)

    assert "Restricted by protective order since 03/02/2026" in page
    assert 'aria-label="Generate PIN for Tomas Diaz"' not in page
    assert 'aria-label="Generate PIN for Rosa Diaz"' in page
    assert other.contact.full_name in page


def test_search_results_and_the_appointment_window_show_the_reason_too(front_desk_client):
    link = PatientContactFactory(
        patient__last_name="Quennell", contact__first_name="Tomas", contact__last_name="Diaz"
    )
    PatientContactFactory(patient=link.patient, contact__first_name="Rosa", contact__last_name="Diaz")
    appointment = AppointmentFactory(patient=link.patient)
    restriction_create(
        patient=link.patient,
        contact=link.contact,
        basis=AccessRestriction.Basis.PROTECTIVE_ORDER,
        starts_on=dt.date(2026, 3, 2),
        by=admin_user(),
    )

    found = front_desk_client.get("/staff/patients/?q=quennell").content.decode()
    window = front_desk_client.get(f"/staff/appointments/{appointment.pk}/").content.decode()

    for page in (found, window):
        assert "Restricted by protective order since 03/02/2026" in page
        assert "Generate PIN for Tomas Diaz" not in page
        assert "Generate PIN for Rosa Diaz" in page


def test_lifted_restriction_is_listed_with_its_reason_and_the_row_offers_a_pin_again(front_desk_client):
    link = PatientContactFactory(contact__first_name="Tomas", contact__last_name="Diaz")
    admin = admin_user()
    restriction = restriction_create(
        patient=link.patient,
        contact=link.contact,
        basis=AccessRestriction.Basis.COURT_ORDER,
        starts_on=dt.date(2026, 3, 2),
        by=admin,
    )
    restriction_lift(restriction=restriction, by=admin, reason="Order vacated on appeal")

    page = _chart(front_desk_client, link.patient)

    assert "Lifted" in page and "Order vacated on appeal" in page
    assert 'aria-label="Generate PIN for Tomas Diaz"' in page


def test_front_desk_sees_the_panel_but_no_admin_forms(front_desk_client):
    link = PatientContactFactory()
    _registered(link, StaffFactory())
    restriction_create(
        patient=link.patient,
        contact=PatientContactFactory(patient=link.patient).contact,
        basis=AccessRestriction.Basis.COURT_ORDER,
        starts_on=timezone.localdate(),
        by=admin_user(),
        document=_pdf(),
    )

    page = _chart(front_desk_client, link.patient)

    assert 'id="access"' in page
    assert "/restrict/" not in page and "/lift/" not in page and "/basis/" not in page
    assert "/document/" not in page


def test_admin_sees_a_restriction_form_per_contact_and_a_keep_form_per_live_parent(admin_client):
    link = PatientContactFactory(contact__first_name="Rosa", contact__last_name="Diaz")
    access = _registered(link, StaffFactory())

    page = _chart(admin_client, link.patient)

    assert f"/staff/patients/{link.patient.pk}/contacts/{link.contact.pk}/restrict/" in page
    assert f"This ends Rosa Diaz's PIN and portal access to {link.patient.full_name} now" in page
    assert f"/staff/accesses/{access.pk}/basis/" in page


def test_own_account_link_follows_the_policy(admin_client, settings):
    teen = PatientFactory(date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 15))
    url = f"/staff/patients/{teen.pk}/own-account/"
    assert url in _chart(admin_client, teen)
    settings.ACCESS_POLICY = "ID"  # no teen years, no own accounts
    assert url not in _chart(admin_client, teen)


def _pdf(name="order.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 court order\n%%EOF", content_type="application/pdf")


@pytest.fixture(autouse=True)
def _documents_in_tmp(settings, tmp_path):
    settings.RESTRICTION_DOCUMENT_DIR = tmp_path


def _queries(client, patient) -> int:
    with CaptureQueriesContext(connection) as captured:
        _chart(client, patient)
    return len(captured)


def _patient_with(n: int):
    staff, admin = StaffFactory(), admin_user()
    patient = PatientFactory()
    for i in range(n):
        link = PatientContactFactory(patient=patient)
        _registered(link, staff)
        restricted = PatientContactFactory(patient=patient)
        _registered(restricted, staff)
        restriction = restriction_create(
            patient=patient,
            contact=restricted.contact,
            basis=AccessRestriction.Basis.COURT_ORDER,
            starts_on=timezone.localdate() - dt.timedelta(days=i),
            by=admin,
            document=_pdf(),
        )
        if i % 2:
            restriction_lift(restriction=restriction, by=admin, reason="Vacated")
    return patient


def test_chart_query_count_does_not_grow_with_accesses_and_restrictions(admin_client):
    one, five = _patient_with(1), _patient_with(5)
    assert PortalAccess.history.filter(patient=five).count() == 10
    assert _queries(admin_client, one) == _queries(admin_client, five)


def test_restrictions_read_with_the_patient_are_the_rows_themselves():
    """Read as JSON in the patient's query (issue 17), each restriction has every field the panel shows as
    it has when read on its own, its times in their zone, its contact's name and its staff's usernames."""
    patient = _patient_with(3)
    AccessRestriction.objects.filter(patient=patient).update(review_on=dt.date(2027, 1, 4))
    read = with_restrictions(Patient.objects.filter(pk=patient.pk)).get()
    stored = AccessRestriction.objects.filter(patient=patient).select_related(
        "contact", "created_by", "lifted_by"
    )
    expected = sorted(stored, key=lambda r: (r.starts_on, r.pk), reverse=True)
    shown = [
        "pk",
        "basis",
        "starts_on",
        "ends_on",
        "review_on",
        "note",
        "created_at",
        "lifted_at",
        "lift_reason",
    ]

    with CaptureQueriesContext(connection) as more:
        got = [line.restriction for line in access_panel(read, day=timezone.localdate()).restrictions]
        got_fields = [[getattr(r, name) for name in shown] for r in got]
        got_people = [
            (
                r.contact.full_name,
                r.created_by.get_username(),
                r.lifted_by and r.lifted_by.get_username(),
                r.document.name,
            )
            for r in got
        ]

    print(f"{len(got)} restrictions read with the patient, {len(more)} queries for the panel")
    assert len(more) == 1  # the accesses
    assert got_fields == [[getattr(r, name) for name in shown] for r in expected]
    assert all(r.created_at.utcoffset() is not None for r in got)
    assert got_people == [
        (
            r.contact.full_name,
            r.created_by.get_username(),
            r.lifted_by and r.lifted_by.get_username(),
            r.document.name,
        )
        for r in expected
    ]
    assert len(got) == 3 and any(r.lifted_by for r in got) and any(r.lifted_by is None for r in got)


def test_access_basis_change_keeps_a_parents_access_and_audits_it():
    link = PatientContactFactory()
    access = _registered(link, StaffFactory())
    admin = admin_user()

    changed = access_basis_change(
        access=access, basis=AccessBasis.ADULT_CONSENT, by=admin, note="Signed form"
    )

    assert PortalAccess.objects.get(pk=access.pk).basis == AccessBasis.ADULT_CONSENT == changed.basis
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_BASIS_CHANGED)
    assert event.actor == admin and event.patient_id == link.patient_id
    assert event.details == {
        "access_id": access.pk,
        "from": "parent",
        "to": "adult_consent",
        "note": "Signed form",
    }


@pytest.mark.parametrize(
    ("basis", "note"), [(AccessBasis.SELF, "x"), (AccessBasis.PARENT, "x"), (AccessBasis.GUARDIAN, "  ")]
)
def test_access_basis_change_refuses_other_bases_and_a_missing_note(basis, note):
    access = _registered(PatientContactFactory(), StaffFactory())
    with pytest.raises(AccessBasisNotChanged):
        access_basis_change(access=access, basis=basis, by=admin_user(), note=note)
    assert PortalAccess.objects.get(pk=access.pk).basis == AccessBasis.PARENT
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_BASIS_CHANGED).exists()


def test_access_basis_change_refuses_an_ended_access():
    link = PatientContactFactory()
    access = _registered(link, StaffFactory())
    restriction_create(
        patient=link.patient,
        contact=link.contact,
        basis=AccessRestriction.Basis.COURT_ORDER,
        starts_on=timezone.localdate(),
        by=admin_user(),
    )
    with pytest.raises(AccessBasisNotChanged, match="ended"):
        access_basis_change(access=access, basis=AccessBasis.GUARDIAN, by=admin_user(), note="Order")
