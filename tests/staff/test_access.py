"""Staff pages are for signed-in staff; admin pages for practice admins; parents get 403 everywhere here."""

import datetime as dt

import pytest
from django.urls import reverse

from registration.services.accounts import NewAccount
from registration.services.self_registration import ChildDetails
from tests.factories import (
    AppointmentFactory,
    PatientContactFactory,
    StaffFactory,
    confirmed_self_registration,
)


@pytest.fixture
def parent_user(db):
    request = confirmed_self_registration(
        children=[ChildDetails("Mia", "Cole", dt.date(2019, 2, 2))],
        new_account=NewAccount(email="mum@example.org", password="x" * 16, first_name="M", last_name="Cole"),
    )[0]
    return request.account.user


@pytest.fixture
def urls(db):
    link = PatientContactFactory()
    appointment = AppointmentFactory(patient=link.patient)
    request = confirmed_self_registration(
        children=[ChildDetails("Ann", "Lee", dt.date(2020, 1, 1))],
        new_account=NewAccount(email="dad@example.org", password="x" * 16, first_name="D", last_name="Lee"),
    )[0]
    staff_pages = [
        reverse("staff:dashboard"),
        reverse("staff:patient-search"),
        reverse("staff:patient-chart", args=[link.patient.pk]),
        reverse("staff:appointment", args=[appointment.pk]),
        reverse("staff:welcome-send", args=[link.patient.pk]),
        reverse("staff:reconcile", args=[request.pk]),
    ]
    admin_pages = [reverse("staff:duplicates"), reverse("staff:audit")]
    return staff_pages, admin_pages


def test_anonymous_users_are_sent_to_staff_sign_in(client, urls):
    staff_pages, admin_pages = urls
    for url in staff_pages + admin_pages:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/sign-in/?next=")


def test_parents_get_403_on_every_staff_page(client, urls, parent_user):
    client.force_login(parent_user)
    staff_pages, admin_pages = urls
    for url in staff_pages + admin_pages:
        assert client.get(url).status_code == 403, url


def test_front_desk_sees_staff_pages_but_not_admin_pages(client, urls):
    client.force_login(StaffFactory())
    staff_pages, admin_pages = urls
    for url in staff_pages:
        assert client.get(url).status_code == 200, url
    for url in admin_pages:
        assert client.get(url).status_code == 403, url
    assert b"Duplicate accounts" not in client.get(staff_pages[0]).content


def test_admins_see_everything(admin_client, urls):
    staff_pages, admin_pages = urls
    for url in staff_pages + admin_pages:
        assert admin_client.get(url).status_code == 200, url
    assert b"Duplicate accounts" in admin_client.get(staff_pages[0]).content


def test_parent_cannot_sign_in_on_the_staff_site_and_is_told_nothing_more(client, parent_user):
    wrong = client.post(reverse("staff:sign-in"), {"username": "nobody", "password": "x" * 16})
    parent = client.post(reverse("staff:sign-in"), {"username": parent_user.username, "password": "x" * 16})
    assert parent.status_code == wrong.status_code == 200
    assert parent.context["form"].errors == wrong.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_staff_sign_in_goes_to_the_dashboard(client, db):
    StaffFactory(username="desk")
    response = client.post(
        reverse("staff:sign-in"), {"username": "desk", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:dashboard")


def test_state_changing_staff_urls_refuse_get(admin_client, urls):
    link = PatientContactFactory()
    for url in [
        reverse("staff:pin-generate", args=[link.patient.pk, link.contact.pk]),
        reverse("staff:disable-duplicate"),
    ]:
        assert admin_client.get(url).status_code == 405, url
