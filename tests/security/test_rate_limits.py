"""Guessing: PINs, sign-in, sign-up and password reset are limited per address and per account.

The limits are `settings.RATE_LIMITS`; the clock is the only thing moved by hand.
"""

import io
import threading

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from ratelimits.limits import RateLimited, rate_limit_try
from ratelimits.models import Hit
from registration.models import PortalAccount
from tests.factories import StaffFactory
from tests.security.support import (
    PARENT_PASSWORD,
    STAFF_PASSWORD,
    account_fields,
    address,
    child_fields,
    statuses,
)

TOO_MANY = b"Too many tries. Wait a few minutes and try again."
pytestmark = pytest.mark.django_db


def guess_pin(client, n: int = 0, **extra):
    data = {"pin": "ZZZZ-ZZZZ-ZZZZ", "child_birth_date": "2019-01-01"}
    data |= account_fields(f"guess{n}@example.org")
    return client.post(reverse("portal:pin-start"), data, **extra)


def test_pin_redemption_is_limited_to_20_tries_a_minute_per_address(client, clock, chart, issue_pin):
    answers = [guess_pin(client, n) for n in range(25)]
    assert statuses(answers) == {200: 20, 429: 5}
    assert TOO_MANY in answers[-1].content and 0 < int(answers[-1]["Retry-After"]) <= 60

    issued = issue_pin(chart)
    right = {"pin": issued.code, "child_birth_date": chart.patient.date_of_birth.isoformat()}
    right |= account_fields("rosa@example.org")
    refused_right = client.post(reverse("portal:pin-start"), right)
    accounts_after_refusal = PortalAccount.objects.count()
    other_address = guess_pin(client, REMOTE_ADDR=address(1))
    clock.move(59)
    still_refused = guess_pin(client)
    clock.move(2)
    redeemed = client.post(reverse("portal:pin-start"), right)

    assert refused_right.status_code == 429 and accounts_after_refusal == 0
    assert other_address.status_code == 200 and still_refused.status_code == 429
    assert redeemed.status_code == 302 and PortalAccount.objects.count() == 1
    print(
        "tried 25 PIN redemptions from one address in a minute: "
        f"{statuses(answers)[200]} answered, {statuses(answers)[429]} refused with 429; "
        "the right PIN from that address: refused; another address: answered; "
        "59 s on: still refused; 61 s on: the right PIN redeemed"
    )


def test_the_window_slides(client, clock):
    first = [guess_pin(client, n) for n in range(10)]
    clock.move(30)
    second = [guess_pin(client, n) for n in range(11)]
    clock.move(31)  # the first ten are over a minute old; the second ten are not
    third = [guess_pin(client, n) for n in range(11)]

    assert statuses(first) == {200: 10}
    assert statuses(second) == {200: 10, 429: 1}
    assert statuses(third) == {200: 10, 429: 1}
    print(
        "PIN tries from one address: 10 at 0 s, 11 at 30 s (10 answered, 1 refused), "
        "11 at 61 s (10 answered, 1 refused): a sliding 60-second window, not a fixed minute"
    )


def test_the_429_page_is_in_the_parents_language(client):
    client.cookies["django_language"] = "es"
    for n in range(21):
        page = guess_pin(client, n)
    assert page.status_code == 429
    assert "Demasiados intentos. Espere unos minutos y vuelva a intentarlo." in page.content.decode()


def sign_in(client, site: str, username: str, password: str, n: int = 0):
    return client.post(
        reverse(f"{site}:sign-in"), {"username": username, "password": password}, REMOTE_ADDR=address(n)
    )


@pytest.fixture(params=["portal", "staff"])
def account(request, parent):
    """(site, username, password) of a parent on the portal, or of a front-desk user on the staff site."""
    if request.param == "portal":
        return "portal", parent.user.email, PARENT_PASSWORD
    return "staff", StaffFactory().username, STAFF_PASSWORD


