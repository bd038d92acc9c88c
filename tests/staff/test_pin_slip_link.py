"""The printed slip: its QR code opens the PIN page with the PIN filled in, in the contact's language
(issue 13)."""

import re

import pytest
import segno
from django.urls import reverse

from tests.factories import FamilyContactFactory, PatientContactFactory


@pytest.mark.django_db
def test_the_slips_qr_code_carries_the_pin_after_the_hash_only(front_desk_client, settings):
    """A phone's browser never sends what follows '#': the PIN page's script reads it."""
    settings.PORTAL_BASE_URL = "https://portal.example.org"
    link = PatientContactFactory()

    response = front_desk_client.post(
        reverse("staff:pin-generate", args=[link.patient.pk, link.contact.pk]),
        {"path": "chart", "form_token": "t1"},
    )

    html = response.content.decode()
    [code] = re.findall(r'<p class="slip-pin">([0-9A-Z-]{14})</p>', html)
    plain = code.replace("-", "")
    qr = segno.make(f"https://portal.example.org/portal/pin/?lang=en#pin={plain}", error="m")
    assert qr.svg_inline(scale=3, border=2, omitsize=True) in html
    assert "<strong>https://portal.example.org/portal/pin/</strong>" in html  # the address people type


@pytest.mark.django_db
def test_the_slip_is_in_the_contacts_language_and_the_page_around_it_in_english(front_desk_client, settings):
    """The slip goes home with a Spanish-speaking parent; the screen above it is for the front desk."""
    settings.PORTAL_BASE_URL = "https://portal.example.org"
    link = PatientContactFactory(contact=FamilyContactFactory(preferred_language="es"))

    response = front_desk_client.post(
        reverse("staff:pin-generate", args=[link.patient.pk, link.contact.pk]),
        {"path": "chart", "form_token": "t1"},
    )

    html = response.content.decode()
    slip = html[html.index('<section class="slip"') :]
    staff_part = html[: html.index('<section class="slip"')]
    assert 'lang="es"' in slip
    assert f"Su PIN de registro para {link.patient.first_name}" in slip
    assert "Escriba el PIN y la fecha de nacimiento de su hijo o hija." in slip
    assert "Escanéelo para abrir el portal" in slip
    hours = settings.PRACTICE_HOURS_ES
    assert f'¿Preguntas? Llame al {settings.PRACTICE_PHONE}, <span class="hours">{hours}.</span>' in slip
    assert "Your registration PIN" not in slip
    assert "Print slip" in staff_part and "is now" in staff_part
    [code] = re.findall(r'<p class="slip-pin">([0-9A-Z-]{14})</p>', html)
    qr = segno.make(f"https://portal.example.org/portal/pin/?lang=es#pin={code.replace('-', '')}", error="m")
    assert qr.svg_inline(scale=3, border=2, omitsize=True) in slip
