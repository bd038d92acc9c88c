"""Reconcile offers to add the child to the account the contact already has; the parent who asked is told
which account to use, by a masked address."""

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from registration.models import PortalAccess, SelfRegistrationRequest
from tests.factories import (
    ChildDetailsFactory,
    NewAccountFactory,
    PatientContactFactory,
    confirmed_self_registration,
)

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough pass phrase"  # NewAccountFactory's


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


@pytest.fixture
def asked_again(make_portal_account):
    """Maria has an account for her eldest (maria.c@example.org) and signs up again for her youngest."""
    eldest = PatientContactFactory(contact__first_name="Maria", contact__last_name="Castellano")
    youngest = PatientContactFactory(
        contact=eldest.contact, patient__first_name="Leo", patient__last_name="Castellano"
    )
    make_portal_account(eldest, email="maria.c@example.org")
    patient = youngest.patient
    [request] = confirmed_self_registration(
        children=[
            ChildDetailsFactory(
                first_name=patient.first_name,
                last_name=patient.last_name,
                date_of_birth=patient.date_of_birth,
            )
        ],
        new_account=NewAccountFactory(email="maria.home@example.net", preferred_language="es"),
    )
    return request, youngest


def test_reconcile_offers_the_existing_account_by_a_masked_address(front_desk_client, asked_again):
    request, _youngest = asked_again

    page = _text(front_desk_client.get(reverse("staff:reconcile", args=[request.pk])))

    assert "Add Leo Castellano to their existing account (m•••@example.org)</button>" in page


def test_adding_settles_the_request_and_the_parent_is_told_where_to_sign_in(front_desk_client, asked_again):
    request, youngest = asked_again
    url = reverse("staff:add-to-existing-account", args=[request.pk])

    page = front_desk_client.post(url, {"match": f"{youngest.patient.pk}:{youngest.contact.pk}"}, follow=True)

    assert page.redirect_chain == [(reverse("staff:patient-chart", args=[youngest.patient.pk]), 302)]
    assert "Added Leo Castellano to maria.c@example.org, the account that parent already has." in _text(page)
    request.refresh_from_db()
    assert request.status == SelfRegistrationRequest.Status.AUTHENTICATED
    assert PortalAccess.objects.get(patient=youngest.patient).account.user.email == "maria.c@example.org"

    parent = Client()
    assert parent.login(username="maria.home@example.net", password=PASSWORD)
    home = _text(parent.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="es"))
    assert "Leo Castellano" in home
    assert "Usted ya tiene una cuenta con nosotros, m•••@example.org." in home
    assert "maria.c@example.org" not in home


def test_a_refusal_is_shown_on_the_request(front_desk_client, asked_again):
    request, youngest = asked_again
    other = PatientContactFactory()

    page = front_desk_client.post(
        reverse("staff:add-to-existing-account", args=[request.pk]),
        {"match": f"{other.patient.pk}:{youngest.contact.pk}"},
        follow=True,
    )

    assert "That family contact is not on this patient's chart." in _text(page)
    request.refresh_from_db()
    assert request.status == SelfRegistrationRequest.Status.AWAITING
