"""The patient's own account, as the front desk sets it up: the page with the practice's policy, the
mother's email typed by mistake and refused, then the patient's own email and the PIN from the chart.
Screenshots: var/screenshots/test_teen_own_account-*.png."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from patients.models import PatientContact
from registration.models import AuditEvent, Pin
from tests.browser.pages import family

pytestmark = pytest.mark.django_db(transaction=True)


def _fourteen_years_ago() -> dt.date:
    today = timezone.localdate()
    return dt.date(today.year - 14, today.month, min(today.day, 28)) - dt.timedelta(days=30)


def test_teen_own_account(page: Page, live_server, sign_in, front_desk, snap):
    mother = family("Ana Reyes", "Lucia Reyes", born=_fourteen_years_ago(), email="lucia.reyes@example.org")
    ana = mother.patient
    sign_in(page, front_desk, screenshot=False)

    page.goto(f"{live_server.url}/staff/patients/{ana.pk}/own-account/")
    expect(page.get_by_role("heading", name="Ana Reyes's own account")).to_be_visible()
    expect(page.get_by_text("Allowed from 12")).to_be_visible()
    snap(page, "policy")

    page.get_by_label("The patient's own email").fill("Lucia.Reyes@example.org")
    page.get_by_role("button", name="Add Ana's own email and phone").click()
    expect(page.get_by_role("alert")).to_contain_text("That email or phone belongs to a parent on file.")
    snap(page, "refused")
    assert not PatientContact.objects.filter(patient=ana, relationship="self").exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.TEEN_CONTACT_ADDED).exists()

    page.get_by_label("The patient's own email").fill("ana.reyes@example.com")
    page.get_by_label("The patient's own cell phone").fill("(312) 555-0199")
    page.get_by_role("button", name="Add Ana's own email and phone").click()
    expect(page).to_have_url(f"{live_server.url}/staff/patients/{ana.pk}/")
    expect(page.get_by_text("Ana Reyes's own email and phone are on the chart.")).to_be_visible()
    own_row = page.locator("table.contacts tr", has_text="ana.reyes@example.com")
    expect(own_row).to_contain_text("The patient")
    snap(page, "chart")

    own_row.get_by_role("button", name="Generate PIN for Ana Reyes").click()
    own = PatientContact.objects.get(patient=ana, relationship="self").contact
    expect(page.get_by_role("heading", name="PIN for Ana Reyes")).to_be_visible()
    snap(page, "pin")
    assert Pin.objects.filter(patient=ana, contact=own, redeemed_at__isnull=True).count() == 1
