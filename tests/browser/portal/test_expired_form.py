"""A form left open while the browser signed in elsewhere: our page, in the parent's language, on a phone."""

import datetime as dt

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD
from tests.browser.portal.parent import fill_child, fill_new_account

pytestmark = pytest.mark.django_db(transaction=True)
AT_EACH_SIZE = pytest.mark.parametrize("screen", ["phone", "tablet"], indirect=True)


def sign_in_in_another_tab(page: Page, live_server, user) -> None:
    """Sign in (as staff) in a second tab of the same browser: the first tab's form token goes stale."""
    other = page.context.new_page()
    other.goto(f"{live_server.url}/staff/sign-in/")
    other.locator("input[name=username]").fill(user.username)
    other.locator("input[name=password]").fill(PASSWORD)
    other.locator("input[name=password]").press("Enter")
    expect(other).to_have_url(f"{live_server.url}/staff/")
    other.close()


@AT_EACH_SIZE
def test_a_stale_sign_up_form_ends_on_the_expired_page_with_a_way_back(
    page: Page, live_server, front_desk, audit, screen
):
    page.goto(f"{live_server.url}/portal/sign-up/")
    fill_new_account(page, first="Rosa", last="Diaz", email="rosa.d@example.org")
    fill_child(page, 1, first="Leo", last="Diaz", born=dt.date(2019, 4, 17))
    sign_in_in_another_tab(page, live_server, front_desk)

    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This page had expired")
    expect(page.get_by_text("Nothing was saved.")).to_be_visible()
    footer = page.locator("footer")
    expect(footer.get_by_role("link", name="(312) 555-0100")).to_have_attribute("href", "tel:+13125550100")
    expect(footer.get_by_role("link", name="Privacy")).to_be_visible()
    audit.look(page, "expired")

    page.get_by_role("link", name="Open the page again").click()
    expect(page).to_have_url(f"{live_server.url}/portal/sign-up/")
    audit.assert_clean()


def test_the_expired_page_and_the_footer_in_spanish(page: Page, live_server, front_desk, audit):
    page.goto(f"{live_server.url}/portal/sign-up/")
    page.get_by_role("button", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    sign_in_in_another_tab(page, live_server, front_desk)

    page.get_by_role("button", name="English").click()  # the language form is stale too
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Esta página había caducado")
    hours = settings.PRACTICE_HOURS_ES
    expect(page.locator("footer")).to_contain_text(f"¿Preguntas? Llame al (312) 555-0100, {hours}.")
    audit.look(page, "expired-es")
    page.get_by_role("link", name="Abrir la página de nuevo").click()
    expect(page).to_have_url(f"{live_server.url}/portal/sign-up/")

    page.get_by_role("link", name="Privacidad").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacidad")
    audit.look(page, "privacy-es")
    page.get_by_role("link", name="Condiciones de uso").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Condiciones de uso")
    audit.look(page, "terms-es")
    audit.assert_clean()


def test_a_missing_page_on_a_phone(page: Page, live_server, audit):
    page.goto(f"{live_server.url}/portal/no-such-page/")
    expect(page.get_by_role("heading", level=1)).to_have_text("We can't find this page")
    audit.look(page, "not-found")
    page.goto(f"{live_server.url}/portal/privacy/")
    audit.look(page, "privacy")
    audit.assert_clean()
