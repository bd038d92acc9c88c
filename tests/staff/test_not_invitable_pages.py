"""Staff see that a child is deceased or a chart inactive, and are not offered what would invite anyone.

The pages read the state from the patient row they load already: no page runs an extra query.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from registration.models import Pin, WelcomeMessage
from registration.services.welcome_invites import welcome_invite
from tests.factories import AppointmentFactory, PatientContactFactory, PatientFactory
from tests.staff.test_query_counts import queries_for
from tests.staff.test_views import sign_up

DIED = dt.date(2024, 3, 2)
DECEASED_SAYS = (
    "The EHR records this child as deceased (on Mar 2, 2024): no PIN or welcome message can be sent"
)
PIN_BUTTON = ">Generate PIN</button>"
INACTIVE_SAYS = "This chart is inactive in the EHR (merged or no longer seen here)"


def _deceased_chart(**patient):
    return PatientContactFactory(patient=PatientFactory(deceased=True, deceased_on=DIED, **patient))


def _inactive_chart(**patient):
    return PatientContactFactory(patient=PatientFactory(active=False, **patient))


def _today_at(hour: int) -> dt.datetime:
    return timezone.localtime().replace(hour=hour, minute=0, second=0, microsecond=0)


# ---------------------------------------------------------------- the chart and appointment window


@pytest.mark.django_db
def test_a_deceased_childs_chart_says_so_and_offers_no_pin_or_register(front_desk_client):
    link = _deceased_chart()

    page = front_desk_client.get(reverse("staff:patient-chart", args=[link.patient.pk]))

    html = page.content.decode()
    assert 'id="ehr-state"' in html
    assert DECEASED_SAYS in html
    assert '<span class="status status-deceased">Deceased</span>' in html
    assert "Mar 2, 2024" in html  # the date, among the demographics
    assert PIN_BUTTON not in html
    assert reverse("staff:pin-generate", args=[link.patient.pk, link.contact.pk]) not in html
    assert reverse("staff:welcome-send", args=[link.patient.pk]) not in html
    assert '<span class="muted nowrap">No PIN</span>' in html  # where the contact's button was


@pytest.mark.django_db
def test_an_inactive_chart_says_so_and_offers_no_pin_or_register(front_desk_client):
    link = _inactive_chart()

    html = front_desk_client.get(reverse("staff:patient-chart", args=[link.patient.pk])).content.decode()

    assert INACTIVE_SAYS in html
    assert '<span class="status status-inactive">Inactive in the EHR</span>' in html
    assert PIN_BUTTON not in html
    assert reverse("staff:welcome-send", args=[link.patient.pk]) not in html


@pytest.mark.django_db
def test_an_ordinary_chart_has_no_banner(front_desk_client):
    link = PatientContactFactory()

    html = front_desk_client.get(reverse("staff:patient-chart", args=[link.patient.pk])).content.decode()

    assert 'id="ehr-state"' not in html
    assert PIN_BUTTON in html
    assert reverse("staff:welcome-send", args=[link.patient.pk]) in html


@pytest.mark.django_db
def test_the_appointment_window_says_so_and_offers_no_pin_or_register(front_desk_client):
    link = _deceased_chart()
    appointment = AppointmentFactory(patient=link.patient)

    html = front_desk_client.get(reverse("staff:appointment", args=[appointment.pk])).content.decode()

    assert DECEASED_SAYS in html
    assert PIN_BUTTON not in html
    assert reverse("staff:welcome-send", args=[link.patient.pk]) not in html


@pytest.mark.django_db
def test_a_welcome_message_of_a_child_since_marked_deceased_offers_no_resend(front_desk_client, staff):
    link = PatientContactFactory()
    message = welcome_invite(
        patient=link.patient,
        contact=link.contact,
        channel=WelcomeMessage.Channel.EMAIL,
        address=link.contact.email,
        by=staff,
    )
    Patient.objects.filter(pk=link.patient.pk).update(deceased=True, deceased_on=DIED)

    html = front_desk_client.get(reverse("staff:welcome-message", args=[message.pk])).content.decode()

    assert DECEASED_SAYS in html
    assert reverse("staff:welcome-resend", args=[message.pk]) not in html
    # And should staff post it anyway (an old tab), nothing is sent.
    refused = front_desk_client.post(reverse("staff:welcome-resend", args=[message.pk]))
    assert refused.status_code == 409
    assert WelcomeMessage.objects.count() == 1


# ---------------------------------------------------------------- what the buttons would have done


@pytest.mark.django_db
def test_generate_pin_posted_from_an_old_tab_is_refused_with_the_reason(front_desk_client):
    link = _deceased_chart()

    response = front_desk_client.post(
        reverse("staff:pin-generate", args=[link.patient.pk, link.contact.pk]),
        {"path": "chart", "form_token": "t1"},
    )

    assert response.status_code == 409
    assert DECEASED_SAYS in response.content.decode()
    assert not Pin.objects.exists()


@pytest.mark.django_db
def test_the_register_page_says_why_instead_of_a_form(front_desk_client):
    link = _inactive_chart()
    url = reverse("staff:welcome-send", args=[link.patient.pk])

    page = front_desk_client.get(url).content.decode()
    assert INACTIVE_SAYS in page
    assert "Send welcome message" not in page

    posted = front_desk_client.post(url, {"contact": link.pk, "channel": "email", "address": ""})
    assert INACTIVE_SAYS in posted.content.decode()
    assert not WelcomeMessage.objects.exists()


# ---------------------------------------------------------------- the dashboard and Register all


@pytest.mark.django_db
def test_the_dashboard_row_shows_the_state_instead_of_register(front_desk_client):
    alive, deceased, inactive = PatientContactFactory(), _deceased_chart(), _inactive_chart()
    for hour, link in enumerate((alive, deceased, inactive), start=9):
        AppointmentFactory(patient=link.patient, starts_at=_today_at(hour))

    html = front_desk_client.get(reverse("staff:dashboard")).content.decode()

    rows = {link: _row_of(html, link.patient) for link in (alive, deceased, inactive)}
    assert ">Register</a>" in rows[alive]
    assert ">Register</a>" not in rows[deceased]
    assert '<span class="status status-deceased">Deceased</span>' in rows[deceased]
    assert ">Register</a>" not in rows[inactive]
    assert '<span class="status status-inactive">Inactive in the EHR</span>' in rows[inactive]


def _row_of(html: str, patient) -> str:
    """The dashboard's table row of `patient` (one appointment each)."""
    chart_link = f'href="{reverse("staff:patient-chart", args=[patient.pk])}"'
    start = html.rindex("<tr>", 0, html.index(chart_link))
    return html[start : html.index("</tr>", start)]


