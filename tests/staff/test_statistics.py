"""The Statistics page as a working page: registration counts whose tiles lead to the lists they count,
the request queue on its own page, and waiting sign-ups shown on the chart and appointment window before
any click (issue 13)."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from registration import selectors
from registration.models import SelfRegistrationRequest
from registration.services.accounts import NewAccount
from registration.services.pins import pin_issue
from registration.services.self_registration import (
    ChildDetails,
    self_registration_decline,
    self_registration_submit,
)
from registration.statistics.counts import RegistrationCounts
from registration.statistics.snapshots import statistics_latest, statistics_snapshot_take
from tests.factories import (
    AppointmentFactory,
    FamilyContactFactory,
    PatientContactFactory,
    PatientFactory,
    confirmed_self_registration,
)

pytestmark = pytest.mark.django_db


def _sign_up(
    *, child=("Amelia", "Castellano"), born=dt.date(2019, 4, 17), email="maria@example.org", phone=""
):
    return confirmed_self_registration(
        children=[ChildDetails(child[0], child[1], born)],
        new_account=NewAccount(
            email=email, password="x" * 16, first_name="Maria", last_name="Lopez", cell_phone=phone
        ),
    )[0]


def _unconfirmed_sign_up(**child):
    return self_registration_submit(
        children=[ChildDetails(*child.get("child", ("Amelia", "Castellano")), dt.date(2019, 4, 17))],
        new_account=NewAccount(
            email="typed@example.org", password="x" * 16, first_name="Anyone", last_name="Typing"
        ),
    )[0]


def _counts(**counts) -> RegistrationCounts:
    return RegistrationCounts(expired_pins=0, **counts)


# ---------------------------------------------------------------- selectors


def test_percent_registered_with_no_patients_is_none_not_a_division_by_zero():
    assert _counts(registered=0, pending=0, not_registered=0).percent_registered is None
    assert statistics_latest().counts.percent_registered is None  # an empty practice, end to end


def test_percent_registered_rounds_down_so_100_means_every_patient():
    assert _counts(registered=2, pending=0, not_registered=1).percent_registered == 66.6
    assert _counts(registered=9999, pending=1, not_registered=0).percent_registered == 99.9
    assert _counts(registered=4, pending=0, not_registered=0).percent_registered == 100.0
    assert _counts(registered=0, pending=3, not_registered=1).percent_registered == 0.0


def test_registration_counts_count_each_patient_once_by_status_and_each_holder_of_an_expired_pin_once(
    staff, practice_in_every_state
):
    made = practice_in_every_state(staff, each=2)
    # A patient whose first contact's PIN expired, and a second contact holds a usable one: Pending,
    # and still holding a PIN that expired.
    pending_again = made["pin_expired"][0]
    pin_issue(
        patient=pending_again,
        contact=PatientContactFactory(patient=pending_again).contact,
        path="chart",
        by=staff,
    )
    # Two expired PINs, one patient.
    twice = made["pin_expired"][1]
    pin_issue(
        patient=twice,
        contact=PatientContactFactory(patient=twice).contact,
        path="chart",
        by=staff,
        now=timezone.now() - dt.timedelta(days=40),
    )

    counts = statistics_snapshot_take()
    assert (counts.registered, counts.pending, counts.not_registered) == (2, 3, 3)
    assert counts.expired_pins == 2
    assert set(selectors.patient_search("", status=selectors.PIN_EXPIRED)) == {pending_again, twice}
    counts = statistics_latest().counts
    assert counts.patients == 8
    assert counts.percent_registered == 25.0


def test_the_patient_list_by_status_shows_what_each_tile_counts(staff, practice_in_every_state):
    made = practice_in_every_state(staff, each=2)
    for status, expected in [
        ("not_registered", made["not_registered"] + made["pin_expired"]),
        (selectors.PIN_EXPIRED, made["pin_expired"]),
        ("pending", made["pending"]),
        ("registered", made["registered"]),
        ("", [p for patients in made.values() for p in patients]),
    ]:
        assert set(selectors.patient_search("", status=status)) == set(expected), status


def test_request_counts_by_stage_count_only_confirmed_requests_as_awaiting(staff):
    waiting = _sign_up()
    _unconfirmed_sign_up()
    declined = _sign_up(child=("Rowan", "Quill"), email="jordan@example.org")
    self_registration_decline(request=declined, by=staff, reason="no_match")

    counts = selectors.self_registration_counts()
    assert counts == selectors.RequestCounts(asked=3, unconfirmed=1, awaiting=1, authenticated=0, declined=1)
    assert list(selectors.self_registrations_in_stage()) == [waiting]
    assert counts.awaiting == selectors.self_registrations_awaiting_count()


def test_the_queue_is_oldest_first_and_decided_requests_most_recent_first(staff):
    requests = [_sign_up(email=f"parent{n}@example.org") for n in range(3)]
    base = timezone.now() - dt.timedelta(days=3)
    for n, request in enumerate(reversed(requests)):  # the last signed up, the longest waiting
        SelfRegistrationRequest.objects.filter(pk=request.pk).update(
            submitted_at=base + dt.timedelta(hours=n)
        )
    assert list(selectors.self_registrations_in_stage()) == list(reversed(requests))

    for request in requests[:2]:
        self_registration_decline(request=request, by=staff, reason="no_match")
    assert list(selectors.self_registrations_in_stage(selectors.RequestStage.DECLINED)) == [
        requests[1],
        requests[0],
    ]


def test_a_waiting_sign_up_matches_the_chart_by_the_child_or_by_any_contact_on_it():
    link = PatientContactFactory(
        patient=PatientFactory(
            first_name="Amelia", last_name="Castellano", date_of_birth=dt.date(2019, 4, 17)
        ),
        contact=FamilyContactFactory(email="maria.c@example.org", cell_phone="+13125550123"),
    )
    second = PatientContactFactory(
        patient=link.patient, contact=FamilyContactFactory(email="dad@example.org")
    )
    by_child = _sign_up(email="someone@example.org")
    by_email = _sign_up(child=("Sibling", "Other"), born=dt.date(2015, 1, 1), email="DAD@example.org")
    by_phone = _sign_up(
        child=("Sibling", "Other"), born=dt.date(2015, 1, 1), email="x@example.org", phone="+13125550123"
    )
    _sign_up(child=("Amelia", "Castellano"), born=dt.date(2019, 4, 18), email="unrelated@example.org")
    _unconfirmed_sign_up()  # the child's name and birth date, but anyone's typing until confirmed

    chart = selectors.patient_chart(link.patient.pk)
    assert set(chart.waiting_requests) == {by_child, by_email, by_phone}
    # The rule the PIN's duplicate warning uses, for one contact: the same function.
    assert set(
        selectors.self_registration_requests_matching(patient=link.patient, contacts=[second.contact])
    ) == {
        by_child,
        by_email,
    }


def test_a_decided_sign_up_is_no_longer_shown_on_the_chart(staff):
    link = PatientContactFactory(
        patient=PatientFactory(
            first_name="Amelia", last_name="Castellano", date_of_birth=dt.date(2019, 4, 17)
        )
    )
    request = _sign_up()
    assert selectors.patient_chart(link.patient.pk).waiting_requests == [request]
    self_registration_decline(request=request, by=staff, reason="no_match")
    assert selectors.patient_chart(link.patient.pk).waiting_requests == []


# ---------------------------------------------------------------- pages


def _hrefs(html: str) -> dict[str, str]:
    """Each registration-count tile's label and link."""
    return {
        label: href.replace("&amp;", "&")
        for href, label in re.findall(r'<a href="([^"]+)"><span class="tile-label">([^<]+)</span>', html)
    }


