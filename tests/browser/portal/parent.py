"""What a parent does on the portal, in the words the pages show them."""

import datetime as dt
import re

from playwright.sync_api import Page, expect

PASSWORD = "quiet river lantern morning"  # the rule is at least 15 characters
PIN_IN_TEXT = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
LINK_IN_TEXT = re.compile(r"https?://\S+")
NEUTRAL_REFUSAL = "That PIN and date of birth don't match our records"


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
