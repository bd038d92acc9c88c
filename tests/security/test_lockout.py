"""Lockout without locking the owner out (issue 12, finding 3): anyone could lock any account for 15
minutes with 5 wrong passwords from 5 addresses, all day long. A browser that signed in to the account
before holds a device cookie (OWASP's device cookies, ratelimits/devices.py) and is counted on a budget
of its own. Run with `-s` to see what each test tried.
"""

import json

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ratelimits import devices
from ratelimits.models import Hit
from registration.models import PortalAccount
from tests.factories import StaffFactory
from tests.security.support import PARENT_PASSWORD, STAFF_PASSWORD, address

pytestmark = pytest.mark.django_db
DESK = address(200)  # the owner's usual computer


def sign_in(browser: Client, site: str, username: str, password: str, at: str) -> int:
    response = browser.post(
        reverse(f"{site}:sign-in"), {"username": username, "password": password}, REMOTE_ADDR=at
    )
    return response.status_code


@pytest.fixture
def confirmed_parent(make_portal_account):
    """Make a parent's account whose email is confirmed, so that it may sign in."""

    def make():
        parent = make_portal_account()
        PortalAccount.objects.filter(pk=parent.pk).update(email_verified_at=timezone.now())
        return parent

    return make


@pytest.fixture(params=["portal", "staff"])
def account(request, confirmed_parent):
    """(site, username, password) of a parent on the portal, or of a front-desk user on the staff site."""
    if request.param == "portal":
        return "portal", confirmed_parent().user.email, PARENT_PASSWORD
    return "staff", StaffFactory().username, STAFF_PASSWORD


@pytest.fixture
def usual_browser(account) -> Client:
    """The owner's browser, which signed in to the account once and signed out."""
    site, username, password = account
    browser = Client()
    assert sign_in(browser, site, username, password, DESK) == 302
    browser.post(reverse(f"{site}:sign-out"))
    return browser


def lock_out(site: str, username: str) -> list[int]:
    """A guesser's 5 wrong passwords from 5 addresses, then a 6th: the account is locked to strangers."""
    guesser = Client()
    return [sign_in(guesser, site, username, "wrong guess", address(n)) for n in range(6)]


def test_the_owner_signs_in_at_her_usual_browser_while_a_guesser_has_locked_the_account(
    clock, account, usual_browser
):
    site, username, password = account
    guessed = lock_out(site, username)
    guesser_with_the_password = sign_in(Client(), site, username, password, address(7))
    fresh_browser_at_her_desk = sign_in(Client(), site, username, password, DESK)
    owner = sign_in(usual_browser, site, username, password, DESK)

    assert guessed == [200] * 5 + [429]
    assert guesser_with_the_password == fresh_browser_at_her_desk == 429
    assert owner == 302 and "_auth_user_id" in usual_browser.session
    usual_browser.post(reverse(f"{site}:sign-out"))
    # Her success did not reset the strangers' lockout: the guesser gets no fresh budget from it.
    assert sign_in(Client(), site, username, "wrong guess", address(8)) == 429
    print(
        f"{site} sign-in: 5 wrong passwords from 5 addresses locked the account (6th: 429); the right "
        "password from a new browser, even at the owner's desk: 429; the owner's usual browser (device "
        "cookie): signed in (302); strangers still locked out after it"
    )


def test_a_device_cookie_for_another_account_does_not_help(clock, account, usual_browser, confirmed_parent):
    site, _username, password = account
    other = StaffFactory().username if site == "staff" else confirmed_parent().user.email
    lock_out(site, other)
    assert sign_in(usual_browser, site, other, password, DESK) == 429
    print(
        f"{site} sign-in: the owner's browser (a device cookie for her account), with another locked "
        "account's right password: 429"
    )


