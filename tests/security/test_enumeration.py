"""No enumeration: sign-in, password reset and PIN entry answer alike, and in about the same time,
whether or not the account or PIN exists."""

import io
import re
import statistics
import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from registration import services
from registration.models import ParentAccountEmail
from tests.delivery import fakes
from tests.factories import PatientContactFactory, StaffFactory

from .support import PARENT_PASSWORD, STAFF_PASSWORD, account_fields, address

pytestmark = pytest.mark.django_db
CSRF_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def page(response, typed: str) -> bytes:
    """The page without what differs by nature: the CSRF token and the name that was typed."""
    return CSRF_TOKEN.sub(b"", response.content).replace(typed.encode(), b"TYPED")


def test_parent_sign_in_says_the_same_for_every_wrong_try(
    client, make_portal_account, make_duplicate_accounts, admin
):
    parent, (disabled, kept) = make_portal_account(), make_duplicate_accounts()
    services.account_disable_duplicate(duplicate=disabled, keep=kept, by=admin, reason="Signed up twice")
    staff = StaffFactory()
    tries = {
        "a parent, wrong password": (parent.user.email, "wrong guess"),
        "nobody's email": ("nobody@example.org", "wrong guess"),
        "a disabled account, right password": (disabled.user.email, PARENT_PASSWORD),
        "a staff member, right password": (staff.email, STAFF_PASSWORD),
    }
    answers = {
        kind: client.post(reverse("portal:sign-in"), {"username": email, "password": password})
        for kind, (email, password) in tries.items()
    }
    pages = {page(answers[kind], tries[kind][0]) for kind in tries}

    assert {response.status_code for response in answers.values()} == {200}
    assert len(pages) == 1 and b'role="alert"' in next(iter(pages))  # the one error message
    assert "_auth_user_id" not in client.session
    print(f"portal sign-in, {len(tries)} kinds of wrong try ({', '.join(tries)}): status 200, one page")


def test_staff_sign_in_says_the_same_for_every_wrong_try(client, parent):
    staff = StaffFactory()
    tries = {
        "a staff member, wrong password": (staff.username, "wrong guess"),
        "nobody's username": ("nobody", "wrong guess"),
        "a parent, right password": (parent.user.username, PARENT_PASSWORD),
    }
    answers = {
        kind: client.post(reverse("staff:sign-in"), {"username": name, "password": password})
        for kind, (name, password) in tries.items()
    }
    pages = {page(answers[kind], tries[kind][0]) for kind in tries}

    assert {response.status_code for response in answers.values()} == {200}
    assert len(pages) == 1
    print(f"staff sign-in, {len(tries)} kinds of wrong try ({', '.join(tries)}): status 200, one page")


def test_password_reset_says_the_same_for_known_and_unknown_addresses(client, parent):
    addresses = {"a parent's": parent.user.email, "nobody's": "nobody@example.org"}
    answers = {
        kind: client.post(reverse("portal:password-reset"), {"email": email}, follow=True)
        for kind, email in addresses.items()
    }
    chains = {tuple(response.redirect_chain) for response in answers.values()}
    pages = {page(response, "") for response in answers.values()}

    assert {response.status_code for response in answers.values()} == {200}
    assert chains == {((reverse("portal:password-reset-sent"), 302),)} and len(pages) == 1
    print("password reset for a parent's email and for nobody's: the same redirect, status and page")


def median_ms(timings: list[float]) -> float:
    return round(statistics.median(timings) * 1000, 1)


def test_sign_in_takes_as_long_for_an_unknown_account(client, settings, parent):
    # Real password hashing: test settings use a fast hasher, which would hide the difference.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    parent.user.set_password(PARENT_PASSWORD)
    parent.user.save()
    url = reverse("portal:sign-in")
    client.post(url, {"username": "warm.up@example.org", "password": "x"}, REMOTE_ADDR=address(99))
    timings = {"known": [], "unknown": []}
    for n in range(5):  # the account's limit allows five failures
        for kind, email in (("known", parent.user.email), ("unknown", f"nobody{n}@example.org")):
            started = time.perf_counter()
            response = client.post(
                url, {"username": email, "password": "wrong guess"}, REMOTE_ADDR=address(n)
            )
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 200

    known, unknown = median_ms(timings["known"]), median_ms(timings["unknown"])
    assert 0.5 < unknown / known < 2, (known, unknown)
    print(f"portal sign-in with Argon2, median of 5: known account {known} ms, unknown account {unknown} ms")


