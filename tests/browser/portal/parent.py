"""What a parent does on the portal, in the words the pages show them."""

import datetime as dt
import re
from collections.abc import Callable

from django.core.mail import EmailMessage
from playwright.sync_api import Page, expect

PASSWORD = "quiet river lantern morning"  # the rule is at least 15 characters
PIN_IN_TEXT = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
LINK_IN_TEXT = re.compile(r"https?://\S+")
NEUTRAL_REFUSAL = "That PIN and date of birth don't match our records"
EMAIL_CONFIRMED = "Thank you: your email address is confirmed."


def as_typed_by_a_parent(code: str) -> str:
    """7KQF-X82Z-913P as a parent might type it from a slip: '7kqf x82z 913p'."""
    return code.lower().replace("-", " ")


def enter_pin(page: Page, code: str, born: dt.date) -> None:
    pin = page.get_by_label("PIN", exact=True)
    pin.fill("")
    pin.press_sequentially(code)
    page.get_by_label("Your child's date of birth").fill(born.isoformat())


def fill_new_account(page: Page, *, first: str, last: str, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("Your first name").fill(first)
    page.get_by_label("Your last name").fill(last)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Choose a password").fill(password)


def fill_child(page: Page, number: int, *, first: str, last: str, born: dt.date) -> None:
    child = page.get_by_role("group", name=f"Child {number}")
    child.get_by_label("Child's first name").fill(first)
    child.get_by_label("Child's last name").fill(last)
    child.get_by_label("Child's date of birth").fill(born.isoformat())


def expect_home(page: Page, parent_first: str) -> None:
    expect(page).to_have_url(re.compile(r"/portal/home/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {parent_first}")


def child_cards(page: Page):
    """The children this account can see, one card (with an h3 of the name) each."""
    return page.locator("article.child")


def link_in(text: str, path: str) -> str:
    """The one address in a message whose path contains `path`."""
    links = [link.rstrip(".,)") for link in LINK_IN_TEXT.findall(text) if path in link]
    assert len(links) == 1, f"expected one {path} link in:\n{text}"
    return links[0]


def expect_check_your_email(page: Page) -> None:
    """The page a new account lands on: not signed in until its email is confirmed."""
    expect(page).to_have_url(re.compile(r"/portal/sign-up/sent/(#[\w-]+)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def open_confirm_link(page: Page, message: EmailMessage) -> str:
    """Open the link in a "Confirm your email" message in this page, as the parent would; return the link.

    Its key is in the #fragment: the page's script copies it into the form and out of the address bar.
    """
    assert message.subject.startswith("Confirm your email"), message.subject
    link = link_in(message.body, "/portal/confirm-email/")
    assert "#" in link, f"the key is not in the link's fragment: {link}"
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email")
    expect(page).to_have_url(re.compile(r"/portal/confirm-email/$"))
    expect(page.locator("input[name=key]")).not_to_have_value("")
    return link


def confirm_email(
    page: Page,
    message: EmailMessage,
    *,
    password: str | None = None,
    look: Callable[[Page], None] | None = None,
) -> None:
    """Follow a "Confirm your email" message to the portal's home, signed in.

    Without `password`, this is the browser that made the account, which is not asked for it; with it,
    another browser, which must type it. `look` sees the confirm page before "Confirm my email" is pressed.
    """
    open_confirm_link(page, message)
    password_field = page.get_by_label("Password", exact=True)
    if password is None:
        expect(password_field).to_have_count(0)
    else:
        password_field.fill(password)
    if look is not None:
        look(page)
    page.get_by_role("button", name="Confirm my email").click()
    expect(page).to_have_url(re.compile(r"/portal/home/$"))
    expect(page.get_by_role("status")).to_have_text(EMAIL_CONFIRMED)
