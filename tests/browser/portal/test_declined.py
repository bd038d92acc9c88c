"""On a phone, in Spanish: why the practice declined a request, and where a child added to the parent's
other account went."""

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from registration.models import RegistrationPath
from registration.services.accounts import NewAccount
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.self_registration import (
    ChildDetails,
    self_registration_add_to_existing_account,
    self_registration_decline,
    self_registration_reopen,
)
from tests.browser.pages import family
from tests.browser.portal.parent import PASSWORD
from tests.factories import NewAccountFactory, PatientContactFactory, confirmed_self_registration

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_declined_request_in_spanish(page: Page, live_server, front_desk, audit):
    [request] = confirmed_self_registration(
        children=[ChildDetails("Rowan", "Quill", dt.date(2017, 7, 7))],
        new_account=NewAccount(
            email="jordan.quill@example.net",
            password=PASSWORD,
            first_name="Jordana",
            last_name="Quill",
            preferred_language="es",
        ),
    )
    self_registration_decline(
        request=request,
        reason="not_guardian",
        note="Traiga los papeles de tutela a la consulta.",
        by=front_desk,
    )

    page.goto(f"{live_server.url}/portal/")
    page.get_by_role("button", name="Español").click()
    page.get_by_role("link", name="Iniciar sesión").first.click()
    page.get_by_label("Correo electrónico").fill("jordan.quill@example.net")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()

    expect(page.locator("html")).to_have_attribute("lang", "es")
    declined = page.locator(".requests-status > li")
    expect(declined).to_contain_text("Rowan Quill")
    expect(declined).to_contain_text("No aprobada")
    expect(declined.locator(".decline-reason")).to_have_text(
        "Usted no figura como padre, madre o tutor en el expediente de su hijo o hija."
    )
    expect(declined.locator(".decline-note")).to_have_text(
        "Nota de la consulta: “Traiga los papeles de tutela a la consulta.”"
    )
    expect(declined).not_to_contain_text("You are not listed")
    audit.look(page, "home-declined-es")

    # Staff reopen it: the decline is gone, the request waits again.
    self_registration_reopen(request=request, by=front_desk)
    page.reload()
    expect(declined).not_to_contain_text("No aprobada")
    expect(declined.locator(".decline-reason")).to_have_count(0)
    audit.look(page, "home-reopened-es")
    audit.assert_clean()


def test_a_child_added_to_the_other_account_in_spanish(page: Page, live_server, front_desk, audit):
    """The parent signed up again instead of signing in: the practice added the child to the account
    they already had, and this portal says which one, by a masked address."""
    link = family("Leo Castellano", "Maria Castellano", born=dt.date(2020, 2, 2))
    issued = pin_issue(patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=front_desk)
    pin_redeem(
        code=issued.code,
        child_birth_date=link.patient.date_of_birth,
        new_account=NewAccountFactory(email="maria.c@example.org"),
    )
    sibling = PatientContactFactory(
        contact=link.contact, patient__first_name="Amelia", patient__last_name="Castellano"
    )
    [request] = confirmed_self_registration(
        children=[ChildDetails("Amelia", "Castellano", sibling.patient.date_of_birth)],
        new_account=NewAccount(
            email="maria.home@example.net",
            password=PASSWORD,
            first_name="Maria",
            last_name="Castellano",
            preferred_language="es",
        ),
    )
    self_registration_add_to_existing_account(
        request=request, patient=sibling.patient, contact=link.contact, by=front_desk
    )

    page.goto(f"{live_server.url}/portal/")
    page.get_by_role("button", name="Español").click()
    page.get_by_role("link", name="Iniciar sesión").first.click()
    page.get_by_label("Correo electrónico").fill("maria.home@example.net")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()

    told = page.locator(".requests-status > li")
    expect(told).to_contain_text("Amelia Castellano")
    expect(told).to_contain_text("En su otra cuenta")
    expect(told).to_contain_text("Usted ya tiene una cuenta con nosotros, m•••@example.org.")
    expect(page.get_by_text("maria.c@example.org")).to_have_count(0)
    audit.look(page, "home-other-account-es")
    audit.assert_clean()
