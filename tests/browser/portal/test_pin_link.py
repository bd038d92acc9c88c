"""Issue 13, on a phone (390x844): the welcome email's link fills in the PIN, and the PIN page warns how
many tries are left before a PIN locks, in the same words for a PIN that doesn't exist.

The PIN rides in the link's #fragment, which browsers never send: the server under test records every
request it is sent (path, query and headers, Referer included) and none holds the PIN.
"""

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.signals import request_started
from playwright.sync_api import Page, expect

from registration.models import Pin, PortalAccount, RegistrationPath
from registration.services.pins import pin_issue
from registration.services.welcome_invites import welcome_invite
from tests.browser.pages import family
from tests.browser.portal.parent import (
    NEUTRAL_REFUSAL,
    PIN_IN_TEXT,
    child_cards,
    confirm_email,
    enter_pin,
    expect_check_your_email,
    expect_home,
    fill_new_account,
    link_in,
)
from tests.messaging.support import pin_forms

pytestmark = pytest.mark.django_db(transaction=True)
AT_EACH_SIZE = pytest.mark.parametrize("screen", ["phone", "tablet"], indirect=True)

BORN = dt.date(2019, 4, 17)
WRONG = dt.date(2019, 4, 18)


@pytest.fixture
def requests_seen():
    """What the live server was sent: each request's path, query string and headers, as one text."""
    seen: list[str] = []

    def record(sender, environ, **kwargs):
        seen.append(" ".join(f"{key}={value}" for key, value in environ.items() if isinstance(value, str)))

    request_started.connect(record, weak=False)
    yield seen
    request_started.disconnect(record)


@AT_EACH_SIZE
def test_the_welcome_links_pin_fills_itself_in(
    page: Page, live_server, front_desk, requests_seen, audit, screen
):
    link = family("Amelia Castellano", "Maria Castellano", born=BORN, email="maria.c@example.org")
    welcome_invite(
        patient=link.patient,
        contact=link.contact,
        channel="email",
        address="maria.c@example.org",
        by=front_desk,
    )
    [email] = mail.outbox
    [code] = PIN_IN_TEXT.findall(email.body)  # shown once, for typing
    welcome_link = link_in(email.body, "/portal/pin/")
    assert welcome_link.endswith("/portal/pin/?lang=en#pin=" + code.replace("-", ""))

    page.goto(welcome_link)

    expect(page.get_by_role("heading", level=1)).to_have_text("Register with your PIN")
    expect(page.get_by_label("PIN", exact=True)).to_have_value(code)
    expect(page).to_have_url(f"{live_server.url}/portal/pin/")  # the fragment left the address bar
    assert page.evaluate("() => window.location.hash") == ""
    expect(page.get_by_label("Your child's date of birth")).to_be_focused()
    audit.look(page, "pin-filled-in")

    # The parent types only the date of birth and the account.
    page.get_by_label("Your child's date of birth").fill(BORN.isoformat())
    fill_new_account(page, first="Maria", last="Castellano", email="maria.c@example.org")
    page.get_by_role("button", name="Create account and see my child").click()
    expect_check_your_email(page)
    _welcome, confirm = mail.outbox
    confirm_email(page, confirm)
    expect_home(page, "Maria")
    expect(child_cards(page).get_by_role("heading", level=3)).to_have_text("Amelia Castellano")
    audit.look(page, "home", axe=False)  # audited in test_registration

    assert requests_seen, "the live server's requests were recorded"
    assert any("/portal/pin/" in request for request in requests_seen)
    for request in requests_seen:
        assert not any(form in request.upper() for form in pin_forms(code)), request
    audit.assert_clean()


def test_a_pin_typed_by_hand_still_works_when_the_link_has_none(page: Page, live_server, audit):
    page.goto(f"{live_server.url}/portal/pin/#pin=")
    expect(page).to_have_url(f"{live_server.url}/portal/pin/")
    expect(page.get_by_label("PIN", exact=True)).to_have_value("")
    page.goto(f"{live_server.url}/portal/pin/#section")  # any other fragment is left alone
    expect(page).to_have_url(f"{live_server.url}/portal/pin/#section")
    expect(page.get_by_label("PIN", exact=True)).to_have_value("")


