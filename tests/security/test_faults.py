"""Faults on PostgreSQL: the database connection dropped in the middle of a request, and the worker
killed in the middle of a send. Run with `-s` to see what each test did.

Covered elsewhere: races between requests (tests/services/test_concurrency.py) and a provider
failing, refusing connections or timing out (tests/messaging/test_retries.py).

Connection drops: this test's connection holds a SHARE lock on the audit table, so a request's
transaction waits at its audit event, which every service writes after its other changes. The waiting
backend is then ended with `pg_terminate_backend()`, as a database restart or failover would end it,
after the request has written everything except its audit event.

Worker kills: `manage.py db_worker` runs with the production settings in a subprocess against this
test's database and sends texts to a fake Twilio, or emails through anymail's Postmark backend to a fake
Postmark, on 127.0.0.1 (tests/messaging/fakes.py). It is SIGKILLed while a message is 'sending'; then
`send_welcome_messages --stuck-after 0` (the cron sweep) and a fresh worker recover the message.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from patients.models import FamilyContact
from registration.models import (
    AuditEvent,
    Pin,
    PortalAccess,
    PortalAccount,
    SelfRegistrationRequest,
    WelcomeMessage,
)
from registration.pin_codes import pin_parse, pin_secret_matches
from registration.services.errors import RegistrationError
from registration.services.pin_redemption import pin_redeem
from registration.services.welcome_invites import welcome_invite
from tests.conftest import PIN_IN_TEXT
from tests.factories import NewAccountFactory, PatientContactFactory
from tests.messaging import fakes
from tests.messaging.fakes import loadtest_fake_provider
from tests.security.support import account_fields, child_fields

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Action = AuditEvent.Action
Status = WelcomeMessage.Status
BASE_DIR = Path(django_settings.BASE_DIR)
POSTMARK_TOKEN = loadtest_fake_provider.TOKEN


# ---------------------------------------------------------------- whole or nothing


def half_done() -> list[str]:
    """Every registration left half made in the database; [] when every change is whole."""
    events = list(AuditEvent.objects.values_list("action", "details"))

    def ids(actions, key):
        found = set()
        for action, details in events:
            if action in actions and key in details:
                value = details[key]
                found |= set(value) if isinstance(value, list) else {value}
        return found

    issued = ids({Action.PIN_ISSUED, Action.WELCOME_QUEUED}, "pin_id")
    redeemed = ids({Action.PIN_REDEEMED}, "pin_id")
    queued = ids({Action.WELCOME_QUEUED}, "welcome_message_id")
    submitted = ids({Action.SELF_REGISTRATION_SUBMITTED}, "request_ids")
    problems = [
        f"PIN {pk} without its audit event"
        for pk in Pin.objects.exclude(pk__in=issued).values_list("pk", flat=True)
    ]
    for pin in Pin.objects.filter(redeemed_at__isnull=False):
        if not PortalAccess.objects.filter(pin=pin, account_id=pin.redeemed_by_id).exists():
            problems.append(f"PIN {pin.pk} redeemed without an access")
        if pin.pk not in redeemed:
            problems.append(f"PIN {pin.pk} redeemed without its audit event")
    for access in PortalAccess.objects.filter(pin__isnull=False).select_related("pin"):
        if access.pin.redeemed_at is None:
            problems.append(f"access {access.pk} without a redeemed PIN")
    for message in WelcomeMessage.objects.all():
        if message.pk not in queued:
            problems.append(f"welcome message {message.pk} without its audit event")
    for request in SelfRegistrationRequest.objects.exclude(pk__in=submitted):
        problems.append(f"self-registration request {request.pk} without its audit event")
    for account in PortalAccount.objects.filter(accesses__isnull=True, self_registrations__isnull=True):
        problems.append(f"portal account {account.pk} with neither an access nor a request")
    orphans = User.objects.filter(portal_account__isnull=True, groups__isnull=True, is_superuser=False)
    problems += [
        f"user {pk} who is neither staff nor a parent" for pk in orphans.values_list("pk", flat=True)
    ]
    return problems


# ---------------------------------------------------------------- a connection dropped mid-request


def _blocked_on_audit() -> list[tuple[int, str]]:
    """Other connections to this database waiting for a lock, as (pid, statement)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # the view is cached for the transaction
        cursor.execute(
            "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchall()


@contextmanager
def audit_writes_held():
    """Hold off every audit event until the block ends: writers wait, with their other changes made."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{AuditEvent._meta.db_table}" IN SHARE MODE')
        yield


def terminate_when_blocked() -> str:
    """End the connection that is waiting to write an audit event; return its statement's start."""
    deadline = time.monotonic() + 20
    while not (blocked := _blocked_on_audit()):
        assert time.monotonic() < deadline, "no request reached its audit event"
        time.sleep(0.01)
    [(pid, query)] = blocked
    assert AuditEvent._meta.db_table in query, query
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True
    return " ".join(query.split()[:3])


def post_cut_off_then_retry(browser: Client, path: str, data: dict, check_cut_off) -> tuple:
    """POST from one thread (a web worker's) and drop its database connection before the audit event;
    run `check_cut_off()` on what is left, then POST the same again from the same thread.

    Return the two responses and the statement the connection was ended in.
    """
    with ThreadPoolExecutor(max_workers=1) as web:
        try:
            with audit_writes_held():
                pending = web.submit(browser.post, path, data)
                statement = terminate_when_blocked()
            cut_off = pending.result(timeout=30)
            check_cut_off()
            retried = web.submit(browser.post, path, data).result(timeout=30)
        finally:
            web.submit(lambda: connection.close()).result(timeout=30)  # the thread's own connection
    return cut_off, retried, statement


def _assert_failed_cleanly(response, statement, name):
    error = response.exc_info[1] if response.exc_info else None
    print(
        f"\n{name}: connection ended in `{statement} ...`; the request answered "
        f"{response.status_code} ({type(error).__name__}: {str(error).splitlines()[0] if error else ''})"
    )
    assert response.status_code == 500
    assert type(error).__module__ == "django.db.utils", repr(error)  # a database error, nothing else


def _actions(*actions) -> Counter:
    return Counter(AuditEvent.objects.filter(action__in=actions).values_list("action", flat=True))


def test_a_pin_redemption_cut_off_before_its_audit_event_leaves_nothing_and_its_retry_registers_once(
    issue_pin,
):
    link = PatientContactFactory()
    issued = issue_pin(link)
    email = "cut.off@example.net"
    data = {
        "pin": issued.code,
        "child_birth_date": link.patient.date_of_birth.isoformat(),
        **account_fields(email),
    }

    def nothing_was_kept():
        issued.pin.refresh_from_db()
        assert issued.pin.redeemed_at is None
        assert issued.pin.redeemed_by is None
        assert not PortalAccess.objects.exists()
        assert not User.objects.filter(email__iexact=email).exists()
        assert not PortalAccount.objects.exists()
        assert _actions(Action.PIN_REDEEMED) == {}
        assert half_done() == []

    browser = Client(raise_request_exception=False)
    cut_off, retried, statement = post_cut_off_then_retry(
        browser, reverse("portal:pin-start"), data, nothing_was_kept
    )

    _assert_failed_cleanly(cut_off, statement, "PIN redemption")
    assert (retried.status_code, retried.url) == (302, reverse("portal:sign-up-sent"))
    [access] = PortalAccess.objects.all()
    issued.pin.refresh_from_db()
    assert issued.pin.redeemed_by == access.account
    assert access.account.user.email == email
    assert _actions(Action.PIN_REDEEMED) == {Action.PIN_REDEEMED: 1}
    assert half_done() == []
    # The retry's browser is the one that chose the password: it may enter a code sent to the contact.
    assert browser.session["portal_account_made_here"] == access.account.pk
    print("retry: 1 access, 1 account, 1 PIN_REDEEMED event; half-made records: 0")


def test_a_welcome_invite_cut_off_before_its_audit_event_leaves_nothing_and_its_retry_sends_once(
    issue_pin, staff
):
    link = PatientContactFactory()
    earlier = issue_pin(link)  # the invite replaces this PIN
    chart_email = link.contact.email
    corrected = "corrected.address@example.org"  # the invite saves it to the contact
    data = {"contact": link.pk, "channel": "email", "address": corrected, "duplicate_override_reason": ""}
    data["replace_outstanding"] = "1"  # staff confirmed replacing the earlier PIN, still valid

    def nothing_was_kept():
        earlier.pin.refresh_from_db()
        assert (earlier.pin.revoked_at, earlier.pin.end_reason) == (None, "")
        assert list(Pin.objects.all()) == [earlier.pin]
        assert not WelcomeMessage.objects.exists()
        assert FamilyContact.objects.get(pk=link.contact.pk).email == chart_email
        assert _actions(Action.WELCOME_QUEUED) == {}
        assert mail.outbox == []  # nothing was queued, so nothing was sent
        assert half_done() == []

    browser = Client(raise_request_exception=False)
    browser.force_login(staff)
    cut_off, retried, statement = post_cut_off_then_retry(
        browser, reverse("staff:welcome-send", args=[link.patient.pk]), data, nothing_was_kept
    )

    _assert_failed_cleanly(cut_off, statement, "staff Register (welcome email)")
    [message] = WelcomeMessage.objects.all()
    assert (retried.status_code, retried.url) == (302, reverse("staff:welcome-message", args=[message.pk]))
    assert (message.status, message.attempts, message.address) == (Status.SENT, 1, corrected)
    assert [email.to for email in mail.outbox] == [[corrected]]
    earlier.pin.refresh_from_db()
    assert earlier.pin.end_reason == Pin.EndReason.SUPERSEDED
    assert FamilyContact.objects.get(pk=link.contact.pk).email == corrected
    assert _actions(Action.WELCOME_QUEUED, Action.WELCOME_SENT) == {
        Action.WELCOME_QUEUED: 1,
        Action.WELCOME_SENT: 1,
    }
    assert half_done() == []
    print("retry: 1 message, sent once; the earlier PIN superseded once; half-made records: 0")


def test_a_sign_up_cut_off_before_its_audit_event_leaves_nothing_and_its_retry_makes_one_request():
    email = "signing.up@example.net"
    data = {**account_fields(email), **child_fields()}

    def nothing_was_kept():
        assert not User.objects.filter(email__iexact=email).exists()
        assert not PortalAccount.objects.exists()
        assert not SelfRegistrationRequest.objects.exists()
        assert mail.outbox == []  # no verification email for an account that does not exist
        assert half_done() == []

    browser = Client(raise_request_exception=False)
    cut_off, retried, statement = post_cut_off_then_retry(
        browser, reverse("portal:sign-up"), data, nothing_was_kept
    )

    _assert_failed_cleanly(cut_off, statement, "self-registration")
    assert (retried.status_code, retried.url) == (302, reverse("portal:sign-up-sent"))
    [request] = SelfRegistrationRequest.objects.all()
    assert request.account.user.email == email
    assert _actions(Action.SELF_REGISTRATION_SUBMITTED) == {Action.SELF_REGISTRATION_SUBMITTED: 1}
    assert [m.to for m in mail.outbox] == [[email]]  # the verification email, once
    assert half_done() == []
    print("retry: 1 account, 1 request, 1 verification email; half-made records: 0")


# ---------------------------------------------------------------- the worker killed mid-send


@pytest.fixture
def twilio():
    fake = fakes.FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def black_hole():
    """An address that takes connections and never reads them: a provider that never got the text."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        host, port = sock.getsockname()
        yield f"http://{host}:{port}"


@pytest.fixture
def manage(tmp_path):
    """Run `manage.py` in a subprocess as production runs it, against this test's database."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portalreg.settings.production",
        "SECRET_KEY": "fault-test-only-" + "x" * 40,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "SMS_BACKEND": "registration.messaging.sms.TwilioSmsBackend",
        "TWILIO_ACCOUNT_SID": fakes.TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": fakes.TWILIO_AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": fakes.TWILIO_FROM_NUMBER,
        "MAIL_BACKEND": "anymail.backends.postmark.EmailBackend",  # production refuses file mailers
        "MAIL_OPTIONS": "{}",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "LOG_LEVEL": "WARNING",
    }
    started = []

    def run(*args, twilio_url: str, postmark_url: str = "") -> subprocess.Popen:
        log = (tmp_path / f"{args[0]}-{len(started)}.log").open("w")
        # Emails through anymail's Postmark backend, to the fake Postmark (or, with none, a closed port).
        anymail = {
            "POSTMARK_SERVER_TOKEN": POSTMARK_TOKEN,
            "POSTMARK_API_URL": postmark_url or "http://127.0.0.1:9/",
            "WEBHOOK_SECRET": "fault-test:not-a-secret",
        }
        mail = {"ANYMAIL": json.dumps(anymail)}
        # Our own manage.py, with arguments from this test.
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env={**env, "TWILIO_API_BASE_URL": twilio_url, **mail},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        process.log = log.name
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _output(process) -> str:
    return Path(process.log).read_text()


