"""The printed slip's QR code opens the PIN page with the PIN filled in (issue 13)."""

import re

import pytest
import segno
from django.urls import reverse

from tests.factories import PatientContactFactory


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
    qr = segno.make(f"https://portal.example.org/portal/pin/#pin={plain}", error="m")
    assert qr.svg_inline(scale=3, border=2) in html
    assert "<strong>https://portal.example.org/portal/pin/</strong>" in html  # the address people type