@pytest.mark.django_db
def test_register_all_skips_them_and_says_why(front_desk_client, django_capture_on_commit_callbacks):
    alive = [PatientContactFactory() for _ in range(2)]
    deceased = [_deceased_chart() for _ in range(2)]
    inactive = _inactive_chart()
    for hour, link in enumerate([*alive, *deceased, inactive], start=8):
        AppointmentFactory(patient=link.patient, starts_at=_today_at(hour))

    with django_capture_on_commit_callbacks(execute=True):
        response = front_desk_client.post(reverse("staff:register-all"), {"day": timezone.localdate()})
    summary = front_desk_client.get(response["Location"]).context["summary"]

    assert {m.pin.patient for m in WelcomeMessage.objects.select_related("pin__patient")} == {
        link.patient for link in alive
    }
    assert Pin.objects.count() == 2
    skipped = {row.item.patient: row.detail for row in summary.rows if row.result == "Skipped"}
    assert set(skipped) == {link.patient for link in [*deceased, inactive]}
    assert skipped[deceased[0].patient].startswith(DECEASED_SAYS)
    assert skipped[inactive.patient].startswith(INACTIVE_SAYS)


@pytest.mark.django_db
def test_register_all_says_deceased_rather_than_no_contact(front_desk_client):
    patient = PatientFactory(deceased=True)  # no family contact on the chart either
    AppointmentFactory(patient=patient, starts_at=_today_at(9))

    response = front_desk_client.get(reverse("staff:register-all"), {"day": timezone.localdate()})

    [row] = response.context["skipped"]
    assert row.skipped.startswith("The EHR records this child as deceased")
    assert not response.context["sending"]


# ---------------------------------------------------------------- search and reconcile


@pytest.mark.django_db
def test_search_results_show_the_state_and_offer_no_pin(front_desk_client):
    deceased = _deceased_chart(last_name="Quill")
    alive = PatientContactFactory(patient=PatientFactory(last_name="Quillon"))

    html = front_desk_client.get(reverse("staff:patient-search"), {"q": "quill"}).content.decode()

    assert html.count('<span class="status status-deceased">Deceased</span>') == 1
    assert reverse("staff:pin-generate", args=[deceased.patient.pk, deceased.contact.pk]) not in html
    assert reverse("staff:pin-generate", args=[alive.patient.pk, alive.contact.pk]) in html


@pytest.mark.django_db
def test_reconcile_marks_the_candidate_and_does_not_preselect_it(front_desk_client):
    link = _deceased_chart()
    patient = link.patient
    request = sign_up(link.contact.email, patient.first_name, patient.last_name, patient.date_of_birth)

    page = front_desk_client.get(reverse("staff:reconcile", args=[request.pk]))

    form = page.context["authenticate_form"]
    assert form.initial == {}
    labels = [label for _, label in form.fields["match"].choices]
    assert all(label.endswith("[Deceased: cannot be authenticated]") for label in labels)
    refused = front_desk_client.post(
        reverse("staff:authenticate", args=[request.pk]), {"match": f"{patient.pk}:{link.contact.pk}"}
    )
    assert refused.status_code == 400
    assert DECEASED_SAYS in refused.content.decode()


# ---------------------------------------------------------------- no extra queries


@pytest.mark.django_db
def test_the_pages_run_as_many_queries_as_for_any_patient(admin_client, settings):
    """The counts tests/staff/test_query_counts.py asserts, with deceased and inactive patients shown."""
    settings.STATISTICS_MAX_AGE = 3600  # as there: the worker's snapshot is fresh
    links = [_deceased_chart(last_name="Varga"), _inactive_chart(last_name="Vargas")]
    links.append(PatientContactFactory(patient=PatientFactory(last_name="Vargo")))
    appointments = [
        AppointmentFactory(patient=link.patient, starts_at=_today_at(9 + i)) for i, link in enumerate(links)
    ]

    assert queries_for(admin_client, "/staff/") == 6
    assert queries_for(admin_client, "/staff/patients/?q=varg") == 3
    chart = f"/staff/patients/{links[0].patient.pk}/"
    assert queries_for(admin_client, chart) == 8  # with the Access panel (issue 15)
    assert queries_for(admin_client, f"/staff/appointments/{appointments[0].pk}/") == 7