def test_every_statistics_tile_links_to_the_list_it_counts(admin_client, staff, practice_in_every_state):
    made = practice_in_every_state(staff, each=1)
    _sign_up()
    _unconfirmed_sign_up()

    page = admin_client.get("/staff/statistics/").content.decode()
    tiles = _hrefs(page)
    assert tiles == {
        "Patients": "/staff/patients/?status=",
        "Not registered": "/staff/patients/?status=not_registered",
        "PIN expired": "/staff/patients/?status=pin_expired",
        "Pending": "/staff/patients/?status=pending",
        "Registered": "/staff/patients/?status=registered",
        "Asked": "/staff/requests/?stage=",
        "Email not confirmed": "/staff/requests/?stage=unconfirmed",
        "Awaiting authentication": "/staff/requests/",
        "Authenticated": "/staff/requests/?stage=authenticated",
        "Declined": "/staff/requests/?stage=declined",
    }
    assert "<strong>25.0%</strong> of patients registered" in page
    for state, patients in [("PIN expired", made["pin_expired"]), ("Registered", made["registered"])]:
        listed = admin_client.get(tiles[state]).content.decode()
        others = [p for key, ps in made.items() for p in ps if p not in patients]
        assert all(f"/staff/patients/{p.pk}/" in listed for p in patients), state
        assert not any(f"/staff/patients/{p.pk}/" in listed for p in others), state
    everyone = admin_client.get(tiles["Patients"]).content.decode()
    assert all(f"/staff/patients/{p.pk}/" in everyone for ps in made.values() for p in ps)
    assert (
        "Maria Lopez for Amelia Castellano"
        in admin_client.get(tiles["Awaiting authentication"]).content.decode()
    )
    unconfirmed = admin_client.get(tiles["Email not confirmed"]).content.decode()
    assert "Anyone Typing for Amelia Castellano" in unconfirmed
    assert "Maria Lopez" not in unconfirmed


