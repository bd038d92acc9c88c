"""The printed slip goes home in the parent's language; the screen around it stays the front desk's
(issue 13)."""

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.browser.pages import PIN_FORMAT, family, row

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_spanish_speaking_parents_slip_prints_in_spanish(
    page: Page, live_server, sign_in, front_desk, snap
):
    link = family("Amelia Castellano", "María Castellano", preferred_language="es")
    sign_in(page, front_desk, screenshot=False)
    page.goto(f"{live_server.url}/staff/patients/{link.patient.pk}/")
    row(page, "María Castellano").get_by_role("button", name="Generate PIN for María Castellano").click()

    expect(page.locator("#issued-pin")).to_have_text(PIN_FORMAT)
    expect(page.get_by_role("button", name="Print slip")).to_be_visible()
    snap(page, "pin-issued")
    page.emulate_media(media="print")
    slip = page.get_by_role("region", name="Printable slip")
    expect(slip).to_contain_text("Portal de pacientes de Maple Street Pediatrics")
    expect(slip).to_contain_text("Su PIN de registro para Amelia")
    expect(slip).to_contain_text("Escanéelo para abrir el portal con este PIN ya escrito.")
    hours = settings.PRACTICE_HOURS_ES
    expect(slip).to_contain_text(f"¿Preguntas? Llame al {settings.PRACTICE_PHONE}, {hours}.")
    expect(slip.locator("[lang=es]")).to_be_visible()
    snap(page, "print-slip-es")