def test_tries_left_are_the_same_for_a_real_pin_and_a_made_up_one(page: Page, live_server, front_desk, audit):
    link = family("Amelia Castellano", "Maria Castellano", born=BORN)
    issued = pin_issue(patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=front_desk)
    made_up = "7KQF-X82Z-913P"
    page.goto(f"{live_server.url}/portal/pin/")
    alert = page.locator(".error-summary[role=alert]")

    def attempt(code: str) -> str:
        enter_pin(page, code, WRONG)
        fill_new_account(page, first="Maria", last="Castellano", email="maria.c@example.org")
        page.get_by_role("button", name="Create account and see my child").click()
        expect(alert).to_be_visible()
        return alert.inner_text()

    real = [attempt(issued.code) for _ in range(3)]
    audit.look(page, "real-pin-2-tries-left")
    fake = [attempt(made_up) for _ in range(3)]
    audit.look(page, "made-up-pin-2-tries-left")

    assert NEUTRAL_REFUSAL in real[0]
    assert [re.search(r"\d+ tries left before this PIN locks\.", text).group() for text in real] == [
        "4 tries left before this PIN locks.",
        "3 tries left before this PIN locks.",
        "2 tries left before this PIN locks.",
    ]
    assert fake == real, "the same words: nothing says whether the PIN exists"
    assert Pin.objects.get().failed_attempts == 3  # the PIN's own count, which locks it
    assert not PortalAccount.objects.exists()
    audit.assert_clean()


def test_the_links_pin_waits_while_a_parent_with_an_account_signs_in_first(
    page: Page, live_server, front_desk, make_portal_account, requests_seen, audit
):
    """A parent who already has an account (for an older child) follows "Sign in first": the PIN from
    the link is still filled in when they come back, so they type only the new child's birth date."""
    older = family(
        "Lucas Castellano", "Maria Castellano", born=dt.date(2016, 2, 3), email="maria.c@example.org"
    )
    make_portal_account(older, email="maria.c@example.org", password=PASSWORD_OF_MARIA, first_name="Maria")
    younger = family("Amelia Castellano", "Ana Castellano", born=BORN)
    younger.contact = older.contact
    younger.save()
    welcome_invite(
        patient=younger.patient,
        contact=older.contact,
        channel="email",
        address="maria.c@example.org",
        by=front_desk,
    )
    [code] = PIN_IN_TEXT.findall(mail.outbox[-1].body)

    page.goto(link_in(mail.outbox[-1].body, "/portal/pin/"))
    expect(page.get_by_label("PIN", exact=True)).to_have_value(code)
    page.get_by_role("link", name="Sign in first").click()
    page.get_by_label("Email").fill("maria.c@example.org")
    page.get_by_label("Password").fill(PASSWORD_OF_MARIA)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Add a child with a PIN")
    expect(page.get_by_label("PIN", exact=True)).to_have_value(code)
    audit.look(page, "pin-kept-through-sign-in")
    page.get_by_label("Your child's date of birth").fill(BORN.isoformat())
    page.get_by_role("button", name="Add this child").click()

    expect_home(page, "Maria")
    expect(child_cards(page).get_by_role("heading", level=3)).to_have_text(
        ["Amelia Castellano", "Lucas Castellano"]
    )
    # Sent once: the kept PIN is dropped, so the page is empty when opened again.
    page.goto(f"{live_server.url}/portal/pin/")
    expect(page.get_by_label("PIN", exact=True)).to_have_value("")
    for request in requests_seen:
        assert not any(form in request.upper() for form in pin_forms(code)), request
    audit.assert_clean()


PASSWORD_OF_MARIA = "a long enough pass phrase"
