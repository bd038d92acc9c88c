"""Races between parents and staff acting on the same rows at once (PostgreSQL row locks).

Each test starts its calls together in threads, each thread with its own database connection, and
checks that exactly the right number succeed and the rest fail with a `RegistrationError` (never a
database error). Run with `-s` to see the outcome counts.
"""

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from accounts.models import User
from registration.models import AuditEvent, Pin, PortalAccess, PortalAccount, SelfRegistrationRequest
from registration.services.accounts import account_disable_duplicate
from registration.services.errors import (
    AccountDisabled,
    EmailInUse,
    PinAlreadyUsed,
    PinLocked,
    PinNotAccepted,
    RegistrationError,
    RequestAlreadyDecided,
)
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.self_registration import self_registration_authenticate
from tests.factories import (
    ChildDetailsFactory,
    NewAccountFactory,
    PatientContactFactory,
    StaffFactory,
    confirmed_self_registration,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_at_once(calls: list[Callable]) -> list:
    """Run each call in its own thread, all released together; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, call):
        try:
            connection.ensure_connection()  # connect first, so the calls themselves start together
            barrier.wait(timeout=30)
            outcomes[i] = call()
        except Exception as error:  # the outcome under test
            outcomes[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a call never finished"
    return outcomes


def outcome_counts(name: str, outcomes: list) -> Counter:
    counts = Counter(type(o).__name__ if isinstance(o, Exception) else "ok" for o in outcomes)
    print(f"\n{name}: {dict(counts)}")
    return counts


def successes(outcomes):
    return [o for o in outcomes if not isinstance(o, Exception)]


def test_ten_parents_redeeming_one_pin_at_once_make_one_access(issue_pin):
    link = PatientContactFactory()
    issued = issue_pin(link)
    accounts = [NewAccountFactory(email=f"racer{i}@example.net") for i in range(10)]

    def redeem(details):
        return lambda: pin_redeem(
            code=issued.code, child_birth_date=link.patient.date_of_birth, new_account=details
        )

    outcomes = run_at_once([redeem(details) for details in accounts])

    counts = outcome_counts("ten parents, one PIN", outcomes)
    assert counts == {"ok": 1, "PinAlreadyUsed": 9}
    assert all(isinstance(o, PinAlreadyUsed) for o in outcomes if isinstance(o, Exception))
    [access] = successes(outcomes)
    assert list(PortalAccess.objects.all()) == [access]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PIN_REDEEMED).count() == 1
    # The losers' accounts were rolled back with their transactions.
    assert User.objects.filter(email__startswith="racer").count() == 1
    issued.pin.refresh_from_db()
    assert issued.pin.redeemed_by == access.account


def test_wrong_birth_dates_typed_at_once_are_all_counted(issue_pin):
    link = PatientContactFactory()
    issued = issue_pin(link)
    wrong = link.patient.date_of_birth - dt.timedelta(days=1)
    accounts = NewAccountFactory.build_batch(10)

    def redeem(details):
        return lambda: pin_redeem(code=issued.code, child_birth_date=wrong, new_account=details)

    outcomes = run_at_once([redeem(details) for details in accounts])

    counts = outcome_counts("ten wrong birth dates, one PIN", outcomes)
    assert counts == {"PinNotAccepted": 4, "PinLocked": 6}
    assert all(isinstance(o, PinNotAccepted | PinLocked) for o in outcomes)
    issued.pin.refresh_from_db()
    assert issued.pin.failed_attempts == 5
    assert issued.pin.end_reason == Pin.EndReason.LOCKED
    failures = Counter(
        AuditEvent.objects.exclude(action=AuditEvent.Action.PIN_ISSUED).values_list("action", flat=True)
    )
    assert failures == {AuditEvent.Action.PIN_REDEEM_FAILED: 4, AuditEvent.Action.PIN_LOCKED: 1}


def test_staff_issuing_for_one_patient_and_contact_at_once_leave_one_live_pin():
    link = PatientContactFactory()
    desk = [StaffFactory() for _ in range(5)]

    def issue(user):
        return lambda: pin_issue(patient=link.patient, contact=link.contact, path="chart", by=user)

    outcomes = run_at_once([issue(user) for user in desk])

    counts = outcome_counts("five staff issuing for one pair", outcomes)
    assert counts == {"ok": 5}
    live = Pin.objects.filter(redeemed_at__isnull=True, revoked_at__isnull=True)
    assert live.count() == 1
    assert live.get() in [issued.pin for issued in successes(outcomes)]
    assert Pin.objects.filter(end_reason=Pin.EndReason.SUPERSEDED).count() == 4
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PIN_ISSUED).count() == 5


def test_parents_signing_up_with_one_email_at_once_make_one_account(issue_pin):
    links = [PatientContactFactory() for _ in range(4)]
    codes = [issue_pin(link).code for link in links]

    def redeem(link, code):
        return lambda: pin_redeem(
            code=code,
            child_birth_date=link.patient.date_of_birth,
            new_account=NewAccountFactory.build(email="same.parent@example.net"),
        )

    outcomes = run_at_once([redeem(link, code) for link, code in zip(links, codes, strict=True)])

    counts = outcome_counts("four sign-ups, one email", outcomes)
    assert counts == {"ok": 1, "EmailInUse": 3}
    assert all(isinstance(o, EmailInUse) for o in outcomes if isinstance(o, Exception))
    assert User.objects.filter(email__iexact="same.parent@example.net").count() == 1
    assert PortalAccess.objects.count() == 1


def test_staff_authenticating_one_request_at_once_grant_one_access():
    link = PatientContactFactory()
    [request] = confirmed_self_registration(children=[ChildDetailsFactory()], new_account=NewAccountFactory())
    desk = [StaffFactory() for _ in range(5)]

    def authenticate(user, **how):
        return lambda: self_registration_authenticate(request=request, patient=link.patient, by=user, **how)

    outcomes = run_at_once(
        [authenticate(user, contact=link.contact) for user in desk[:3]]
        + [authenticate(user, new_contact_relationship="father") for user in desk[3:]]
    )

    counts = outcome_counts("five staff, one request", outcomes)
    assert counts == {"ok": 1, "RequestAlreadyDecided": 4}
    assert all(isinstance(o, RequestAlreadyDecided) for o in outcomes if isinstance(o, Exception))
    [access] = successes(outcomes)
    assert list(PortalAccess.objects.all()) == [access]
    assert link.patient.contact_links.count() == (1 if access.contact == link.contact else 2)
    request.refresh_from_db()
    assert (request.status, request.access) == (SelfRegistrationRequest.Status.AUTHENTICATED, access)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SELF_REGISTRATION_AUTHENTICATED).count() == 1


def test_admins_disabling_one_duplicate_at_once_disable_it_once(make_duplicate_accounts):
    duplicate, kept = make_duplicate_accounts()
    admins = [StaffFactory(role="Practice admin") for _ in range(4)]

    outcomes = run_at_once(
        [
            lambda admin=admin: account_disable_duplicate(
                duplicate=duplicate, keep=kept, by=admin, reason="Signed up twice"
            )
            for admin in admins
        ]
    )

    counts = outcome_counts("four admins, one duplicate", outcomes)
    assert counts == {"ok": 1, "AccountDisabled": 3}
    assert all(isinstance(o, AccountDisabled) for o in outcomes if isinstance(o, Exception))
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT_DISABLED).count() == 1
    assert kept.accesses.count() == 2


def test_admins_merging_a_pair_in_opposite_directions_at_once_merge_once(make_duplicate_accounts, admin):
    first, second = make_duplicate_accounts()

    outcomes = run_at_once(
        [
            lambda: account_disable_duplicate(duplicate=first, keep=second, by=admin, reason="Twice"),
            lambda: account_disable_duplicate(duplicate=second, keep=first, by=admin, reason="Twice"),
        ]
    )

    counts = outcome_counts("two admins, opposite directions", outcomes)
    assert counts == {"ok": 1, "AccountDisabled": 1}
    assert PortalAccount.objects.filter(disabled_at__isnull=True).count() == 1
    assert all(isinstance(o, RegistrationError) for o in outcomes if isinstance(o, Exception))


# ---------------------------------------------------------------- different operations on the same rows
# These hold one row lock from the test's own connection so that the two calls reach their lock waits in a
# known order, then let go. Whatever the order, both calls must end cleanly: no deadlock error.


def start(call: Callable) -> Callable[[], object]:
    """Run `call` in a thread; return a function that waits for it and gives its result or exception."""
    outcome: list = []

    def run():
        try:
            outcome.append(call())
        except Exception as error:  # the outcome under test
            outcome.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()

    def result():
        thread.join(timeout=60)
        assert not thread.is_alive(), "a call never finished"
        return outcome[0]

    return result


def wait_until_blocked(count: int) -> None:
    """Wait until `count` other connections to the test database are waiting for a lock."""
    deadline = time.monotonic() + 20
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # the view is cached for the transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] >= count:
                return
            assert time.monotonic() < deadline, f"expected {count} calls waiting for a lock"
            time.sleep(0.01)


def test_redeeming_into_an_account_while_it_is_disabled_ends_cleanly(
    issue_pin, make_duplicate_accounts, admin
):
    eldest = PatientContactFactory()
    youngest = PatientContactFactory(contact=eldest.contact)
    duplicate, kept = make_duplicate_accounts(eldest)
    issued = issue_pin(youngest)

    with transaction.atomic():
        Pin.objects.select_for_update().get(pk=issued.pin.pk)  # the PIN is busy: both calls queue up
        redeem = start(
            lambda: pin_redeem(
                code=issued.code, child_birth_date=youngest.patient.date_of_birth, account=duplicate
            )
        )
        wait_until_blocked(1)
        disable = start(
            lambda: account_disable_duplicate(duplicate=duplicate, keep=kept, by=admin, reason="Twice")
        )
        wait_until_blocked(2)
    outcomes = [redeem(), disable()]

    outcome_counts("redeem into an account while an admin disables it", outcomes)
    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, RegistrationError)]
    duplicate.refresh_from_db()
    assert duplicate.is_disabled
    issued.pin.refresh_from_db()
    if issued.pin.redeemed_at is not None:  # the redemption went first and its access moved on
        assert set(kept.accesses.values_list("patient", flat=True)) >= {
            eldest.patient.pk,
            youngest.patient.pk,
        }
    else:
        assert issued.pin.end_reason == Pin.EndReason.ACCOUNT_DISABLED


def test_authenticating_a_request_while_its_account_is_disabled_ends_cleanly(
    make_portal_account, admin, staff
):
    link = PatientContactFactory()
    [request] = confirmed_self_registration(
        children=[ChildDetailsFactory()], new_account=NewAccountFactory(cell_phone="+13125550192")
    )
    duplicate = request.account
    kept = make_portal_account(cell_phone="+13125550192")  # one cell phone: a suggested pair
    assert duplicate.pk < kept.pk  # accounts are locked in id order

    with transaction.atomic():
        PortalAccount.objects.select_for_update().get(pk=kept.pk)  # the kept account is busy
        disable = start(
            lambda: account_disable_duplicate(duplicate=duplicate, keep=kept, by=admin, reason="Twice")
        )
        wait_until_blocked(1)
        authenticate = start(
            lambda: self_registration_authenticate(
                request=request, patient=link.patient, contact=link.contact, by=staff
            )
        )
        wait_until_blocked(2)
    outcomes = [disable(), authenticate()]

    outcome_counts("authenticate a request while an admin disables its account", outcomes)
    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, RegistrationError)]
    request.refresh_from_db()
    assert request.status == SelfRegistrationRequest.Status.AUTHENTICATED
    assert request.access.account == kept


def test_issuing_a_pin_while_the_last_one_is_redeemed_ends_cleanly(issue_pin, staff):
    """Issuing locked the chart link and, through select_related, the family contact; a redemption
    holding the PIN then waited on the contact (its new access refers to it) while the issue waited on
    the PIN to revoke it: a deadlock, one of the two ending in a database error."""
    link = PatientContactFactory()
    issued = issue_pin(link)

    with transaction.atomic():
        Pin.objects.select_for_update().get(pk=issued.pin.pk)  # the PIN is busy: both calls queue up
        redeem = start(
            lambda: pin_redeem(
                code=issued.code, child_birth_date=link.patient.date_of_birth, new_account=NewAccountFactory()
            )
        )
        wait_until_blocked(1)
        issue = start(lambda: pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff))
        wait_until_blocked(2)  # the issue has locked the chart link and waits to revoke the PIN
    outcomes = [redeem(), issue()]

    outcome_counts("issue a PIN while the last one is redeemed", outcomes)
    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, RegistrationError)]
    assert isinstance(outcomes[0], PortalAccess)
    issued.pin.refresh_from_db()
    assert issued.pin.redeemed_at is not None and issued.pin.revoked_at is None