def test_sign_in_cools_an_account_off_for_15_minutes_after_5_failures(client, clock, account):
    site, username, password = account
    # From five addresses: the account's count does not care where the tries come from.
    failures = [sign_in(client, site, username, "wrong guess", n) for n in range(5)]
    sixth = sign_in(client, site, username, "wrong guess", 5)
    right_too_soon = sign_in(client, site, username, password, 6)
    clock.move(14 * 60)
    right_at_14_minutes = sign_in(client, site, username, password, 7)
    clock.move(60)
    right_at_15_minutes = sign_in(client, site, username, password, 8)

    assert statuses(failures) == {200: 5}
    assert [sixth.status_code, right_too_soon.status_code, right_at_14_minutes.status_code] == [429] * 3
    assert right_at_15_minutes.status_code == 302 and "_auth_user_id" in client.session
    print(
        f"{site} sign-in, one account, 5 addresses: 5 wrong passwords answered; then a 6th wrong and "
        "the right one refused with 429; the right one at 14 min: refused; at 15 min: signed in"
    )


def look_alike(name: str) -> str:
    """The name with its first letter full-width: Django's sign-in (NFKC) takes it for the name."""
    return chr(ord(name[0]) + 0xFEE0) + name[1:]


def test_look_alike_spellings_of_an_account_share_its_limit(client, clock, account):
    """Finding 2 of issue 12: NFKC and case made each spelling of an account a fresh budget."""
    site, username, password = account
    spellings = [username, username.upper(), look_alike(username), f" {username} ", username.title()]
    failures = [sign_in(client, site, spelling, "wrong guess", n) for n, spelling in enumerate(spellings)]
    right_as_look_alike = sign_in(client, site, look_alike(username), password, 6)
    assert statuses(failures) == {200: 5}
    assert right_as_look_alike.status_code == 429
    clock.move(15 * 60)
    # The staff site signs a full-width spelling in as the account itself (Django's NFKC): the route of
    # the finding. The portal's email field does not take one at all.
    after = sign_in(client, site, look_alike(username) if site == "staff" else username, password, 7)
    assert after.status_code == 302
    print(
        f"{site} sign-in: 5 failures under 5 spellings of {username!r} (capitals, full-width, spaces); the "
        f"right password under {look_alike(username)!r} refused with 429; signed in after 15 min"
    )


def test_an_unknown_account_cools_off_the_same_way(client, clock, account):
    site = account[0]
    tries = [sign_in(client, site, "nobody@example.org", "wrong guess", n) for n in range(6)]
    assert [t.status_code for t in tries] == [200] * 5 + [429]
    print(f"{site} sign-in to an account that does not exist: 5 answered, the 6th refused, as for a real one")


def test_signing_in_forgets_the_accounts_failures(client, clock, account):
    site, username, password = account
    before = [sign_in(client, site, username, "wrong guess", n) for n in range(4)]
    success = sign_in(client, site, username, password)
    client.logout()
    after = [sign_in(client, site, username, "wrong guess", n) for n in range(5)]

    assert statuses(before) == {200: 4} and success.status_code == 302
    assert statuses(after) == {200: 5}
    print(f"{site} sign-in: 4 failures, a success, then 5 more failures all answered: a success resets")


def test_a_day_of_failures_per_account_is_capped_at_100(client, clock, parent):
    username = parent.user.email
    answered = []
    for _quarter_hour in range(20):
        answered += [sign_in(client, "portal", username, "wrong guess", n) for n in range(5)]
        clock.move(15 * 60)
    refused = sign_in(client, "portal", username, PARENT_PASSWORD, 99)
    clock.move(24 * 60 * 60 - 20 * 15 * 60)
    next_day = sign_in(client, "portal", username, PARENT_PASSWORD, 99)

    assert statuses(answered) == {200: 100}
    assert refused.status_code == 429 and next_day.status_code == 302
    print(
        "one parent account, 5 wrong passwords every 15 minutes: 100 answered in 5 hours, then even the "
        "right password refused until 24 hours after the first failure (NIST SP 800-63B: at most 100)"
    )


