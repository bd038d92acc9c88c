"""What the security tests share: a stoppable clock, signed-in browsers, form data, tallies."""

import datetime as dt
from collections import Counter

from django.test import Client
from django.utils import timezone

PARENT_PASSWORD = "a long enough pass phrase"  # NewAccountFactory's
STAFF_PASSWORD = "correct horse battery staple"  # StaffFactory's


class Clock:
    """A stopped clock; `move(seconds)` moves it on."""

    def __init__(self):
        self.at = timezone.now()

    def move(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)

    def __call__(self):
        return self.at


def signed_in(user) -> Client:
    """A new browser, signed in as `user` through Django's login() (its signals and all)."""
    browser = Client()
    browser.force_login(user)
    return browser


def statuses(responses) -> Counter:
    return Counter(response.status_code for response in responses)


def address(n: int) -> str:
    """The nth address of TEST-NET-3 (RFC 5737)."""
    return f"203.0.113.{n % 250 + 1}"


def account_fields(email: str) -> dict:
    return {
        "account-first_name": "Rosa",
        "account-last_name": "Diaz",
        "account-email": email,
        "account-cell_phone": "",
        "account-password": "quiet river lantern morning",
        "account-preferred_language": "en",
    }


def child_fields(first="Leo", last="Diaz", born="2019-04-17") -> dict:
    return {
        "child-TOTAL_FORMS": "1",
        "child-INITIAL_FORMS": "0",
        "child-0-first_name": first,
        "child-0-last_name": last,
        "child-0-date_of_birth": born,
    }