def _wait_for(condition, what: str, seconds: float, process=None):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what}: the worker exited ({process.returncode}):\n{_output(process)}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return found


@pytest.fixture
def queue_welcome(staff, settings):
    """Queue a welcome text or email in the database task queue, as production queues it, not yet sent.

    PINs minted by the production settings are Argon2 hashes; this process checks them too."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.PASSWORD_HASHERS = [
        *settings.PASSWORD_HASHERS,
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]

    def queue(channel: WelcomeMessage.Channel) -> WelcomeMessage:
        link = PatientContactFactory()
        email = channel == WelcomeMessage.Channel.EMAIL
        message = welcome_invite(
            patient=link.patient,
            contact=link.contact,
            channel=channel,
            address=link.contact.email if email else str(link.contact.cell_phone),
            by=staff,
        )
        assert DBTaskResult.objects.filter(status="READY").count() == 1
        return message

    return queue


@pytest.fixture
def queued_text(queue_welcome):
    return queue_welcome(WelcomeMessage.Channel.SMS)


@pytest.fixture
def postmark():
    fake = fakes.FakePostmark().start()
    yield fake
    fake.stop()


def _kill_mid_send(manage, message, provider_url, *, reached_provider, postmark_url="") -> float:
    """Start a worker, SIGKILL it once the message is 'sending' and `reached_provider(seconds since
    the claim was seen)` is true; return when it was killed."""
    worker = manage(
        "db_worker",
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        "0.1",
        twilio_url=provider_url,
        postmark_url=postmark_url,
    )
    _wait_for(
        lambda: WelcomeMessage.objects.filter(pk=message.pk, status=Status.SENDING).exists(),
        "the worker to claim the message",
        60,
        worker,
    )
    claimed = time.monotonic()
    _wait_for(lambda: reached_provider(time.monotonic() - claimed), "the worker to be mid-send", 10, worker)
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=10) == -signal.SIGKILL
    return time.monotonic()


def _recover(manage, twilio, postmark_url="") -> str:
    """Run the cron sweep, then a fresh worker until the queue is empty; return what the sweep printed."""
    urls = {"twilio_url": twilio.base_url, "postmark_url": postmark_url}
    sweep = manage("send_welcome_messages", "--stuck-after", "0", **urls)
    assert sweep.wait(timeout=60) == 0, _output(sweep)
    _drain(manage, **urls)
    return _output(sweep).strip()


def _drain(manage, **urls) -> None:
    """Run a fresh worker until the queue is empty."""
    worker = manage("db_worker", "--no-reload", "--batch", **urls)
    assert worker.wait(timeout=60) == 0, _output(worker)


def _redeems(message, code) -> bool:
    try:
        pin_redeem(
            code=code, child_birth_date=message.pin.patient.date_of_birth, new_account=NewAccountFactory()
        )
    except RegistrationError:  # not accepted, or replaced by a newer PIN
        return False
    return True


def _sent_state(message):
    message.refresh_from_db()
    failures = [
        e.details["error"]
        for e in AuditEvent.objects.filter(action__in=[Action.WELCOME_SEND_FAILED, Action.WELCOME_MAYBE_SENT])
        if e.details.get("welcome_message_id") == message.pk
    ]
    sent = [
        e.details
        for e in AuditEvent.objects.filter(action=Action.WELCOME_SENT)
        if e.details["welcome_message_id"] == message.pk
    ]
    tasks = Counter(DBTaskResult.objects.values_list("status", flat=True))
    return failures, sent, tasks


def test_a_worker_killed_before_the_provider_took_the_text_sends_it_once_after_recovery(
    manage, twilio, black_hole, queued_text
):
    """The worker's request never reached the provider (it connected, then hung); it is killed."""
    message = queued_text
    # Half a second after the claim, the worker has connected and written its request.
    killed = _kill_mid_send(manage, message, black_hole, reached_provider=lambda since: since > 0.5)
    assert twilio.requests == []
    assert WelcomeMessage.objects.get(pk=message.pk).status == Status.SENDING

    sweep = _recover(manage, twilio)

    recovered_in = time.monotonic() - killed
    failures, sent, tasks = _sent_state(message)
    accepted = [request for request in twilio.requests if request.sid]
    print(
        f"\nworker killed before the provider took the text: the sweep asked Twilio ({len(twilio.lookups)} "
        f"lookup, no text found), then provider accepted {len(accepted)} text(s) for 1 message; "
        f"sweep: {sweep!r}; recovered in {recovered_in:.1f} s; task rows {dict(tasks)}"
    )
    assert sweep == "released 1 stuck; sent 1, failed 0"
    assert len(twilio.lookups) == 1
    assert len(twilio.requests) == len(accepted) == 1
    assert (message.status, message.attempts, message.provider_message_id) == (
        Status.SENT,
        2,
        accepted[0].sid,
    )
    assert failures == ["sender stopped mid-send"]
    assert len(sent) == 1
    # The killed worker's task row stays 'RUNNING': django-tasks-db does not reclaim it. The sweep is
    # what recovers the message; the fresh worker found nothing left to run.
    assert tasks == {"RUNNING": 1}
    [code] = PIN_IN_TEXT.findall(accepted[0].form["Body"])
    assert _redeems(message, code)