def test_sign_in_is_limited_to_30_failures_a_minute_per_address(client, clock, parent):
    one_address = [sign_in(client, "portal", f"guess{n}@example.org", "wrong guess") for n in range(31)]
    staff_site = sign_in(client, "staff", "frontdesk", "wrong guess")
    other_address = sign_in(client, "portal", parent.user.email, PARENT_PASSWORD, 1)
    clock.move(60)
    a_minute_on = sign_in(client, "portal", "guess99@example.org", "wrong guess")

    assert statuses(one_address) == {200: 30, 429: 1}
    assert staff_site.status_code == 429  # one count for both sign-in pages
    assert other_address.status_code == 302 and a_minute_on.status_code == 200
    print(
        "31 sign-in failures on 31 accounts from one address in a minute: 30 answered, 1 refused; "
        "the staff sign-in from that address: refused too; another address: signed in; "
        "a minute on: answered"
    )


def test_sign_up_is_limited_to_10_an_hour_per_address(client, clock):
    def sign_up(n, **extra):
        data = account_fields(f"new{n}@example.org") | child_fields()
        return client.post(reverse("portal:sign-up"), data, **extra)

    answers = [sign_up(n) for n in range(11)]
    other_address = sign_up(11, REMOTE_ADDR=address(1))
    clock.move(60 * 60)
    an_hour_on = sign_up(12)

    assert statuses(answers) == {302: 10, 429: 1}
    assert other_address.status_code == 302 and an_hour_on.status_code == 302
    assert PortalAccount.objects.count() == 12
    print(
        "11 sign-ups from one address in an hour: 10 answered, 1 refused with 429 (and no account made); "
        "another address: answered; an hour on: answered"
    )


def test_password_reset_is_limited_per_address_and_per_email(
    client, clock, parent, django_capture_on_commit_callbacks
):
    url = reverse("portal:password-reset")

    def ask(email, **extra):
        with django_capture_on_commit_callbacks(execute=True):  # each email goes before the next request
            return client.post(url, {"email": email}, **extra)

    per_address = [ask(f"someone{n}@example.org") for n in range(11)]
    to_one_inbox = [ask(parent.user.email, REMOTE_ADDR=address(n)) for n in range(6)]
    to_nobody = [ask("nobody@example.org", REMOTE_ADDR=address(n)) for n in range(6)]
    clock.move(60 * 60)
    an_hour_on = ask(parent.user.email)

    assert statuses(per_address) == {302: 10, 429: 1}
    assert [r.status_code for r in to_one_inbox] == [r.status_code for r in to_nobody] == [302] * 5 + [429]
    assert an_hour_on.status_code == 302
    assert len(mail.outbox) == 6  # five, then one an hour on
    print(
        "11 password resets from one address in an hour: 10 answered, 1 refused; "
        "6 for one parent's email from 6 addresses: 5 answered (5 emails sent), 1 refused; "
        "6 for an unknown email: the same 5 and 1; an hour on: answered"
    )


