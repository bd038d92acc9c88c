"""What a signed-in request costs before its page's own work: one query, reading the session with its
user (and a parent's portal account), and no write; the roles come from the session, and changing
them ends the user's sessions (issue 17)."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ADMIN_GROUP, FRONT_DESK_GROUP, Session
from accounts.roles import SESSION_ROLES
from accounts.session_store import signed_in_query
from accounts.sessions import user_sessions_end
from registration.models import RegistrationSnapshot
from registration.statistics.snapshots import (
    STATISTICS_SNAPSHOT_ID,
    statistics_snapshot_current,
    statistics_snapshot_take,
)
from tests.factories import StaffFactory, admin_user

pytestmark = pytest.mark.django_db
STAFF_PASSWORD = "correct horse battery staple"  # StaffFactory's
PARENT_PASSWORD = "a long enough pass phrase"  # NewAccountFactory's
WRITES = ("INSERT", "UPDATE", "DELETE")


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def statements(browser: Client, url: str, *, status: int = 200) -> list[str]:
    browser.get(url)  # a first request may write what the page keeps in the session
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(url)
    assert response.status_code == status, response.content[:300]
    return [query["sql"] for query in captured]


def writes(sql: list[str]) -> list[str]:
    return [s for s in sql if s.lstrip().upper().startswith(WRITES)]


def test_a_staff_page_reads_the_session_and_user_in_one_query_and_no_groups():
    sql = statements(signed_in(StaffFactory()), reverse("staff:self-registrations"))

    # session with its user, a page of requests: before, session, user with two EXISTS on the roles
    assert len(sql) == 2
    assert Session._meta.db_table in sql[0] and '"accounts_user"' in sql[0]
    assert not any("auth_group" in s for s in sql)
    assert writes(sql) == []
    print(f"request queue, signed in as front desk: {len(sql)} queries (was 3), no groups read, no write")


def test_a_parent_page_reads_the_session_user_and_portal_account_in_one_query(make_portal_account):
    account = make_portal_account()
    sql = statements(signed_in(account.user), reverse("portal:home"))

    assert Session._meta.db_table in sql[0] and "registration_portalaccount" in sql[0]
    assert not any("auth_group" in s for s in sql[1:])
    assert writes(sql) == []
    assert len(sql) == 5
    print(f"portal home, signed in as a parent: {len(sql)} queries (was 7), no write")


def test_the_session_query_reads_what_the_orm_reads(make_portal_account):
    """The one query made once from the models gives the rows select_related gives."""
    account = make_portal_account(cell_phone="+13125550123")
    staff = StaffFactory()
    for user in (account.user, staff):
        key = signed_in(user).cookies["sessionid"].value
        read = signed_in_query("default").session(key)
        orm = Session.objects.select_related("user", "user__portal_account").get(session_key=key)

        assert [read.session_key, read.session_data, read.expire_date] == [
            orm.session_key,
            orm.session_data,
            orm.expire_date,
        ]
        fields = [f.attname for f in type(user)._meta.concrete_fields]
        assert [getattr(read.user, f) for f in fields] == [getattr(orm.user, f) for f in fields]
        with CaptureQueriesContext(connection) as more:
            theirs = getattr(read.user, "portal_account", None)
        assert more.captured_queries == []  # read with the session, or known to be missing
        if user == staff:
            assert theirs is None
        else:
            assert theirs.cell_phone == orm.user.portal_account.cell_phone and theirs.user is read.user


def test_an_expired_session_signs_nobody_in():
    browser = signed_in(StaffFactory())
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))

    assert browser.get(reverse("staff:dashboard")).status_code == 302


def test_clearsessions_deletes_the_expired_sessions():
    expired, current = signed_in(StaffFactory()), signed_in(StaffFactory())
    Session.objects.filter(session_key=expired.cookies["sessionid"].value).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    call_command("clearsessions")

    assert list(Session.objects.values_list("session_key", flat=True)) == [current.cookies["sessionid"].value]


def test_the_roles_are_kept_in_the_session_at_sign_in(make_portal_account):
    staff, admin, parent = StaffFactory(), admin_user(), make_portal_account().user
    roles = {}
    for user, username, password, site in (
        (staff, staff.username, STAFF_PASSWORD, "staff"),
        (admin, admin.username, STAFF_PASSWORD, "staff"),
        (parent, parent.email, PARENT_PASSWORD, "portal"),
    ):
        browser = Client()
        browser.post(reverse(f"{site}:sign-in"), {"username": username, "password": password})
        roles[user.username] = browser.session[SESSION_ROLES]

    assert roles == {staff.username: [FRONT_DESK_GROUP], admin.username: [ADMIN_GROUP], parent.username: []}


def test_losing_a_role_ends_the_users_sessions_and_the_role_with_them():
    admin = admin_user()
    laptop, desk = signed_in(admin), signed_in(admin)
    assert laptop.get(reverse("staff:duplicates")).status_code == 200

    admin.groups.set([Group.objects.get_or_create(name=FRONT_DESK_GROUP)[0]])
    after = laptop.get(reverse("staff:duplicates"))
    desk_after = desk.get(reverse("staff:dashboard"))

    assert after.status_code == 302 and after["Location"].startswith(reverse("staff:sign-in"))
    assert desk_after.status_code == 302
    again = Client()
    again.post(reverse("staff:sign-in"), {"username": admin.username, "password": STAFF_PASSWORD})
    assert again.get(reverse("staff:dashboard")).status_code == 200
    assert again.get(reverse("staff:duplicates")).status_code == 403
    print("admin made front desk: both sessions ended; signed in again, the duplicates page refuses (403)")


def test_gaining_a_role_ends_the_users_sessions_and_the_next_sign_in_has_it():
    staff = StaffFactory()
    browser = signed_in(staff)
    assert browser.get(reverse("staff:duplicates")).status_code == 403

    Group.objects.get_or_create(name=ADMIN_GROUP)[0].user_set.add(staff)  # from the group's side

    assert browser.get(reverse("staff:duplicates")).status_code == 302
    browser.force_login(staff)
    assert browser.get(reverse("staff:duplicates")).status_code == 200


@pytest.mark.parametrize("change", ["is_superuser", "is_staff", "is_active"])
def test_changing_superuser_staff_or_active_ends_the_users_sessions(change):
    staff, other = StaffFactory(), StaffFactory()
    browser, bystander = signed_in(staff), signed_in(other)
    setattr(staff, change, not getattr(staff, change))
    staff.save()

    assert not Session.objects.filter(user=staff).exists()
    assert browser.get(reverse("staff:dashboard")).status_code == 302
    assert bystander.get(reverse("staff:dashboard")).status_code == 200


def test_saving_a_user_without_changing_their_access_keeps_their_sessions():
    staff = StaffFactory()
    browser = signed_in(staff)
    staff.first_name = "Renamed"
    staff.save()
    staff.save(update_fields=["last_login"])

    assert browser.get(reverse("staff:dashboard")).status_code == 200


def test_renaming_or_deleting_a_role_group_ends_its_members_sessions():
    staff, admin = StaffFactory(), admin_user()
    browser, admin_browser = signed_in(staff), signed_in(admin)
    front_desk = Group.objects.get(name=FRONT_DESK_GROUP)
    front_desk.name = "Front desk (old)"
    front_desk.save()
    Group.objects.get(name=ADMIN_GROUP).delete()

    assert browser.get(reverse("staff:dashboard")).status_code == 302
    assert admin_browser.get(reverse("staff:dashboard")).status_code == 302


def test_a_session_from_before_roles_were_kept_reads_them_from_the_groups():
    staff = StaffFactory()
    browser = signed_in(staff)
    session = browser.session
    del session[SESSION_ROLES]
    session.save()

    assert browser.get(reverse("staff:dashboard")).status_code == 200


def test_signing_out_everywhere_ends_every_session_of_the_user_alone(make_portal_account):
    parent, other = make_portal_account().user, make_portal_account().user
    phone, laptop, others = signed_in(parent), signed_in(parent), signed_in(other)

    with CaptureQueriesContext(connection) as captured:
        ended = user_sessions_end(parent)

    assert ended == 2 and len(captured) == 1
    assert phone.get(reverse("portal:home")).status_code == 302
    assert laptop.get(reverse("portal:home")).status_code == 302
    assert others.get(reverse("portal:home")).status_code == 200


def test_signing_in_writes_the_session_once_and_signing_out_deletes_it_in_one_statement(make_portal_account):
    parent = make_portal_account().user
    browser = Client()
    browser.get(reverse("portal:sign-in"))
    with CaptureQueriesContext(connection) as sign_in:
        browser.post(reverse("portal:sign-in"), {"username": parent.email, "password": PARENT_PASSWORD})
    key = browser.cookies["sessionid"].value
    with CaptureQueriesContext(connection) as sign_out:
        browser.post(reverse("portal:sign-out"))

    table = Session._meta.db_table
    on_sessions = [s["sql"].split()[0] for s in sign_in if table in s["sql"]]
    assert on_sessions == ["INSERT"], on_sessions  # no existence check, no INSERT then UPDATE
    assert [s["sql"].split()[0] for s in sign_out if table in s["sql"] and "DELETE" in s["sql"]] == ["DELETE"]
    assert not Session.objects.filter(session_key=key).exists()


def test_a_stale_snapshot_is_claimed_with_one_update_per_interval(settings):
    """With a task worker, staff pages in the interval after the claim send no UPDATE."""
    settings.STATISTICS_MAX_AGE = 60
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    now = timezone.now()
    statistics_snapshot_take(now=now - dt.timedelta(minutes=5))

    def updates(at):
        with CaptureQueriesContext(connection) as captured:
            statistics_snapshot_current(now=at)
        return [q["sql"] for q in captured if q["sql"].startswith("UPDATE")]

    first = updates(now)
    within = [updates(now + dt.timedelta(seconds=s)) for s in (1, 30, 59)]
    next_interval = updates(now + dt.timedelta(seconds=61))

    assert len(first) == 1 and within == [[], [], []] and len(next_interval) == 1
    assert RegistrationSnapshot.objects.get(pk=STATISTICS_SNAPSHOT_ID).refresh_requested_at > now
    print("stale snapshot, no worker answering: 1 UPDATE at the claim, 0 in the next 59 s, 1 after 61 s")
