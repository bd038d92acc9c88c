"""Helpers shared by the browser tests: locators staff would use, and data made the way the app makes it."""

import datetime as dt
import re

from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from registration.services.accounts import NewAccount
from registration.services.self_registration import ChildDetails
from tests.factories import (
    FamilyContactFactory,
    PatientContactFactory,
    PatientFactory,
    confirmed_self_registration,
)

DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}
PIN_FORMAT = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def nav(page: Page):
    """The staff navigation bar."""
    return page.get_by_role("navigation", name="Staff")


def expect_current_page(page: Page, link: str) -> None:
    """The navigation marks exactly one link, `link`, as the current page."""
    current = nav(page).locator('a[aria-current="page"]')
    expect(current).to_have_count(1, timeout=1000)  # the page has loaded: nothing to wait for
    expect(current).to_have_text(link)


def row(page: Page, text: str):
    """The table row holding `text`."""
    return page.get_by_role("row").filter(has_text=text)


def today_at(hour: int, minute: int = 0) -> dt.datetime:
    """A time today in the practice's time zone."""
    return timezone.localtime().replace(hour=hour, minute=minute, second=0, microsecond=0)


def family(child: str, parent: str, *, born=dt.date(2019, 4, 17), **contact_fields):
    """A patient with one family contact (the mother) on the chart."""
    child_first, child_last = child.split(" ", 1)
    parent_first, parent_last = parent.split(" ", 1)
    return PatientContactFactory(
        patient=PatientFactory(first_name=child_first, last_name=child_last, date_of_birth=born),
        contact=FamilyContactFactory(first_name=parent_first, last_name=parent_last, **contact_fields),
    )


def sign_up(*, email, parent, child, born, phone=""):
    """A parent's own sign-up without a PIN (path 4), through the service the portal uses."""
    parent_first, parent_last = parent.split(" ", 1)
    child_first, child_last = child.split(" ", 1)
    return confirmed_self_registration(
        children=[ChildDetails(child_first, child_last, born)],
        new_account=NewAccount(
            email=email,
            password="a long enough pass phrase",
            first_name=parent_first,
            last_name=parent_last,
            cell_phone=phone,
        ),
    )[0]


def go_back_as_a_person(page: Page) -> None:
    """Back to a page that was the answer to a form (no-store): Chromium shows "Confirm Form
    Resubmission" (net::ERR_CACHE_MISS) instead of the page; a person then presses Reload and confirms."""
    try:
        page.go_back()
    except PlaywrightError as error:
        if "ERR_CACHE_MISS" not in str(error):
            raise


OVERFLOW_REPORT = """() => {
  const width = window.innerWidth;
  const offenders = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1) {
      const cls = typeof el.className === "string" && el.className.trim()
        ? "." + el.className.trim().split(/\\s+/).join(".") : "";
      const id = el.id ? "#" + el.id : "";
      offenders.push(`${el.tagName.toLowerCase()}${id}${cls} (right edge ${Math.round(box.right)}px)`);
    }
  }
  const scrollWidth = document.documentElement.scrollWidth;
  return {scrollWidth, innerWidth: width, offenders: offenders.slice(0, 6)};
}"""


def horizontal_overflow(page: Page) -> dict | None:
    """None if the page body does not scroll sideways; else the widths and the widest elements."""
    report = page.evaluate(OVERFLOW_REPORT)
    return report if report["scrollWidth"] > report["innerWidth"] + 1 else None


# Each word of the page's text, cut at spaces, hyphens, soft hyphens and slashes (where a line may
# break); a word whose letters lie on two lines was broken mid-word.
WORDS_BROKEN_REPORT = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  const words = /[^\\s\\-\\u00ad\\/]+[\\-\\u00ad\\/]?/g;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.textContent.matchAll(words)) {
      if (match[0].length < 2) continue;
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const boxes = [...range.getClientRects()].filter((r) => r.width > 0);
      const lines = new Set(boxes.map((r) => Math.round(r.top)));
      if (lines.size > 1) broken.push(match[0]);
    }
  }
  return broken.slice(0, 8);
}"""


def words_broken(page: Page) -> list[str]:
    """The words the page shows split across two lines, not at a space or hyphen."""
    return page.evaluate(WORDS_BROKEN_REPORT)
