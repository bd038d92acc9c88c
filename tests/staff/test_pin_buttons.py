"""One rule for Generate PIN and Register, wherever staff meet a patient: the search results, the chart
and the appointment window offer Generate PIN to the same family contacts (those who do not see the
child on the portal yet, for a child who may be invited); the dashboard offers Register or Resend to
the children the chart offers "Register by email or text" for."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from registration.services.errors import AlreadyRegistered
from registration.services.pins import pin_issue
from tests.factories import AppointmentFactory, PatientContactFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _pin_action(link) -> str:
    return f'action="{reverse("staff:pin-generate", args=[link.patient.pk, link.contact.pk])}"'


def _pages(client, patient) -> dict[str, str]:
    appointment = AppointmentFactory(patient=patient, starts_at=timezone.now() + dt.timedelta(hours=1))
    urls = {
        "search": reverse("staff:patient-search") + f"?q={patient.mrn}",
        "chart": reverse("staff:patient-chart", args=[patient.pk]),
        "appointment window": reverse("staff:appointment", args=[appointment.pk]),
    }
    return {name: client.get(url).content.decode() for name, url in urls.items()}


def test_a_registered_childs_other_parent_is_offered_a_pin_on_every_page(
    front_desk_client, make_portal_account
):
    registered = PatientContactFactory(patient=PatientFactory(last_name="Quade"))
    other_parent = PatientContactFactory(patient=registered.patient)
    make_portal_account(registered)

    for name, html in _pages(front_desk_client, registered.patient).items():
        assert _pin_action(other_parent) in html, name
        assert _pin_action(registered) not in html, f"{name}: that parent already sees the child"


def test_a_pin_issued_from_the_offer_is_accepted(front_desk_client, make_portal_account, staff):
    """What the pages offer, the service does: the other parent's PIN is issued."""
    registered = PatientContactFactory()
    other_parent = PatientContactFactory(patient=registered.patient)
    make_portal_account(registered)

    issued = pin_issue(patient=other_parent.patient, contact=other_parent.contact, path="chart", by=staff)
    assert issued.pin.contact == other_parent.contact
    with pytest.raises(AlreadyRegistered):
        pin_issue(patient=registered.patient, contact=registered.contact, path="chart", by=staff)


@pytest.mark.parametrize("state", [{"deceased": True}, {"active": False}], ids=["deceased", "inactive"])
def test_nobody_is_offered_a_pin_for_a_child_not_to_be_invited(front_desk_client, state):
    link = PatientContactFactory(patient=PatientFactory(**state))

    for name, html in _pages(front_desk_client, link.patient).items():
        assert _pin_action(link) not in html, name
        assert ">Generate PIN</button>" not in html, name


def test_the_dashboard_offers_register_where_the_chart_does(front_desk_client, make_portal_account):
    waiting, registered = PatientContactFactory(), PatientContactFactory()
    make_portal_account(registered)
    for hour, link in enumerate([waiting, registered], start=9):
        AppointmentFactory(patient=link.patient, starts_at=timezone.localtime().replace(hour=hour, minute=0))

    dashboard = front_desk_client.get(reverse("staff:dashboard")).content.decode()
    for link, offered in ((waiting, True), (registered, False)):
        send = reverse("staff:welcome-send", args=[link.patient.pk])
        chart = front_desk_client.get(reverse("staff:patient-chart", args=[link.patient.pk])).content.decode()
        assert (f'href="{send}?appointment=' in dashboard) is offered
        assert (f'href="{send}"' in chart) is offered
