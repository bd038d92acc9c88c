"""The signed-in read kept in Redis (accounts/signed_in_cache.py), shared by every process: a signed-in
request reads no database, and a sign-out, an expiry, a role change, a disabled account or a changed
password made in one process takes effect at once in the others (issue 17).

"Another process" is a thread here: it has its own cache client (Django's caches are per thread), its
own subscription and kept rows (accounts/signed_in_local.py, per thread) and its own database
connection, and the test database commits (transaction=True), as between processes.
"""

import datetime as dt
import os
import socket
import threading
import uuid

import pytest
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import signed_in_cache, signed_in_local
from accounts.models import ADMIN_GROUP, FRONT_DESK_GROUP, Session, User
from accounts.session_store import signed_in_query
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)
REDIS = ("127.0.0.1", 6379)
STAFF_PASSWORD = "correct horse battery staple"  # StaffFactory's
PAGE = "staff:self-registrations"  # a staff page of one query besides the session's


@pytest.fixture(autouse=True)
def redis_cache(settings):
    """The signed-in cache on the machine's Redis, under keys of this test's own."""
    try:
        socket.create_connection(REDIS, timeout=1).close()
    except OSError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        signed_in_cache.ALIAS: {
            "BACKEND": "accounts.signed_in_cache.RedisCache",
            "LOCATION": f"redis://{REDIS[0]}:{REDIS[1]}/0",
            "KEY_PREFIX": f"portalreg-test-{uuid.uuid4().hex}",
            "TIMEOUT": 60,
        },
    }


def in_another_process(work):
    """Run `work` with another cache client and database connection, as another process would."""
    failures = []

    def run():
        try:
            work()
        except BaseException as failure:  # raised again in the test's thread
            failures.append(failure)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def session_reads(browser: Client) -> int:
    """The statements of one request to the page that read the session table."""
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(reverse(PAGE))
    assert response.status_code == 200, response.status_code
    return sum(Session._meta.db_table in query["sql"] for query in captured)


def kept(browser: Client) -> Client:
    """The browser, after a request that leaves its session in the cache."""
    browser.get(reverse(PAGE))
    assert session_reads(browser) == 0
    return browser


def refused(browser: Client) -> bool:
    response = browser.get(reverse(PAGE))
    return response.status_code == 302 and response["Location"].startswith(reverse("staff:sign-in"))


def test_a_signed_in_request_reads_no_database_once_its_session_is_kept():
    browser = signed_in(StaffFactory())
    first = session_reads(browser)
    with CaptureQueriesContext(connection) as captured:
        assert browser.get(reverse(PAGE)).status_code == 200

    assert first == 1
    assert [q for q in captured if Session._meta.db_table in q["sql"]] == []
    print(f"request queue: session read from the database {first}x, then 0x; {len(captured)} query left")


def test_another_process_reads_what_one_kept():
    browser = kept(signed_in(StaffFactory()))
    reads = []
    in_another_process(lambda: reads.append(session_reads(browser)))

    assert reads == [0]


def test_signing_out_in_another_process_ends_the_session_here_at_once():
    staff = StaffFactory()
    here = kept(signed_in(staff))
    there = Client()  # the same browser's cookie, served by another process
    there.cookies["sessionid"] = here.cookies["sessionid"].value

    in_another_process(lambda: there.post(reverse("staff:sign-out")))

    assert here.cookies["sessionid"].value  # still sent: only the cache and the database know
    assert refused(here)
    print("signed out in another process: the session kept here answers with the sign-in page")


def test_disabling_the_account_in_another_process_ends_its_sessions_here():
    staff = StaffFactory()
    browser, bystander = kept(signed_in(staff)), kept(signed_in(StaffFactory()))

    def disable():
        user = User.objects.get(pk=staff.pk)
        user.is_active = False
        user.save()

    in_another_process(disable)

    assert refused(browser)
    assert not refused(bystander)


def test_a_role_change_in_another_process_ends_the_users_sessions_here():
    admin = StaffFactory()
    admin.groups.set([Group.objects.get_or_create(name=ADMIN_GROUP)[0]])
    browser = kept(signed_in(admin))

    in_another_process(lambda: admin.groups.set([Group.objects.get(name=FRONT_DESK_GROUP)]))

    assert refused(browser)


def test_a_password_changed_in_another_process_ends_the_other_sessions_here():
    staff = StaffFactory()
    browser = kept(signed_in(staff))

    def change_password():
        user = User.objects.get(pk=staff.pk)
        user.set_password("another long pass phrase")
        user.save()

    in_another_process(change_password)

    assert refused(browser)


