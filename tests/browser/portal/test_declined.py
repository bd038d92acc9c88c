"""A parent whose request the practice declined reads why on a phone, in Spanish, with the practice's note."""

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from registration import services
from tests.factories import confirmed_self_registration

from .parent import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_declined_request_in_spanish(page: Page, live_server, front_desk, audit):
    [request] = confirmed_self_registration(
        children=[services.ChildDetails("Rowan", "Quill", dt.date(2017, 7, 7))],
        new_account=services.NewAccount(
            email="jordan.quill@example.net",
            password=PASSWORD,
            first_name="Jordana",
            last_name="Quill",
            preferred_language="es",
        ),
    )
    services.self_registration_decline(
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
    services.self_registration_reopen(request=request, by=front_desk)
    page.reload()
    expect(declined).not_to_contain_text("No aprobada")
    expect(declined.locator(".decline-reason")).to_have_count(0)
    audit.look(page, "home-reopened-es")
    audit.assert_clean()