def test_a_worker_killed_while_the_provider_held_the_text_sends_it_once_and_its_pin_works(
    manage, twilio, queued_text
):
    """The provider had the text and accepted it after the worker died. Before sending again, the sweep
    asks Twilio for a text to that number since the claim, carrying the claim's PIN: it finds it and
    records the message as sent with that text's id, so the parent gets one text, whose PIN works."""
    message = queued_text
    stall = 3.0
    twilio.stall_next(stall)  # holds the first text, then accepts it: the worker is dead by then
    killed = _kill_mid_send(manage, message, twilio.base_url, reached_provider=lambda _: twilio.requests)
    first = twilio.requests[0]
    _wait_for(lambda: first.sid, "the provider to accept the first text", stall + 10)

    sweep = _recover(manage, twilio)

    recovered_in = time.monotonic() - killed
    failures, sent, tasks = _sent_state(message)
    accepted = [request for request in twilio.requests if request.sid]
    [code] = PIN_IN_TEXT.findall(accepted[0].form["Body"])
    works = _redeems(message, code)
    print(
        f"\nworker killed while the provider held the text: the sweep asked Twilio ({len(twilio.lookups)} "
        f"lookup) and found it; provider accepted {len(accepted)} text for 1 message (duplicated: "
        f"{len(accepted) - 1}); its PIN works: {works}; sweep: {sweep!r}; recovered in {recovered_in:.1f} s; "
        f"task rows {dict(tasks)}"
    )
    assert sweep == "released 0 stuck; sent 0, failed 0; 1 stuck found sent by the provider, not sent again"
    assert len(twilio.requests) == len(accepted) == 1
    assert len(twilio.lookups) == 1
    assert (message.status, message.attempts, message.provider_message_id) == (Status.SENT, 1, first.sid)
    assert failures == []
    assert [event["found_at_provider"] for event in sent] == [True]
    assert tasks == {"RUNNING": 1}
    assert works