def test_a_forged_or_changed_device_cookie_does_not_help(clock, account, usual_browser):
    site, username, password = account
    lock_out(site, username)
    real = usual_browser.cookies[settings.DEVICE_COOKIE_NAME].value
    [[identity, nonce]] = signing.loads(real, salt=devices.SALT)
    payload, timestamp, signature = real.split(":")
    other_nonce = signing.b64_encode(json.dumps([[identity, "A" + nonce[1:]]]).encode()).decode()
    forgeries = {
        "signature changed": f"{payload}:{timestamp}:{signature[::-1]}",
        "nonce changed, signature kept": f"{other_nonce}:{timestamp}:{signature}",
        "signed with another key": signing.dumps(
            [[identity, nonce]], key="not the secret", salt=devices.SALT
        ),
        "signed for another purpose": signing.dumps([[identity, nonce]], salt="another salt"),
        "unsigned": f"{identity}:{nonce}",
    }
    answers = {}
    for kind, value in forgeries.items():
        browser = Client()
        browser.cookies[settings.DEVICE_COOKIE_NAME] = value
        answers[kind] = sign_in(browser, site, username, password, DESK)

    assert set(answers.values()) == {429}, answers
    assert sign_in(usual_browser, site, username, password, DESK) == 302  # the real one still works
    print(
        f"{site} sign-in, account locked: {len(forgeries)} forged device cookies "
        f"({', '.join(forgeries)}): all 429; the real one: signed in"
    )


def test_a_device_cookie_that_fails_too_often_is_locked_out_itself(clock, account, usual_browser):
    site, username, password = account
    failures = [sign_in(usual_browser, site, username, "wrong guess", DESK) for _ in range(6)]
    right_at_the_device = sign_in(usual_browser, site, username, password, DESK)
    # Its failures were its own: the account was not locked for other browsers.
    elsewhere = Client()
    right_elsewhere = sign_in(elsewhere, site, username, password, address(9))
    clock.move(15 * 60)
    right_15_minutes_on = sign_in(usual_browser, site, username, password, DESK)

    assert failures == [200] * 5 + [429]
    assert right_at_the_device == 429 and right_elsewhere == 302 and right_15_minutes_on == 302
    print(
        f"{site} sign-in from the usual browser: 5 wrong passwords answered, the 6th and then the right "
        "one refused (429): the device cookie is locked out; the account was not (another browser "
        "signed in); 15 min on, the device signed in again"
    )


def test_one_browser_keeps_device_cookies_for_the_accounts_signed_in_on_it(clock):
    """A front-desk computer is shared: each of its users keeps her own budget there."""
    desk, names = Client(), [StaffFactory().username for _ in range(3)]
    for name in names:
        assert sign_in(desk, "staff", name, STAFF_PASSWORD, DESK) == 302
        desk.post(reverse("staff:sign-out"))
    for name in names:
        lock_out("staff", name)
    answers = []
    for name in names:
        answers.append(sign_in(desk, "staff", name, STAFF_PASSWORD, DESK))
        desk.post(reverse("staff:sign-out"))
    assert answers == [302] * 3
    print(
        "3 staff members signed in on one computer, then each locked out by a guesser: each signed in there"
    )


def test_the_device_cookie_holds_no_name_and_its_counters_no_nonce(clock, confirmed_parent, stored_text):
    parent = confirmed_parent()
    browser = Client()
    sign_in(browser, "portal", parent.user.email, PARENT_PASSWORD, DESK)
    browser.post(reverse("portal:sign-out"))
    sign_in(browser, "portal", parent.user.email, "wrong guess", DESK)
    cookie = browser.cookies[settings.DEVICE_COOKIE_NAME]
    [[identity, nonce]] = signing.loads(cookie.value, salt=devices.SALT)
    stored = [text for table, _column, text in stored_text() if table == Hit._meta.db_table]

    assert parent.user.email not in signing.b64_decode(cookie.value.split(":")[0].encode()).decode(
        errors="replace"
    )
    assert identity != parent.user.email and len(nonce) >= 22
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["max-age"] == 365 * 24 * 60 * 60
    assert not [text for text in stored if nonce in text or parent.user.email in text]
    print(
        "device cookie: HttpOnly, SameSite=Lax, one year; an HMAC of the account and a nonce, no email; "
        "its counter keyed by an HMAC, no nonce stored"
    )
