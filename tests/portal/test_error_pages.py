"""What a parent or staff member sees when a form expired, a page is missing or the server failed."""

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse

from portalreg import error_pages as errors
from tests.portal.test_portal_views import account_fields, child_fields

PHONE = settings.PRACTICE_PHONE


def spanish(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    return client


@pytest.mark.django_db
def test_a_form_posted_without_its_token_answers_our_expired_page_with_a_link_back():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("portal:sign-up"), account_fields())
    assert response.status_code == 403
    page = response.content.decode()
    assert "This page had expired" in page
    assert "Nothing was saved" in page
    assert 'href="/portal/sign-up/"' in page
    assert "CSRF" not in page
    assert settings.PRACTICE_NAME in page and PHONE in page  # the portal's header and footer


@pytest.mark.django_db
def test_the_expired_page_speaks_the_parents_language():
    response = spanish(Client(enforce_csrf_checks=True)).post(reverse("portal:sign-up"), account_fields())
    assert response.status_code == 403
    page = response.content.decode()
    assert "Esta página había caducado" in page
    assert "No se guardó nada" in page
    assert 'lang="es"' in page


@pytest.mark.django_db
def test_the_expired_page_links_only_to_this_site():
    response = Client(enforce_csrf_checks=True).post("//evil.example/portal/sign-up/", {})
    assert response.status_code == 403
    assert 'href="//' not in response.content.decode()


@pytest.mark.django_db
def test_a_staff_form_that_expired_answers_in_english_in_the_staff_style():
    client = spanish(Client(enforce_csrf_checks=True))
    response = client.post(reverse("staff:sign-in"), {"username": "x", "password": "y"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "This page had expired" in page
    assert 'class="topbar"' in page
    assert 'href="/staff/sign-in/"' in page


@pytest.mark.django_db
def test_a_missing_portal_page_is_branded_and_bilingual(client):
    response = client.get("/portal/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "We can't find this page" in page
    assert settings.PRACTICE_NAME in page and PHONE in page
    assert "No encontramos esta página" in spanish(client).get("/portal/no-such-page/").content.decode()


@pytest.mark.django_db
def test_a_missing_staff_page_is_english(client):
    response = spanish(client).get("/staff/no-such-page/")
    assert response.status_code == 404
    assert "We can't find this page" in response.content.decode()


def test_the_server_error_page_draws_from_settings_alone():
    """No database mark: a query would fail the test, as the database may be what failed."""
    response = errors.server_error(RequestFactory().get("/portal/sign-up/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert settings.PRACTICE_NAME in page and PHONE in page
    assert "css/site.css" in page


@pytest.mark.django_db
def test_the_practice_phone_number_is_on_the_start_page_as_a_link(client):
    page = client.get(reverse("portal:start")).content.decode()
    assert f'<a href="tel:+13125550100">{PHONE}</a>' in page
    assert settings.PRACTICE_HOURS in page
    assert reverse("portal:privacy") in page and reverse("portal:terms") in page


@pytest.mark.django_db
def test_privacy_and_terms_pages_say_what_is_kept_and_in_spanish(client):
    assert "What the portal keeps" in client.get(reverse("portal:privacy")).content.decode()
    assert "Terms of use" in client.get(reverse("portal:terms")).content.decode()
    assert "Qué guarda el portal" in spanish(client).get(reverse("portal:privacy")).content.decode()
    assert settings.PRACTICE_HOURS_ES in client.get(reverse("portal:terms")).content.decode()


@pytest.mark.django_db
def test_the_confirm_your_email_email_ends_with_the_practice_phone_and_hours(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal:sign-up"), account_fields() | child_fields(("Leo", "Diaz", "2019-04-17")))
    (email,) = mail.outbox
    assert email.body.rstrip().endswith(f"Questions? Call {PHONE}, {settings.PRACTICE_HOURS}.")
