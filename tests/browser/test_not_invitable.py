"""A deceased child's chart, as front-desk staff meet it: from the day's list to the chart, on a desktop
and on a phone-sized screen (390x844). Screenshots: var/screenshots/test_deceased_childs_chart-*.png."""

import datetime as dt

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from patients.models import Patient
from registration.models import RegistrationPath
from registration.services.pins import pin_issue
from tests.browser.pages import family, horizontal_overflow, row, today_at
from tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def test_deceased_childs_chart(page: Page, live_server, sign_in, front_desk, snap):
    ellie = family("Ellie Marsh", "Hannah Marsh", born=dt.date(2019, 6, 11), email="hannah.marsh@example.org")
    family("Noah Marsh", "Hannah Marsh", born=dt.date(2021, 2, 3))  # a sibling, for the dashboard's sake
    AppointmentFactory(patient=ellie.patient, starts_at=today_at(9, 30), visit_type="Follow-up")
    # A PIN handed out before the EHR recorded the death: the chart still shows it, and it cannot be used.
    pin_issue(patient=ellie.patient, contact=ellie.contact, path=RegistrationPath.CHART, by=front_desk)
    Patient.objects.filter(pk=ellie.patient.pk).update(deceased=True, deceased_on=dt.date(2024, 3, 2))

    sign_in(page, front_desk, screenshot=False)
    listed = row(page, "Marsh, Ellie")
    expect(listed.get_by_text("Deceased", exact=True)).to_be_visible()
    expect(listed.get_by_role("link", name="Register")).to_have_count(0)
    snap(page, "dashboard")

    listed.get_by_role("link", name="Marsh, Ellie").click()
    banner = page.locator("#ehr-state")
    expect(banner).to_contain_text("The EHR records this child as deceased (on Mar 2, 2024)")
    expect(page.get_by_role("button", name="Generate PIN for Hannah Marsh")).to_have_count(0)
    expect(page.get_by_role("link", name="Register by email or text")).to_have_count(0)
    expect(page.get_by_text("No PIN", exact=True)).to_be_visible()
    snap(page, "desktop")
    results = Axe().run(page, options=WCAG_21_AA).response
    assert not results["violations"], [(v["id"], v["nodes"][0]["target"]) for v in results["violations"]]

    page.set_viewport_size(PHONE)
    expect(banner).to_be_visible()
    assert banner.bounding_box()["width"] <= PHONE["width"]
    snap(page, "phone")
    assert horizontal_overflow(page) is None or "table" in str(horizontal_overflow(page)), (
        "only a wide table may scroll sideways on a phone"
    )