def test_a_kept_session_ends_when_its_expiry_date_passes(monkeypatch):
    browser = kept(signed_in(StaffFactory()))
    expires = Session.objects.get().expire_date
    monkeypatch.setattr(timezone, "now", lambda: expires + dt.timedelta(seconds=1))

    assert refused(browser)


def test_a_row_read_before_a_change_and_kept_after_it_is_not_used():
    """The race: a process reads the session, another ends it, then the first keeps what it read."""
    staff = StaffFactory()
    browser = signed_in(staff)
    key = browser.cookies["sessionid"].value
    query = signed_in_query("default")

    def read_then_sign_out_elsewhere(session_key):
        row = query.row(session_key)  # as it was
        in_another_process(lambda: User.objects.filter(pk=staff.pk).first().save())  # a user changed
        return row

    assert signed_in_cache.signed_in_row(key, read_then_sign_out_elsewhere) is not None
    with CaptureQueriesContext(connection) as captured:
        signed_in_cache.signed_in_row(key, query.row)

    assert len(captured) == 1  # what was kept carries a replaced token: read again


def test_without_redis_the_database_answers_and_signing_in_and_out_still_work(settings):
    settings.CACHES[signed_in_cache.ALIAS]["LOCATION"] = "redis://127.0.0.1:1/0"  # nothing listens
    browser = Client()
    browser.post(reverse("staff:sign-in"), {"username": StaffFactory().username, "password": STAFF_PASSWORD})

    assert session_reads(browser) == 1
    assert session_reads(browser) == 1
    browser.post(reverse("staff:sign-out"))
    assert refused(browser)


def test_the_tokens_are_shared_by_every_client():
    here, there = (
        caches.create_connection(signed_in_cache.ALIAS),
        caches.create_connection(signed_in_cache.ALIAS),
    )
    here.set(signed_in_cache.USERS, "before")

    in_another_process(signed_in_cache.users_changed)

    assert here.get(signed_in_cache.USERS) == there.get(signed_in_cache.USERS) != "before"


@pytest.fixture
def redis_asked(monkeypatch):
    """How many times this thread has asked Redis for a session's entry."""
    asked = []
    cache = caches[signed_in_cache.ALIAS]
    get_many = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda keys: asked.append(keys) or get_many(keys))
    return asked


def test_a_row_kept_in_the_process_is_served_without_asking_redis(redis_asked):
    browser = signed_in(StaffFactory())  # signing in reads the session it replaces
    before = len(redis_asked)
    first = session_reads(browser)  # from the database, kept in Redis and here
    asked = len(redis_asked) - before
    later = [session_reads(browser) for _ in range(3)]

    assert (first, asked) == (1, 1)
    assert later == [0, 0, 0] and len(redis_asked) - before == 1
    print("4 requests: the database asked once, Redis once, the process's own rows 3x")


def test_a_subscription_made_again_drops_what_the_process_kept(redis_asked):
    browser = kept(signed_in(StaffFactory()))
    asked = len(redis_asked)
    signed_in_local._kept.subscription.connection.disconnect()  # a fault; redis-py connects again

    assert session_reads(browser) == 0  # from Redis, not from what this process kept
    assert len(redis_asked) == asked + 1


def test_a_row_is_kept_in_the_process_for_local_seconds_at_most(monkeypatch, redis_asked):
    monkeypatch.setattr(signed_in_local, "LOCAL_SECONDS", 0)
    browser = kept(signed_in(StaffFactory()))
    asked = len(redis_asked)
    session_reads(browser)

    assert len(redis_asked) == asked + 1


def test_a_made_up_session_key_is_not_signed_in_and_leaves_nothing_kept():
    """An attacker's guesses: never answered from the cache, and never cached as a miss either."""
    guessed = Client()
    guessed.cookies["sessionid"] = "x" * 32

    assert refused(guessed) and refused(guessed)
    staff = StaffFactory()
    real = kept(signed_in(staff))
    forged = Client()
    forged.cookies["sessionid"] = real.cookies["sessionid"].value[:-1] + (
        "a" if real.cookies["sessionid"].value[-1] != "a" else "b"
    )
    assert refused(forged)  # one character off a kept session's key
    assert not refused(real)


def test_a_copied_cookie_replayed_after_sign_out_is_refused_in_every_process():
    staff = StaffFactory()
    victim = kept(signed_in(staff))
    thief = Client()
    thief.cookies["sessionid"] = victim.cookies["sessionid"].value
    assert not refused(thief)  # the copy works while the session lives

    victim.post(reverse("staff:sign-out"))
    answers = []
    in_another_process(lambda: answers.append(refused(thief)))

    assert refused(thief) and answers == [True]
