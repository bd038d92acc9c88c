"""Each staff page runs a number of SQL queries that does not grow with the rows it shows."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registration import services
from tests.factories import AppointmentFactory, FamilyContactFactory, PatientContactFactory, PatientFactory


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(captured)


def _pin_for_every_other(links, staff):
    for link in links[::2]:
        services.pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff)


def _sign_up(n, *, dob=dt.date(2019, 5, 1), last_name="Rowe"):
    return services.self_registration_submit(
        children=[services.ChildDetails(f"Kid{n}", last_name, dob)],
        new_account=services.NewAccount(
            email=f"sign-up{n}@example.org",
            password="x" * 16,
            first_name="P",
            last_name=last_name,
            cell_phone=f"+1202555{n:04d}",
        ),
    )[0]


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_dashboard_queries_do_not_grow(rows, admin_client, staff):
    start = timezone.localtime().replace(hour=8, minute=0)
    links = [PatientContactFactory() for _ in range(rows)]
    for i, link in enumerate(links):
        AppointmentFactory(patient=link.patient, starts_at=start + dt.timedelta(minutes=i))
    _pin_for_every_other(links, staff)
    for n in range(min(rows, 30)):
        _sign_up(n)
    # session, user, roles, appointments, 4 counts + patients total, weekly chart, awaiting list
    assert queries_for(admin_client, "/staff/") == 11


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_patient_search_queries_do_not_grow(rows, admin_client):
    for i in range(rows):
        PatientContactFactory(patient=PatientFactory(last_name=f"Smithson{i}"))
    assert queries_for(admin_client, "/staff/patients/?q=smith") == 6


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_chart_queries_do_not_grow(rows, admin_client, staff):
    patient = PatientFactory()
    links = [PatientContactFactory(patient=patient) for _ in range(rows // 10)]
    for i in range(rows):
        AppointmentFactory(patient=patient, starts_at=timezone.now() - dt.timedelta(days=i))
    for _ in range(rows // 20):
        for link in links:
            services.pin_issue(patient=patient, contact=link.contact, path="chart", by=staff)
    assert queries_for(admin_client, f"/staff/patients/{patient.pk}/") == 10


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_appointment_window_queries_do_not_grow(rows, admin_client):
    patient = PatientFactory()
    for _ in range(rows // 10):
        PatientContactFactory(patient=patient)
    appointment = AppointmentFactory(patient=patient)
    assert queries_for(admin_client, f"/staff/appointments/{appointment.pk}/") == 10


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_reconcile_queries_do_not_grow(rows, admin_client):
    request = _sign_up(9999, dob=dt.date(2018, 3, 3), last_name="Quinn")
    for _ in range(rows):
        PatientContactFactory(patient=PatientFactory(date_of_birth=dt.date(2018, 3, 3)))
    assert queries_for(admin_client, f"/staff/requests/{request.pk}/") == 6


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_duplicates_queries_do_not_grow(rows, admin_client):
    # Pairs of accounts sharing a cell phone.
    for n in range(rows // 2):
        for twin in range(2):
            services.self_registration_submit(
                children=[services.ChildDetails("A", "B", dt.date(2020, 1, 1))],
                new_account=services.NewAccount(
                    email=f"twin{n}-{twin}@example.org",
                    password="x" * 16,
                    first_name="T",
                    last_name="W",
                    cell_phone=f"+1312555{n:04d}",
                ),
            )
    assert queries_for(admin_client, "/staff/duplicates/") == 10


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_audit_queries_do_not_grow(rows, admin_client, staff):
    patient = PatientFactory()
    contacts = [FamilyContactFactory() for _ in range(rows)]
    for contact in contacts:
        PatientContactFactory(patient=patient, contact=contact)
        services.pin_issue(patient=patient, contact=contact, path="chart", by=staff)
    assert queries_for(admin_client, f"/staff/audit/?mrn={patient.mrn}") == 7
