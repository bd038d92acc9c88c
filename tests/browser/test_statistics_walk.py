"""Statistics as a working page, walked at a desktop's and a tablet's size (820x1180, issue 13): the
funnel's tiles lead to the lists they count, the dashboard's one line leads to the request queue with the
appointment list at full width, and a waiting sign-up shows on the chart and the appointment window
before anyone clicks Generate PIN."""

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from registration.models import RegistrationPath
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from tests.browser.pages import DESKTOP, family, horizontal_overflow, nav, row, sign_up, today_at
from tests.factories import AppointmentFactory, NewAccountFactory

TABLET_PORTRAIT = {"width": 820, "height": 1180}
SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(TABLET_PORTRAIT, id="tablet")]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.parametrize("size", SIZES)]


def _practice(staff) -> dict:
    """A morning of 16 appointments (more than a tablet shows above the fold), a PIN that expired, a
    registered family, and two parents waiting, one for a child on the list."""
    amelia = family("Amelia Castellano", "Maria Castellano", email="maria.c@example.org")
    links = [amelia] + [
        family(f"Child{n} Brennan", f"Parent{n} Brennan", born=dt.date(2016, 1, n + 1)) for n in range(15)
    ]
    for minutes, link in enumerate(links):
        AppointmentFactory(
            patient=link.patient, starts_at=today_at(8, 0) + dt.timedelta(minutes=10 * minutes)
        )
    expired = links[1]
    pin_issue(
        patient=expired.patient,
        contact=expired.contact,
        path=RegistrationPath.CHART,
        by=staff,
        now=today_at(8) - dt.timedelta(days=30),
    )
    registered = links[2]
    issued = pin_issue(
        patient=registered.patient, contact=registered.contact, path=RegistrationPath.CHART, by=staff
    )
    pin_redeem(
        code=issued.code, child_birth_date=registered.patient.date_of_birth, new_account=NewAccountFactory()
    )
    waiting = sign_up(
        email="maria.c@example.org",
        parent="Maria Castellano",
        child="Amelia Castellano",
        born=dt.date(2019, 4, 17),
    )
    sign_up(
        email="jordan.quill@example.net", parent="Jordan Quill", child="Rowan Quill", born=dt.date(2017, 7, 7)
    )
    return {"amelia": amelia, "expired": expired, "registered": registered, "waiting": waiting}


@pytest.fixture
def world(size, page: Page, sign_in, front_desk) -> dict:
    """The practice, with front desk signed in on the dashboard at the size under test."""
    page.set_viewport_size(size)
    made = _practice(front_desk)
    sign_in(page, front_desk, screenshot=False)
    return made


def _no_sideways_scroll(page: Page) -> None:
    assert horizontal_overflow(page) is None, horizontal_overflow(page)


def test_dashboard_line_leads_to_the_queue_and_the_list_has_the_full_width(
    world, page: Page, live_server, snap
):

    line = page.locator(".waiting-line")
    expect(line).to_have_text("2 parents are waiting to be authenticated. Review →")
    assert line.bounding_box()["y"] < page.locator("table.list").bounding_box()["y"], (
        "the line is above the list"
    )
    content = page.locator("main").bounding_box()
    table = page.locator("table.list").bounding_box()
    assert table["width"] >= content["width"] - 60, f"the list is squeezed: {table} in {content}"
    _no_sideways_scroll(page)
    snap(page, "dashboard")

    line.get_by_role("link", name="Review →").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Self-registrations awaiting authentication")
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Maria Castellano for Amelia Castellano")  # the oldest first
    _no_sideways_scroll(page)
    snap(page, "queue")
    rows.first.get_by_role("link").click()
    expect(page).to_have_url(f"{live_server.url}/staff/requests/{world['waiting'].pk}/")


def test_statistics_tiles_lead_to_the_lists_they_count(world, page: Page, live_server, snap):
    nav(page).get_by_role("link", name="Statistics").click()

    expect(page.locator(".headline")).to_have_text("6.2% of patients registered")  # 1 of 16
    funnel = page.locator(".funnel").first
    expect(funnel.get_by_role("link", name="Patients 16")).to_be_visible()
    _no_sideways_scroll(page)
    snap(page, "statistics")

    funnel.get_by_role("link", name="PIN expired 1").click()
    expect(page.get_by_label("Portal status")).to_have_value("pin_expired")
    results = page.locator("table.results tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(world["expired"].patient.first_name)
    _no_sideways_scroll(page)
    snap(page, "pin-expired-list")

    page.go_back()
    page.locator(".funnel").first.get_by_role("link", name=re.compile(r"^Registered 1 ")).click()
    expect(page.locator("table.results tbody tr")).to_have_count(1)
    expect(page.locator("table.results")).to_contain_text(world["registered"].patient.first_name)

    page.go_back()
    page.locator(".funnel").nth(1).get_by_role("link", name="Awaiting authentication 2").click()
    expect(page.locator("table.list tbody tr")).to_have_count(2)
    expect(nav(page).locator('a[aria-current="page"]')).to_have_text("Requests")
    snap(page, "awaiting-list")


def test_chart_and_appointment_window_show_the_waiting_sign_up_before_any_click(
    world, page: Page, live_server, snap
):

    row(page, "Castellano, Amelia").get_by_role("link", name="8:00 AM").click()
    notice = page.locator(".waiting-requests")
    expect(notice).to_contain_text("A parent asked for access to this child: Maria Castellano")
    _no_sideways_scroll(page)
    snap(page, "appointment-window")

    page.get_by_role("link", name="Castellano, Amelia").click()
    expect(notice).to_contain_text("A parent asked for access to this child: Maria Castellano")
    assert (
        notice.bounding_box()["y"]
        < page.get_by_role("button", name="Generate PIN for Maria Castellano").bounding_box()["y"]
    )
    _no_sideways_scroll(page)
    snap(page, "chart")
    notice.get_by_role("link", name="Review Maria Castellano's request").click()
    expect(page).to_have_url(f"{live_server.url}/staff/requests/{world['waiting'].pk}/")
    expect(page.get_by_role("heading", name="Self-registration request", exact=True)).to_be_visible()
