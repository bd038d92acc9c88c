"""The statistics page's registrations-per-week chart, as staff see it on a 1280x800 screen, reached
from the dashboard through the navigation."""

import pytest
from playwright.sync_api import Page, expect

from registration.models import RegistrationPath
from registration.services.pins import pin_issue
from tests.browser.pages import family, nav

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dashboard(page: Page, live_server, sign_in, front_desk):
    link = family("Amelia Castellano", "Maria Castellano")
    pin_issue(patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=front_desk)
    sign_in(page, front_desk)
    nav(page).get_by_role("link", name="Statistics").click()
    expect(page.get_by_role("heading", name="Statistics", level=1)).to_be_visible()
    chart = page.locator("figure.chart")
    expect(chart.get_by_role("img")).to_be_visible()
    return chart


def test_legend_swatches_sit_beside_their_labels(dashboard, page: Page):
    """Each 12x12 swatch stays small and starts its legend item (a `.chart svg` rule once grew them)."""
    items = dashboard.locator(".legend li")
    expect(items).to_have_count(5)
    for item in items.all():
        swatch, box = item.locator("svg").bounding_box(), item.bounding_box()
        assert swatch["width"] <= 16 and swatch["height"] <= 16, swatch
        assert swatch["x"] - box["x"] < 2, "the swatch starts its legend item"


def test_axis_labels_are_readable(dashboard, page: Page):
    heights = [text.bounding_box()["height"] for text in dashboard.locator("svg[role=img] text").all()]
    assert heights and min(heights) >= 9, f"label heights in px: {sorted(set(round(h, 1) for h in heights))}"
