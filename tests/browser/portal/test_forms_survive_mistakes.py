"""Issue 13: the sign-up form survives a parent's mistakes on a phone (390x844).

Enter (a phone's Go key) submits the form instead of adding a child; a child's row can be removed; what
was typed, the password included, comes back after an error or a row added or removed; the password can
be shown; and after a failed submit focus lands on the error summary, which a screen reader reads first.
"""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from registration.models import PortalAccount, SelfRegistrationRequest
from tests.browser.portal.parent import PASSWORD, expect_check_your_email, fill_child, fill_new_account
from tests.browser.portal.test_pages import a_registered_parent

pytestmark = pytest.mark.django_db(transaction=True)
AT_EACH_SIZE = pytest.mark.parametrize("screen", ["phone", "tablet"], indirect=True)

BORN = dt.date(2019, 4, 17)


def children(page: Page):
    return page.get_by_role("group", name=re.compile(r"^Child \d"))


def sign_up_filled(page: Page, live_server, *, email: str = "maria.c@example.org") -> None:
    """The sign-up page with Maria's account and her first child typed in, not yet submitted."""
    page.goto(f"{live_server.url}/portal/sign-up/")
    fill_new_account(page, first="Maria", last="Castellano", email=email)
    fill_child(page, 1, first="Amelia", last="Castellano", born=BORN)


@AT_EACH_SIZE
def test_enter_in_the_password_field_submits_the_form(page: Page, live_server, audit, screen):
    sign_up_filled(page, live_server)
    audit.look(page, "filled")

    page.get_by_label("Choose a password").press("Enter")

    expect_check_your_email(page)
    assert PortalAccount.objects.count() == 1
    assert SelfRegistrationRequest.objects.count() == 1
    audit.assert_clean()


@AT_EACH_SIZE
def test_enter_with_a_mistake_shows_errors_not_a_second_child(page: Page, live_server, audit, screen):
    page.goto(f"{live_server.url}/portal/sign-up/")
    fill_new_account(page, first="Maria", last="Castellano", email="maria.c@example.org")
    page.get_by_label("Choose a password").press("Enter")

    # No child named: the form was submitted (errors), and no empty Child 2 appeared.
    expect(children(page)).to_have_count(1)
    summary = page.locator(".error-summary").first
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page.get_by_label("Choose a password")).to_have_value(PASSWORD)
    audit.look(page, "errors")
    assert not PortalAccount.objects.exists()
    audit.assert_clean()


@AT_EACH_SIZE
def test_add_and_remove_a_child_keep_what_was_typed(page: Page, live_server, audit, screen):
    sign_up_filled(page, live_server)
    page.get_by_role("button", name="Add another child").click()
    expect(children(page)).to_have_count(2)
    expect(page.get_by_role("button", name="Remove child 1")).to_have_count(0)  # one child at least
    fill_child(page, 2, first="Leo", last="Castellano", born=dt.date(2021, 8, 3))
    page.get_by_role("button", name="Add another child").click()
    expect(children(page)).to_have_count(3)
    audit.look(page, "three-rows")

    page.get_by_role("button", name="Remove child 2").click()

    expect(children(page)).to_have_count(2)
    expect(page.locator(".field-error")).to_have_count(0)
    expect(page.locator(".error-summary")).to_have_count(0)
    first = page.get_by_role("group", name="Child 1")
    expect(first.get_by_label("Child's first name")).to_have_value("Amelia")
    expect(first.get_by_label("Child's date of birth")).to_have_value(BORN.isoformat())
    expect(page.get_by_role("group", name="Child 2").get_by_label("Child's first name")).to_have_value("")
    expect(page.get_by_label("Your first name")).to_have_value("Maria")
    expect(page.get_by_label("Email", exact=True)).to_have_value("maria.c@example.org")
    expect(page.get_by_label("Choose a password")).to_have_value(PASSWORD)
    audit.look(page, "removed")

    # The empty row left over is skipped, not flagged.
    page.get_by_role("button", name="Create account").click()
    expect_check_your_email(page)
    assert list(SelfRegistrationRequest.objects.values_list("child_first_name", flat=True)) == ["Amelia"]
    audit.assert_clean()


@AT_EACH_SIZE
def test_an_error_keeps_the_password_which_can_be_shown(page: Page, live_server, audit, screen):
    sign_up_filled(page, live_server, email="not an email")
    page.get_by_role("button", name="Create account").click()

    summary = page.locator(".error-summary").first
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Email")
    password = page.get_by_label("Choose a password")
    expect(password).to_have_value(PASSWORD)
    expect(password).to_have_attribute("type", "password")
    audit.look(page, "error")

    page.get_by_role("button", name="Show password").click()
    expect(password).to_have_attribute("type", "text")
    expect(page.get_by_role("button", name="Hide password")).to_be_visible()
    audit.look(page, "shown")
    page.get_by_role("button", name="Hide password").click()
    expect(password).to_have_attribute("type", "password")

    page.get_by_label("Email", exact=True).fill("maria.c@example.org")
    page.get_by_label("Email", exact=True).press("Enter")
    expect_check_your_email(page)
    audit.assert_clean()


@pytest.mark.parametrize("path", ["/portal/sign-in/", "/portal/pin/"])
def test_other_password_fields_have_the_toggle(page: Page, live_server, audit, path):
    page.goto(f"{live_server.url}{path}")
    toggle = page.get_by_role("button", name="Show password")
    expect(toggle).to_have_count(1)
    toggle.click()
    expect(page.locator("input[autocomplete$=password]")).to_have_attribute("type", "text")
    audit.look(page, path.strip("/").replace("/", "-"))
    audit.assert_clean()


def test_the_toggle_speaks_spanish(page: Page, live_server, audit):
    page.context.add_cookies([{"name": "django_language", "value": "es", "url": live_server.url}])
    page.goto(f"{live_server.url}/portal/sign-up/")
    expect(page.get_by_role("button", name="Mostrar contraseña")).to_be_visible()
    page.get_by_role("button", name="Agregar otro niño o niña").click()
    expect(page.get_by_role("button", name="Quitar niño o niña 2")).to_be_visible()
    audit.look(page, "es")
    audit.assert_clean()


def test_enter_sends_a_signed_in_parents_request(page: Page, live_server, front_desk, audit):
    """The signed-in "Ask without a PIN" form: Enter sends the request, not another child's row."""
    user = a_registered_parent(front_desk)
    PortalAccount.objects.filter(user=user).update(email_verified_at=timezone.now())
    client = Client()
    client.force_login(user, backend="accounts.backends.RolesModelBackend")
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/portal/sign-up/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask to see another child")
    fill_child(page, 1, first="Leo", last="Castellano", born=dt.date(2021, 8, 3))
    audit.look(page, "ask")

    page.get_by_role("group", name="Child 1").get_by_label("Child's last name").press("Enter")

    expect(page).to_have_url(re.compile(r"/portal/home/$"))
    assert list(SelfRegistrationRequest.objects.values_list("child_first_name", flat=True)) == ["Leo"]
    audit.assert_clean()