def test_sending_the_confirm_link_again_is_limited_per_address_and_per_email(
    client, clock, make_portal_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # its first 'confirm your email' goes at once
        unconfirmed = make_portal_account(confirmed=False)
    mail.outbox.clear()
    url = reverse("portal:verify-resend")

    def ask(email, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, {"email": email}, **extra)

    per_address = [ask(f"someone{n}@example.org") for n in range(11)]
    to_one_inbox = [ask(unconfirmed.user.email, REMOTE_ADDR=address(n)) for n in range(4)]
    to_nobody = [ask("nobody@example.org", REMOTE_ADDR=address(n)) for n in range(4)]
    clock.move(60 * 60)
    an_hour_on = ask(unconfirmed.user.email)

    assert statuses(per_address) == {302: 10, 429: 1}
    assert [r.status_code for r in to_one_inbox] == [r.status_code for r in to_nobody] == [302] * 3 + [429]
    assert an_hour_on.status_code == 302
    assert len(mail.outbox) == 4  # three, then one an hour on
    print(
        "11 'send the link again' from one address in an hour: 10 answered, 1 refused; "
        "4 for one unconfirmed parent's email from 4 addresses: 3 answered (3 emails sent), 1 refused; "
        "4 for an unknown email: the same 3 and 1; an hour on: answered"
    )


def test_counters_hold_no_address_or_email(client, parent, stored_text):
    sign_in(client, "portal", parent.user.email, "wrong guess", 7)
    client.post(reverse("portal:password-reset"), {"email": parent.user.email}, REMOTE_ADDR=address(7))
    stored = [text for table, _column, text in stored_text() if table == Hit._meta.db_table]

    assert Hit.objects.count() == 4  # sign-in per account and address; reset per address and email
    assert not [text for text in stored if parent.user.email in text.lower() or address(7) in text]
    assert all(len(key) == 64 for key in Hit.objects.values_list("key", flat=True))
    print(f"{Hit.objects.count()} counters written; their keys are HMAC-SHA256, no email or address in them")


def test_old_tries_are_pruned(client, clock):
    for n in range(3):
        guess_pin(client, n)
    clock.move(24 * 60 * 60)  # the longest window: a day of sign-in failures
    out = io.StringIO()
    call_command("prune_rate_limits", stdout=out)
    assert not Hit.objects.exists() and "Deleted 3" in out.getvalue()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_tries_never_get_past_a_limit():
    rounds, racers, counted = 5, 30, []
    for round_ in range(rounds):
        barrier, results = threading.Barrier(racers), []

        def race(address=f"198.51.100.{round_}", results=results, barrier=barrier):
            try:
                barrier.wait()
                rate_limit_try("pin_redeem", address=address)
                results.append("counted")
            except RateLimited:
                results.append("refused")
            finally:
                connection.close()

        threads = [threading.Thread(target=race) for _ in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        counted.append(results.count("counted"))

    # Racers may all be refused (each sees the others' tries), but no more than 20 may get through.
    assert all(n <= 20 for n in counted), counted
    print(
        f"{rounds} rounds of {racers} simultaneous PIN tries from one address (limit 20): "
        f"counted {counted}, never more than 20"
    )


def test_a_taken_address_is_told_of_sign_ups_once_an_hour(
    clock, make_portal_account, django_capture_on_commit_callbacks
):
    """Issue 12, finding 8: 7 sign-ups with a taken address in 20 s sent its owner 7 "you already have
    an account" emails. One an hour now; each sign-up is answered the same."""
    owner = make_portal_account()
    mail.outbox.clear()

    def sign_up(n):
        with django_capture_on_commit_callbacks(execute=True):  # the worker's work, as on commit
            data = account_fields(owner.user.email) | child_fields()
            return Client().post(reverse("portal:sign-up"), data, REMOTE_ADDR=address(n))

    answers = []
    for n in range(7):
        clock.move(3 if n else 0)
        answers.append(sign_up(n))
    notices_at_once = len(mail.outbox)
    clock.move(60 * 60)
    an_hour_on = sign_up(8)

    assert {(a.status_code, a["Location"]) for a in [*answers, an_hour_on]} == {
        (302, reverse("portal:sign-up-sent"))
    }
    assert notices_at_once == 1 and len(mail.outbox) == 2
    assert {m.to[0] for m in mail.outbox} == {owner.user.email}
    print(
        "7 sign-ups with one parent's address in 18 s, from 7 addresses: 7 answered alike (302 to 'check "
        f"your email'), {notices_at_once} 'you already have an account' email sent; an hour on: 1 more"
    )


def test_the_django_admin_signs_in_through_the_limited_staff_page(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("staff:sign-in") + "?next=%2Fadmin%2F"
    print("the Django admin's sign-in redirects to the staff sign-in: no way around its limits")