def test_a_worker_killed_while_the_provider_held_the_email_leaves_it_to_staff_who_can_resend(
    manage, twilio, postmark, queue_welcome, staff
):
    """Email providers cannot be asked what they took. The sweep does not send blindly: staff see
    "may not have been sent — resend" on the chart, the email's PIN works until they do, and their
    Resend sends one more email with a new PIN."""
    message = queue_welcome(WelcomeMessage.Channel.EMAIL)
    stall = 3.0
    postmark.stall_next(stall)  # holds the email, then accepts it: the worker is dead by then
    _kill_mid_send(
        manage,
        message,
        twilio.base_url,
        reached_provider=lambda _: postmark.received,
        postmark_url=postmark.url,
    )
    _wait_for(lambda: postmark.accepted, "the provider to accept the email", stall + 10)

    sweep = _recover(manage, twilio, postmark.url)

    failures, sent, _ = _sent_state(message)
    assert (
        sweep
        == "released 0 stuck; sent 0, failed 0; 1 stuck may not have been sent, left for staff to resend"
    )
    assert (message.status, message.attempts) == (Status.UNCERTAIN, 1)
    assert len(postmark.accepted) == 1, "sent once, not again by the sweep"
    assert failures == ["sender stopped mid-send"] and sent == []
    [first_code] = PIN_IN_TEXT.findall(postmark.texts[0])
    pin = Pin.objects.get(pk=message.pin_id)  # had the email reached the parent, its PIN would work
    assert pin_parse(first_code).lookup == pin.lookup and pin_secret_matches(
        pin_parse(first_code), pin.secret_hash
    )
    desk = Client()
    desk.force_login(staff)
    chart = desk.get(reverse("staff:patient-chart", args=[message.pin.patient_id])).content.decode()
    assert "May not have been sent — resend" in chart

    # Its PIN is still valid: staff confirm replacing it.
    resent = desk.post(reverse("staff:welcome-resend", args=[message.pk]), {"replace_outstanding": "1"})
    _drain(manage, twilio_url=twilio.base_url, postmark_url=postmark.url)

    [again] = WelcomeMessage.objects.exclude(pk=message.pk)
    assert resent["Location"] == reverse("staff:welcome-message", args=[again.pk])
    again.refresh_from_db()
    assert (again.status, again.attempts) == (Status.SENT, 1)
    assert len(postmark.accepted) == 2
    [second_code] = PIN_IN_TEXT.findall(postmark.texts[1])
    first_works, second_works = _redeems(message, first_code), _redeems(again, second_code)
    print(
        f"\nworker killed while the provider held the email: provider accepted 1 email; sweep: {sweep!r}; "
        f"its PIN would work; the chart says 'May not have been sent — resend'; staff resent: "
        f"{len(postmark.accepted)} emails in all, the first's PIN works: {first_works}, "
        f"the resent one's: {second_works}"
    )
    assert not first_works and second_works
