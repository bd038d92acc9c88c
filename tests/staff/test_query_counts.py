"""Each staff page runs a number of SQL queries that does not grow with the rows it shows: at most 8,
session and user included (issue 6; one query since issue 17)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registration.services.accounts import NewAccount
from registration.services.pins import pin_issue
from registration.services.self_registration import ChildDetails
from registration.statistics.snapshots import statistics_snapshot_take
from tests.factories import (
    AppointmentFactory,
    FamilyContactFactory,
    PatientContactFactory,
    PatientFactory,
    confirmed_self_registration,
)

MOST_QUERIES_A_PAGE = 8


@pytest.fixture(autouse=True)
def fresh_snapshot(settings):
    """As in production: the registration counts and duplicate pairs come from a statistics snapshot
    the worker keeps fresh (the test settings retake it on every page, so that other tests read their
    own changes)."""
    settings.STATISTICS_MAX_AGE = 3600


def queries_for(client, url, *, most: int = MOST_QUERIES_A_PAGE) -> int:
    statistics_snapshot_take()  # what the task worker did a moment ago
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    print(f"{url}: {len(captured)} queries")
    assert len(captured) <= most
    return len(captured)


def _pin_for_every_other(links, staff):
    for link in links[::2]:
        pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff)


def _sign_up(n, *, dob=dt.date(2019, 5, 1), last_name="Rowe"):
    return confirmed_self_registration(
        children=[ChildDetails(f"Kid{n}", last_name, dob)],
        new_account=NewAccount(
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
    # session with its user, appointments, Register all's reachable contacts, the waiting sign-ups
    # that would hold a message back and the day's run, awaiting count
    assert queries_for(admin_client, "/staff/") == 6


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_statistics_queries_do_not_grow(rows, admin_client, staff):
    links = [PatientContactFactory() for _ in range(rows)]
    _pin_for_every_other(links, staff)
    for n in range(min(rows, 30)):
        _sign_up(n)
    # session with its user, snapshot, requests by stage
    assert queries_for(admin_client, "/staff/statistics/") == 3


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_request_queue_queries_do_not_grow(rows, admin_client):
    for n in range(min(rows, 40)):
        _sign_up(n)
    # session with its user, a page of requests
    assert queries_for(admin_client, "/staff/requests/") == 2
    assert queries_for(admin_client, "/staff/requests/?stage=&page=2") == 2


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["", "not_registered", "pin_expired", "pending", "registered"])
def test_patient_list_by_status_queries_do_not_grow(status, admin_client, staff, practice_in_every_state):
    practice_in_every_state(staff, each=30)
    # session with its user, patients with status, their contacts (each with its account, if any)
    assert queries_for(admin_client, f"/staff/patients/?status={status}") == 3


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_patient_search_queries_do_not_grow(rows, admin_client):
    for i in range(rows):
        PatientContactFactory(patient=PatientFactory(last_name=f"Smithson{i}"))
    # session with its user, patients with status, their contacts (each with its account, if any)
    assert queries_for(admin_client, "/staff/patients/?q=smith") == 3


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_chart_queries_do_not_grow(rows, admin_client, staff):
    patient = PatientFactory()
    links = [PatientContactFactory(patient=patient) for _ in range(rows // 10)]
    for i in range(rows):
        AppointmentFactory(patient=patient, starts_at=timezone.now() - dt.timedelta(days=i))
    for _ in range(rows // 20):
        for link in links:
            pin_issue(patient=patient, contact=link.contact, path="chart", by=staff)
    for n in range(rows // 20):  # waiting sign-ups naming the child
        _sign_up(n, dob=patient.date_of_birth, last_name=patient.last_name)
    # session with its user, patient with status and restrictions (issue 17: they were a ninth query),
    # contacts with PIN, access and restriction, appointments, welcome messages, history, waiting
    # sign-ups that match, and the Access panel's accesses (ended ones too)
    assert queries_for(admin_client, f"/staff/patients/{patient.pk}/") == 8


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_appointment_window_queries_do_not_grow(rows, admin_client):
    patient = PatientFactory()
    for _ in range(rows // 10):
        PatientContactFactory(patient=patient)
    appointment = AppointmentFactory(patient=patient)
    for n in range(rows // 20):  # waiting sign-ups naming the child
        _sign_up(n, dob=patient.date_of_birth, last_name=patient.last_name)
    # session with its user, appointment, patient with status, contacts, appointments, messages,
    # waiting sign-ups that match
    assert queries_for(admin_client, f"/staff/appointments/{appointment.pk}/") == 7


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_reconcile_queries_do_not_grow(rows, admin_client):
    request = _sign_up(9999, dob=dt.date(2018, 3, 3), last_name="Quinn")
    for _ in range(rows):
        PatientContactFactory(patient=PatientFactory(date_of_birth=dt.date(2018, 3, 3)))
    # session with its user, request, codes the parent entered, candidates, their contacts, the
    # contacts' existing accounts, the restrictions keeping any of them from the child
    assert queries_for(admin_client, f"/staff/requests/{request.pk}/") == 7


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_duplicates_queries_do_not_grow(rows, admin_client):
    # Pairs of accounts sharing a cell phone.
    for n in range(rows // 2):
        for twin in range(2):
            confirmed_self_registration(
                children=[ChildDetails("A", "B", dt.date(2020, 1, 1))],
                new_account=NewAccount(
                    email=f"twin{n}-{twin}@example.org",
                    password="x" * 16,
                    first_name="T",
                    last_name="W",
                    cell_phone=f"+1312555{n:04d}",
                ),
            )
    # session with its user, snapshot, accounts, their accesses, their waiting requests, the accounts
    # disabled last
    assert queries_for(admin_client, "/staff/duplicates/") == 6


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_audit_queries_do_not_grow(rows, admin_client, staff):
    patient = PatientFactory()
    contacts = [FamilyContactFactory() for _ in range(rows)]
    for contact in contacts:
        PatientContactFactory(patient=patient, contact=contact)
        pin_issue(patient=patient, contact=contact, path="chart", by=staff)
    # session with its user, patients named, actors for the filter, count, events
    assert queries_for(admin_client, f"/staff/audit/?patient={patient.mrn}") == 5
    assert queries_for(admin_client, f"/staff/audit/?patient={patient.last_name}") == 5
    # session with its user, users with the email, contacts with it, actors, count, events
    assert queries_for(admin_client, f"/staff/audit/?email={contacts[0].email}") == 6