def test_pin_entry_takes_as_long_for_a_pin_that_does_not_exist(client, settings, staff):
    # Production's hashers: a PIN is checked by the password hasher its hash names (Argon2).
    settings.PIN_HASHER = "registration.pins.PinHasher"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    link = PatientContactFactory()
    issued = services.pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff)
    lookup = issued.code[:4]
    born = link.patient.date_of_birth.isoformat()
    codes = {
        "known": lambda n: f"{lookup}-ZZZZ-ZZZ{n}",  # an issued PIN's first group, a wrong secret
        "unknown": lambda n: f"{'YYYY' if lookup != 'YYYY' else 'XXXX'}-ZZZZ-ZZZ{n}",
    }
    url = reverse("portal:pin-start")
    timings = {"known": [], "unknown": []}
    for n in range(6):
        for kind, code in codes.items():
            data = {"pin": code(n), "child_birth_date": born} | account_fields("rosa@example.org")
            started = time.perf_counter()
            response = client.post(url, data, REMOTE_ADDR=address(n))
            if n:  # the first round warms up
                timings[kind].append(time.perf_counter() - started)
            assert b"match our records" in response.content

    known, unknown = median_ms(timings["known"]), median_ms(timings["unknown"])
    assert 0.5 < unknown / known < 2, (known, unknown)
    print(f"PIN entry with Argon2id, median of 5: a real PIN's lookup {known} ms, unknown {unknown} ms")


def test_password_reset_takes_as_long_for_an_unknown_address(
    client, settings, parent, clock, django_capture_on_commit_callbacks
):
    """The request only queues the email; the provider (here 250 ms a send) is called in the background.

    Measured the way Django's PasswordResetView works too (the email sent in the request, through the
    immediate task backend), to show the difference the test would catch.
    """
    settings.MAILERS = {"default": {"BACKEND": "tests.delivery.fakes.FlakyEmailBackend"}}
    fakes.FlakyEmailBackend.state = provider = fakes.EmailProviderState(seconds=0.25)
    url = reverse("portal:password-reset")

    def medians(rounds: int) -> dict[str, float]:
        timings = {"known": [], "unknown": []}
        for n in range(rounds):
            clock.move(60 * 60)  # past the 5 resets an hour an email may ask for
            for kind, email in (("known", parent.user.email), ("unknown", f"nobody{n}@example.org")):
                started = time.perf_counter()
                with django_capture_on_commit_callbacks(execute=True):  # the enqueue, as on commit
                    response = client.post(url, {"email": email}, REMOTE_ADDR=address(n))
                if n:  # the first round warms up
                    timings[kind].append(time.perf_counter() - started)
                assert response["Location"] == reverse("portal:password-reset-sent")
        return {kind: median_ms(times) for kind, times in timings.items()}

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # production's queue
    queued = medians(6)
    assert provider.attempted == []  # no request called the provider
    assert ParentAccountEmail.objects.count() == 1  # one email waits; asking again adds none
    call_command("send_welcome_messages", stdout=io.StringIO())  # the sweep (or the worker) sends it
    assert [email.to for email in provider.attempted] == [[parent.user.email]]
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    in_request = medians(6)
    assert len(provider.attempted) == 1 + 6

    assert 0.5 < queued["unknown"] / queued["known"] < 2, queued
    assert in_request["known"] - in_request["unknown"] > 200, in_request  # the test can tell
    print(
        f"password reset, median of 5, provider 250 ms a send: queued (as now) known {queued['known']} ms, "
        f"unknown {queued['unknown']} ms, 0 provider calls in the requests; sent in the request (Django's "
        f"way) known {in_request['known']} ms, unknown {in_request['unknown']} ms"
    )