def test_the_request_queue_pages_through_and_links_each_request_to_reconcile(admin_client):
    requests = [_sign_up(email=f"parent{n}@example.org") for n in range(27)]
    first = admin_client.get("/staff/requests/").content.decode()
    assert first.count('href="/staff/requests/') == 25 + 1  # the rows, and the nav link
    assert f'href="/staff/requests/{requests[0].pk}/"' in first
    assert f'href="/staff/requests/{requests[26].pk}/"' not in first
    assert 'href="?page=2">Next' in first
    second = admin_client.get("/staff/requests/?page=2").content.decode()
    assert f'href="/staff/requests/{requests[26].pk}/"' in second
    assert "Next →" not in second


def test_the_dashboard_says_how_many_wait_in_one_line_that_leads_to_the_queue(admin_client):
    assert "No parents are waiting to be authenticated." in admin_client.get("/staff/").content.decode()
    _sign_up()
    _sign_up(email="second@example.org")
    _unconfirmed_sign_up()
    page = admin_client.get("/staff/").content.decode()
    assert re.search(
        r"<strong>2 parents are waiting</strong> to be authenticated.\s*<a href=\"/staff/requests/\">", page
    )
    assert "Maria Lopez for" not in page, "the queue itself is on its own page"
    _sign_up(email="third@example.org")
    SelfRegistrationRequest.objects.exclude(parent_email="third@example.org").delete()
    assert "<strong>1 parent is waiting</strong>" in admin_client.get("/staff/").content.decode()


def test_the_chart_and_appointment_window_show_a_waiting_sign_up_before_any_click(admin_client):
    link = PatientContactFactory(
        patient=PatientFactory(
            first_name="Amelia", last_name="Castellano", date_of_birth=dt.date(2019, 4, 17)
        )
    )
    appointment = AppointmentFactory(patient=link.patient)
    for url in (f"/staff/patients/{link.patient.pk}/", f"/staff/appointments/{appointment.pk}/"):
        assert "A parent asked for access" not in admin_client.get(url).content.decode()
    request = _sign_up()
    for url in (f"/staff/patients/{link.patient.pk}/", f"/staff/appointments/{appointment.pk}/"):
        page = admin_client.get(url).content.decode()
        assert "A parent asked for access to this child: <strong>Maria Lopez</strong>" in page, url
        assert f'href="/staff/requests/{request.pk}/"' in page, url
