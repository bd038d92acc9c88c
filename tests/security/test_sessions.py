"""Sessions: automatic logoff, a new key at sign-in, and disabling an account ends its sessions.

Instead of waiting, the tests move back the times a session recorded at sign-in and on use.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Session
from accounts.sessions import SEEN_AT, SIGNED_IN_AT, clock
from registration.services.accounts import account_disable_duplicate
from tests.factories import StaffFactory
from tests.security.support import PARENT_PASSWORD, STAFF_PASSWORD, signed_in

pytestmark = pytest.mark.django_db
MINUTE, HOUR = 60, 60 * 60


def back_in_time(browser: Client, *, signed_in_at: int = 0, seen_at: int = 0) -> None:
    """Make the browser's session look signed in and last used that many seconds ago."""
    session = browser.session
    now = clock()
    session[SIGNED_IN_AT] = now - signed_in_at
    session[SEEN_AT] = now - seen_at
    session.save()


def test_staff_are_signed_out_after_15_minutes_idle():
    browser = signed_in(StaffFactory())
    back_in_time(browser, seen_at=15 * MINUTE - 1)
    just_in_time = browser.get(reverse("staff:dashboard"))
    back_in_time(browser, seen_at=15 * MINUTE + 1)
    too_late = browser.get(reverse("staff:dashboard"), follow=True)

    assert just_in_time.status_code == 200
    assert too_late.redirect_chain[0][0].startswith(reverse("staff:sign-in"))
    assert b"signed out after 15 minutes without activity" in too_late.content
    assert "_auth_user_id" not in browser.session
    print("staff idle 14 min 59 s: page served; idle 15 min 1 s: signed out and sent to sign in, told why")


def test_staff_are_signed_out_12_hours_after_signing_in_however_active():
    browser = signed_in(StaffFactory())
    back_in_time(browser, signed_in_at=12 * HOUR - MINUTE, seen_at=MINUTE)
    within = browser.get(reverse("staff:dashboard"))
    back_in_time(browser, signed_in_at=12 * HOUR + 1, seen_at=MINUTE)
    after = browser.get(reverse("staff:dashboard"), follow=True)

    assert within.status_code == 200
    assert after.redirect_chain[0][0].startswith(reverse("staff:sign-in"))
    assert b"signed out 12 hours after signing in" in after.content
    print("staff active, 11 h 59 min after sign-in: page served; 12 h 0 min 1 s: signed out")


def test_parents_are_signed_out_after_30_minutes_idle_and_not_before(parent):
    browser = signed_in(parent.user)
    back_in_time(browser, signed_in_at=HOUR, seen_at=30 * MINUTE - 1)
    just_in_time = browser.get(reverse("portal:home"))
    back_in_time(browser, seen_at=30 * MINUTE + 1)
    browser.cookies["django_language"] = "es"
    idle = browser.get(reverse("portal:home"), follow=True)

    assert just_in_time.status_code == 200
    assert idle.redirect_chain[0][0].startswith(reverse("portal:sign-in"))
    assert "Se cerró su sesión tras 30 minutos sin actividad" in idle.content.decode()
    print("parent idle 29 min 59 s: page served; idle 30 min 1 s: signed out, told why in their language")


def test_parents_are_signed_out_12_hours_after_signing_in_however_active(parent):
    """Issue 12, finding 10: a parent's session, kept active, lasted for ever."""
    browser = signed_in(parent.user)
    back_in_time(browser, signed_in_at=12 * HOUR - 1, seen_at=MINUTE)
    within = browser.get(reverse("portal:home"))
    back_in_time(browser, signed_in_at=12 * HOUR + 1, seen_at=MINUTE)
    browser.cookies["django_language"] = "es"
    after = browser.get(reverse("portal:home"), follow=True)

    assert within.status_code == 200
    assert after.redirect_chain[0][0].startswith(reverse("portal:sign-in"))
    assert "Se cerró su sesión 12 horas después de iniciarla" in after.content.decode()
    assert "_auth_user_id" not in browser.session
    print(
        "parent active, 11 h 59 min 59 s after sign-in: page served; 12 h 0 min 1 s: signed out, "
        "told why in their language"
    )


def test_activity_is_written_to_the_session_at_most_once_a_minute(parent):
    browser = signed_in(parent.user)
    back_in_time(browser, seen_at=30)
    with CaptureQueriesContext(connection) as recent:
        browser.get(reverse("portal:home"))
    unchanged = browser.session[SEEN_AT]
    back_in_time(browser, seen_at=61)
    with CaptureQueriesContext(connection) as due:
        browser.get(reverse("portal:home"))

    def session_writes(queries):
        return [q for q in queries if q["sql"].startswith("UPDATE") and Session._meta.db_table in q["sql"]]

    assert session_writes(recent) == [] and unchanged <= clock() - 30
    assert len(session_writes(due)) == 1 and browser.session[SEEN_AT] >= clock() - 1
    print(
        f"a parent's page used 30 s after the last write: {len(recent)} queries, no session write; "
        f"61 s after: {len(due)} queries, one of them the session's UPDATE (in a savepoint here)"
    )


@pytest.mark.parametrize("site", ["portal", "staff"])
def test_the_session_key_changes_at_sign_in(site, parent):
    if site == "portal":
        username, password = parent.user.email, PARENT_PASSWORD
    else:
        username, password = StaffFactory().username, STAFF_PASSWORD
    browser = Client()
    browser.get(reverse(f"{site}:sign-in"))
    fixed = browser.session  # a key an attacker could have planted before sign-in
    fixed["planted"] = True
    fixed.save()
    browser.post(reverse(f"{site}:sign-in"), {"username": username, "password": password})
    new_key = browser.cookies["sessionid"].value

    assert new_key != fixed.session_key
    assert not Session.objects.filter(session_key=fixed.session_key).exists()
    assert Session.objects.get(session_key=new_key).get_decoded()["_auth_user_id"]
    assert Session.objects.get(session_key=new_key).user is not None  # whose it is, for ending it
    print(f"{site} sign-in: session key before and after differ; the old one no longer exists")


def test_disabling_an_account_ends_its_sessions_on_every_device(make_duplicate_accounts, admin):
    duplicate, kept = make_duplicate_accounts()
    phone, laptop, kept_phone = signed_in(duplicate.user), signed_in(duplicate.user), signed_in(kept.user)
    before = [b.get(reverse("portal:home")).status_code for b in (phone, laptop, kept_phone)]
    keys = [phone.cookies["sessionid"].value, laptop.cookies["sessionid"].value]

    account_disable_duplicate(duplicate=duplicate, keep=kept, by=admin, reason="Signed up twice")
    after = [b.get(reverse("portal:home")) for b in (phone, laptop)]

    assert before == [200, 200, 200]
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not Session.objects.filter(user=duplicate.user).exists()
    assert all(r.status_code == 302 and r["Location"].startswith(reverse("portal:sign-in")) for r in after)
    assert kept_phone.get(reverse("portal:home")).status_code == 200
    print(
        "disabled a duplicate signed in on 2 devices: both sessions deleted, both sent to sign in on "
        "their next request; the kept account's session goes on"
    )


def test_signing_out_forgets_the_session(parent):
    browser = Client()
    browser.post(reverse("portal:sign-in"), {"username": parent.user.email, "password": PARENT_PASSWORD})
    key = browser.cookies["sessionid"].value
    assert Session.objects.filter(session_key=key, user=parent.user).exists()

    browser.post(reverse("portal:sign-out"))
    assert not Session.objects.filter(session_key=key).exists()
