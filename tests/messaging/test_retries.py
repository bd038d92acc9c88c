"""Sending through providers that fail: retries with back-off, giving up, and never sending twice."""

import datetime as dt
import sys

import pytest
from django.core import mail
from django.tasks import default_task_backend
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from twilio.base.exceptions import TwilioRestException

from registration import selectors
from registration.messaging import welcome_outbox
from registration.messaging.delivery import welcome_deliver
from registration.messaging.failures import refused_for_good
from registration.messaging.tasks import send_welcome_message
from registration.models import AuditEvent, Pin, PortalStatus, RegistrationPath, WelcomeMessage
from registration.services.errors import PinNotAccepted, PinReplaced
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.welcome_invites import welcome_invite
from tests.factories import AppointmentFactory, NewAccountFactory, PatientContactFactory
from tests.messaging import fakes
from tests.messaging.support import EMAIL, SMS, codes_in, pin_forms
from tests.task_queue import db_worker_batch

Status = WelcomeMessage.Status


@pytest.fixture
def no_backoff(settings):
    """Retries are due as soon as an attempt fails, so each cron run makes the next attempt."""
    settings.WELCOME_RETRY_BASE_SECONDS = 0


def _events(message, action):
    return [
        e.details
        for e in AuditEvent.objects.filter(action=action).order_by("pk")
        if e.details.get("welcome_message_id") == message.pk
    ]


def _assert_redeems(message, code):
    access = pin_redeem(
        code=code, child_birth_date=message.pin.patient.date_of_birth, new_account=NewAccountFactory()
    )
    assert access.pin == message.pin


def _assert_refused(message, code):
    with pytest.raises(PinNotAccepted):
        pin_redeem(
            code=code, child_birth_date=message.pin.patient.date_of_birth, new_account=NewAccountFactory()
        )


# ---------------------------------------------------------------- a provider that recovers


def test_provider_down_for_two_attempts_then_one_message_is_sent(invite, provider, cron, no_backoff):
    provider.fail_next(2)

    message = invite(provider.channel)
    assert message.status == Status.RETRYING
    assert cron() == "released 0 stuck; sent 0, failed 1"
    assert cron() == "released 0 stuck; sent 1, failed 0"
    assert cron() == "released 0 stuck; sent 0, failed 0"

    message.refresh_from_db()
    assert len(provider.attempted) == 3
    assert len(provider.accepted) == 1
    assert (message.status, message.attempts, message.last_error) == (Status.SENT, 3, "")
    assert message.sent_at is not None
    assert message.provider_message_id
    failures = _events(message, AuditEvent.Action.WELCOME_SEND_FAILED)
    assert [(f["attempt"], f["will_retry"], f["status"]) for f in failures] == [
        (1, True, Status.RETRYING),
        (2, True, Status.RETRYING),
    ]
    assert all("provider unavailable" in f["error"] for f in failures)
    assert [s["attempt"] for s in _events(message, AuditEvent.Action.WELCOME_SENT)] == [3]
    # Each attempt minted its own PIN; only the one that went out works.
    *failed_codes, sent_code = codes_in(provider.attempted)
    assert codes_in(provider.accepted) == [sent_code]
    assert len({*failed_codes, sent_code}) == 3
    for code in failed_codes:
        _assert_refused(message, code)
    _assert_redeems(message, sent_code)


def test_twilio_is_sent_the_text_with_the_pin_and_the_status_callback(invite, fake_twilio, settings):
    message = invite(SMS)

    [request] = fake_twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{fakes.TWILIO_ACCOUNT_SID}/Messages.json"
    assert request.auth_user == fakes.TWILIO_ACCOUNT_SID
    assert request.form["To"] == message.address
    assert request.form["From"] == fakes.TWILIO_FROM_NUMBER
    assert request.form["StatusCallback"] == settings.PORTAL_BASE_URL + "/hooks/twilio/status/"
    [code] = codes_in([request.form["Body"]])
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (Status.SENT, request.sid)
    assert request.sid.startswith("SM")
    _assert_redeems(message, code)


def test_twilio_refusing_connections_is_retried(invite, fake_twilio, settings, cron, no_backoff):
    live = settings.TWILIO_API_BASE_URL
    settings.TWILIO_API_BASE_URL = fakes.closed_port_url()

    message = invite(SMS)

    assert message.status == Status.RETRYING
    assert message.last_error.startswith("ConnectionError")
    assert message.next_attempt_at is not None
    settings.TWILIO_API_BASE_URL = live
    assert cron() == "released 0 stuck; sent 1, failed 0"
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert len(fake_twilio.requests) == 1


def test_twilio_that_does_not_answer_is_given_up_on_and_retried(
    invite, fake_twilio, cron, no_backoff, monkeypatch
):
    monkeypatch.setattr("registration.messaging.sms.TWILIO_TIMEOUT_SECONDS", 0.3)
    fake_twilio.stall_next(2)

    message = invite(SMS)

    assert message.status == Status.RETRYING
    assert message.last_error.startswith("ReadTimeout")
    assert cron() == "released 0 stuck; sent 1, failed 0"
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert message.provider_message_id == fake_twilio.requests[-1].sid


# ---------------------------------------------------------------- a provider that stays down


def test_provider_down_for_good_fails_after_the_last_attempt(invite, provider, cron, no_backoff, settings):
    provider.fail_next(100, error="provider unavailable")

    message = invite(provider.channel)
    for _ in range(10):
        cron()

    message.refresh_from_db()
    assert message.attempts == settings.WELCOME_MAX_ATTEMPTS == 5
    assert len(provider.attempted) == 5
    assert provider.accepted == []
    assert message.status == Status.FAILED
    assert message.next_attempt_at is None
    assert message.sent_at is None
    # What staff see on the message: the provider's last answer, not a traceback.
    expected = "AnymailAPIError" if provider.channel == EMAIL else "TwilioRestException 503"
    assert message.last_error.startswith(expected)
    assert "provider unavailable" in message.last_error
    failures = _events(message, AuditEvent.Action.WELCOME_SEND_FAILED)
    assert [f["will_retry"] for f in failures] == [True] * 4 + [False]
    assert failures[-1]["status"] == Status.FAILED
    assert cron() == "released 0 stuck; sent 0, failed 0"
    assert len(provider.attempted) == 5
    # Each attempt replaced the one before's PIN, and the provider refused the last one too (503): it
    # reached nobody, so it is ended, and the patient is not shown as Pending.
    for code in codes_in(provider.attempted):
        _assert_refused(message, code)


def test_a_last_attempt_lost_to_a_timeout_keeps_its_pin(invite, fake_twilio, settings, monkeypatch):
    """Twilio may have taken a text whose answer never came: the parent may hold that PIN."""
    settings.WELCOME_MAX_ATTEMPTS = 1
    monkeypatch.setattr("registration.messaging.sms.TWILIO_TIMEOUT_SECONDS", 0.3)
    fake_twilio.stall_next(2)
    message = invite(SMS)

    message.refresh_from_db()
    print(f"timeout: {message.status}, PIN revoked: {message.pin.revoked_at is not None}")
    assert (message.status, message.last_error[:11]) == (Status.FAILED, "ReadTimeout")
    assert message.pin.revoked_at is None
    _assert_redeems(message, codes_in([r.form.get("Body", "") for r in fake_twilio.requests])[-1])


def test_twilios_answer_reaches_staff_even_when_the_worker_runs_in_a_terminal(
    invite, fake_twilio, monkeypatch
):
    """On a terminal, str() of Twilio's error is coloured and starts with the request line."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    fake_twilio.fail_next(1, status=500, message="Account suspended for review")

    message = invite(SMS)

    assert (
        message.last_error == "TwilioRestException 500: Unable to create record: Account suspended for review"
    )


def test_max_attempts_is_a_setting(invite, email_provider, cron, no_backoff, settings):
    settings.WELCOME_MAX_ATTEMPTS = 2
    email_provider.failures_left = 100

    message = invite(EMAIL)
    cron()
    cron()

    message.refresh_from_db()
    assert (message.status, message.attempts, len(email_provider.attempted)) == (Status.FAILED, 2, 2)


# ---------------------------------------------------------------- never twice, never a replaced PIN


def test_a_sent_message_is_never_sent_again(invite, provider, cron):
    message = invite(provider.channel)
    message.refresh_from_db()
    pin_hash = message.pin.secret_hash

    assert send_welcome_message.call(message.pk) == "not due"
    send_welcome_message.enqueue(message.pk)
    assert cron() == "released 0 stuck; sent 0, failed 0"
    # Even if its retry time had come (a retry queued before a slow success was recorded).
    WelcomeMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert send_welcome_message.call(message.pk) == "not due"

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 1)
    assert len(provider.attempted) == len(provider.accepted) == 1
    assert message.pin.secret_hash == pin_hash, "the PIN that went out still works"


def test_a_failure_reported_after_the_message_was_sent_changes_nothing(invite, email_provider):
    message = invite(EMAIL)

    assert welcome_outbox.welcome_message_attempt_failed(message_id=message.pk, error="late") is None
    welcome_outbox.welcome_message_sent(message_id=message.pk, provider_message_id="other")

    message.refresh_from_db()
    assert (message.status, message.last_error, message.provider_message_id) == (Status.SENT, "", "test-0")


def test_a_message_whose_pin_staff_replaced_before_sending_is_cancelled(invite, email_provider, cron):
    link = PatientContactFactory()
    first = invite(EMAIL, link, send=False)  # its sender has not run yet

    second = invite(EMAIL, link)  # staff send again
    assert cron() == "released 0 stuck; sent 0, failed 0"

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.CANCELLED
    assert first.status_changed_at is not None
    assert first.attempts == 0
    assert second.status == Status.SENT
    assert [email.to for email in mail.outbox] == [[link.contact.email]]
    [cancelled] = _events(first, AuditEvent.Action.WELCOME_CANCELLED)
    assert cancelled["status"] == Status.CANCELLED
    assert send_welcome_message.call(first.pk) == "not due"


def test_a_retry_is_cancelled_if_a_pin_was_issued_from_the_chart_meanwhile(
    invite, email_provider, staff, cron, no_backoff
):
    email_provider.failures_left = 1
    message = invite(EMAIL)
    assert message.status == Status.RETRYING

    pin_issue(patient=message.pin.patient, contact=message.pin.contact, path=RegistrationPath.CHART, by=staff)
    cron()

    message.refresh_from_db()
    assert message.status == Status.CANCELLED
    assert mail.outbox == []


def test_a_message_whose_pin_expired_before_sending_is_cancelled(invite, email_provider):
    message = invite(EMAIL, send=False)

    after_expiry = message.pin.expires_at + dt.timedelta(seconds=1)
    assert welcome_outbox.welcome_message_claim(message_id=message.pk, now=after_expiry) is None

    message.refresh_from_db()
    assert message.status == Status.CANCELLED
    assert email_provider.attempted == []


def test_a_message_whose_pin_was_used_is_cancelled(invite, email_provider, make_portal_account):
    """Not a state the services make today (the PIN is unknown until sent), but the claim checks it."""
    message = invite(EMAIL, send=False)
    account = make_portal_account()
    Pin.objects.filter(pk=message.pin_id).update(redeemed_at=timezone.now(), redeemed_by=account)

    assert send_welcome_message.call(message.pk) == "not due"

    message.refresh_from_db()
    assert message.status == Status.CANCELLED


# ---------------------------------------------------------------- back-off


def test_retry_delay_grows_fourfold_from_the_base(settings):
    settings.WELCOME_RETRY_BASE_SECONDS = 60

    delays = [welcome_outbox.retry_delay(attempt) for attempt in range(1, 5)]

    assert delays == [dt.timedelta(seconds=s) for s in (60, 240, 960, 3840)]


def test_each_failure_schedules_the_next_attempt_later(invite, settings):
    """Driven through the service with explicit times: nothing is tried before it is due."""
    settings.WELCOME_RETRY_BASE_SECONDS = 60
    message = invite(EMAIL, send=False)
    at = timezone.now()

    for attempt, delay in enumerate([60, 240, 960, 3840], start=1):
        claimed = welcome_outbox.welcome_message_claim(message_id=message.pk, now=at)
        assert claimed.message.attempts == attempt
        retry_at = welcome_outbox.welcome_message_attempt_failed(message_id=message.pk, error="down", now=at)
        assert retry_at == at + dt.timedelta(seconds=delay)
        message.refresh_from_db()
        assert (message.status, message.next_attempt_at) == (Status.RETRYING, retry_at)
        early = retry_at - dt.timedelta(seconds=1)
        assert welcome_outbox.welcome_message_claim(message_id=message.pk, now=early) is None
        at = retry_at

    assert welcome_outbox.welcome_message_claim(message_id=message.pk, now=at).message.attempts == 5
    assert welcome_outbox.welcome_message_attempt_failed(message_id=message.pk, error="down", now=at) is None
    message.refresh_from_db()
    assert (message.status, message.next_attempt_at, message.attempts) == (Status.FAILED, None, 5)
    assert welcome_outbox.welcome_message_claim(message_id=message.pk, now=at + dt.timedelta(days=1)) is None


def test_a_backend_that_can_defer_gets_the_retry_queued_for_its_time(invite, email_provider, settings):
    """With a queue that can run tasks later (the database one in production), a failure queues
    the next attempt for when it is due, with the message id as its only argument."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    assert default_task_backend.supports_defer
    email_provider.failures_left = 1
    message = invite(EMAIL)  # queued, not run: the dummy backend runs nothing
    [queued] = default_task_backend.results
    assert (queued.args, queued.kwargs, queued.task.run_after) == ([message.pk], {}, None)

    assert send_welcome_message.call(message.pk) == "failed"

    message.refresh_from_db()
    [_, retry] = default_task_backend.results
    assert retry.task.run_after == message.next_attempt_at
    assert (retry.args, retry.kwargs) == ([message.pk], {})


# ---------------------------------------------------------------- the cron command


def test_cron_sends_what_is_due_and_leaves_what_is_not(invite, email_provider, settings, cron):
    settings.WELCOME_RETRY_BASE_SECONDS = 60
    email_provider.failures_left = 2
    due, later = invite(EMAIL), invite(EMAIL)
    never_started = invite(EMAIL, send=False)  # e.g. the process died before its task ran
    WelcomeMessage.objects.filter(pk=due.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))

    assert cron() == "released 0 stuck; sent 2, failed 0"

    statuses = dict(WelcomeMessage.objects.values_list("pk", "status"))
    assert statuses == {due.pk: Status.SENT, later.pk: Status.RETRYING, never_started.pk: Status.SENT}


def _crash_after_claim(message, *, provider_took_it=False):
    """A sender claims the message (minting its PIN), hands it to the provider if `provider_took_it`,
    and dies before recording the outcome; 11 minutes pass. Return the claim (its PIN)."""
    claimed = welcome_outbox.welcome_message_claim(message_id=message.pk)
    if provider_took_it:
        welcome_deliver(claimed.message, claimed.code)
    WelcomeMessage.objects.filter(pk=message.pk).update(
        sending_since=timezone.now() - dt.timedelta(minutes=11)
    )
    return claimed


def test_cron_sends_a_stuck_text_the_provider_never_took(invite, fake_twilio, cron):
    message = invite(SMS, send=False)
    crashed = _crash_after_claim(message)

    assert cron() == "released 1 stuck; sent 1, failed 0"

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)
    [lookup] = fake_twilio.lookups
    assert (lookup["To"], lookup["From"]) == (message.address, fakes.TWILIO_FROM_NUMBER)
    assert "DateSent>" in lookup
    [released] = _events(message, AuditEvent.Action.WELCOME_SEND_FAILED)
    assert released["error"] == "sender stopped mid-send"
    [code] = codes_in(provider_accepted_texts(fake_twilio))
    _assert_refused(message, crashed.code)
    _assert_redeems(message, code)


def test_cron_records_a_stuck_text_the_provider_took_as_sent_and_does_not_send_it_again(
    invite, fake_twilio, cron
):
    message = invite(SMS, send=False)
    crashed = _crash_after_claim(message, provider_took_it=True)
    [taken] = fake_twilio.accepted

    assert cron() == "released 0 stuck; sent 0, failed 0; 1 stuck found sent by the provider, not sent again"
    assert cron() == "released 0 stuck; sent 0, failed 0"

    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_message_id) == (Status.SENT, 1, taken.sid)
    assert message.sent_at is not None
    assert len(fake_twilio.requests) == 1 and len(fake_twilio.lookups) == 1
    [sent] = _events(message, AuditEvent.Action.WELCOME_SENT)
    assert sent["found_at_provider"] is True
    assert _events(message, AuditEvent.Action.WELCOME_SEND_FAILED) == []
    _assert_redeems(message, crashed.code)  # the one text the parent got carries the PIN that works


def test_a_text_to_the_same_number_for_another_child_is_not_taken_for_the_stuck_one(
    invite, fake_twilio, cron
):
    """Siblings: one parent's phone gets two welcome texts, each with its own PIN."""
    older = invite(SMS)
    sibling = PatientContactFactory(contact=older.pin.contact)
    message = invite(SMS, sibling, send=False)
    crashed = _crash_after_claim(message)

    assert cron() == "released 1 stuck; sent 1, failed 0"

    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_message_id == fake_twilio.accepted[-1].sid != older.provider_message_id
    assert len(fake_twilio.accepted) == 2
    _assert_refused(message, crashed.code)


def test_a_stuck_text_waits_for_a_provider_that_cannot_be_asked(invite, fake_twilio, cron, caplog):
    message = invite(SMS, send=False)
    _crash_after_claim(message, provider_took_it=True)
    fake_twilio.fail_lookups(1)

    assert cron() == "released 0 stuck; sent 0, failed 0; 1 stuck not checked (provider unreachable)"
    assert WelcomeMessage.objects.get(pk=message.pk).status == Status.SENDING
    assert "could not ask the SMS provider" in caplog.text
    assert cron() == "released 0 stuck; sent 0, failed 0; 1 stuck found sent by the provider, not sent again"

    message.refresh_from_db()
    assert (message.status, len(fake_twilio.accepted)) == (Status.SENT, 1)


def test_a_stuck_text_whose_body_the_provider_withholds_is_left_to_staff(invite, fake_twilio, cron):
    """Twilio can redact message bodies; then a text since the claim cannot be matched to its PIN."""
    message = invite(SMS, send=False)
    _crash_after_claim(message, provider_took_it=True)
    fake_twilio.redact_bodies = True

    assert (
        cron()
        == "released 0 stuck; sent 0, failed 0; 1 stuck may not have been sent, left for staff to resend"
    )

    message.refresh_from_db()
    assert (message.status, len(fake_twilio.accepted)) == (Status.UNCERTAIN, 1)


def test_a_stuck_email_is_not_sent_again_but_left_to_staff_as_maybe_not_sent(invite, email_provider, cron):
    """Email providers cannot be asked what they took: resending blindly could send it twice."""
    message = invite(EMAIL, send=False)
    crashed = _crash_after_claim(message, provider_took_it=True)
    assert len(mail.outbox) == 1

    assert (
        cron()
        == "released 0 stuck; sent 0, failed 0; 1 stuck may not have been sent, left for staff to resend"
    )
    assert cron() == "released 0 stuck; sent 0, failed 0"

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (
        Status.UNCERTAIN,
        1,
        "sender stopped mid-send",
    )
    assert len(email_provider.attempted) == len(mail.outbox) == 1
    [event] = _events(message, AuditEvent.Action.WELCOME_MAYBE_SENT)
    assert (event["status"], event["error"]) == (Status.UNCERTAIN, "sender stopped mid-send")
    _assert_redeems(message, crashed.code)  # had it reached the parent, its PIN works


def test_staff_see_a_maybe_sent_email_on_the_chart_and_appointment_and_resend_it(
    invite, email_provider, cron, staff, client, django_capture_on_commit_callbacks
):
    appointment = AppointmentFactory()
    link = PatientContactFactory(patient=appointment.patient)
    message = invite(EMAIL, link, send=False)
    crashed = _crash_after_claim(message, provider_took_it=True)
    cron()
    client.force_login(staff)
    pages = {
        "chart": reverse("staff:patient-chart", args=[link.patient.pk]),
        "appointment": reverse("staff:appointment", args=[appointment.pk]),
    }
    for url in pages.values():
        page = client.get(url).content.decode()
        assert "May not have been sent — resend" in page
        assert reverse("staff:welcome-message", args=[message.pk]) in page
    detail = client.get(reverse("staff:welcome-message", args=[message.pk])).content.decode()
    assert "may or may not have reached the parent" in detail
    assert reverse("staff:welcome-resend", args=[message.pk]) in detail

    with django_capture_on_commit_callbacks(execute=True):
        # Its PIN is still valid: staff confirm replacing it.
        resent = client.post(reverse("staff:welcome-resend", args=[message.pk]), {"replace_outstanding": "1"})

    again = WelcomeMessage.objects.exclude(pk=message.pk).get()
    assert resent["Location"] == reverse("staff:welcome-message", args=[again.pk])
    assert again.status == Status.SENT and len(mail.outbox) == 2
    chart = client.get(pages["chart"]).content.decode()
    assert "May not have been sent — resend" not in chart  # its PIN was replaced: nothing left to do
    assert "May not have been sent" in chart
    with pytest.raises(PinReplaced):
        _assert_redeems(message, crashed.code)
    _assert_redeems(again, codes_in([mail.outbox[-1].body])[0])


def test_cron_leaves_a_message_that_is_still_being_sent(invite, fake_twilio, cron):
    message = invite(SMS, send=False)
    welcome_outbox.welcome_message_claim(message_id=message.pk)
    WelcomeMessage.objects.filter(pk=message.pk).update(
        sending_since=timezone.now() - dt.timedelta(minutes=1)
    )

    assert cron() == "released 0 stuck; sent 0, failed 0"
    assert fake_twilio.lookups == []
    assert cron("--stuck-after", "30") == "released 1 stuck; sent 1, failed 0"

    message.refresh_from_db()
    assert message.status == Status.SENT


def test_settling_a_stuck_message_takes_the_time_and_the_claim_it_was_found_with(invite):
    message = invite(EMAIL, send=False)
    at = timezone.now()
    welcome_outbox.welcome_message_claim(message_id=message.pk, now=at)

    older_than = dt.timedelta(minutes=10)
    assert welcome_outbox.welcome_messages_stuck(older_than=older_than, now=at + older_than) == []
    later = at + older_than + dt.timedelta(seconds=1)
    assert welcome_outbox.welcome_messages_stuck(older_than=older_than, now=later) == [message]
    assert not welcome_outbox.welcome_message_release(message_id=message.pk, claimed_at=later, now=later)
    assert welcome_outbox.welcome_message_release(message_id=message.pk, claimed_at=at, now=later)
    # A second sweep that found it stuck too changes nothing.
    assert not welcome_outbox.welcome_message_maybe_sent(message_id=message.pk, claimed_at=at, now=later)

    message.refresh_from_db()
    assert (message.status, message.next_attempt_at) == (Status.RETRYING, later)


def provider_accepted_texts(fake_twilio) -> list[str]:
    return [request.form["Body"] for request in fake_twilio.accepted]


# ---------------------------------------------------------------- the real queue, on PostgreSQL


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_retries_through_the_database_queue(staff, email_provider, settings, stored_text):
    """django-tasks-db and its worker: the retry is queued by the failed attempt and run by the
    worker; the queue's table holds message ids, never a PIN."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.WELCOME_RETRY_BASE_SECONDS = 0
    assert default_task_backend.supports_defer
    email_provider.failures_left = 2
    link = PatientContactFactory()

    message = welcome_invite(
        patient=link.patient, contact=link.contact, channel=EMAIL, address=link.contact.email, by=staff
    )  # committed: its task is in the queue's table now
    assert DBTaskResult.objects.ready().count() == 1
    for _ in range(10):
        if not DBTaskResult.objects.ready().exists():
            break
        db_worker_batch()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 3)
    assert len(mail.outbox) == 1
    assert len(email_provider.attempted) == 3
    tasks = list(DBTaskResult.objects.order_by("enqueued_at").values("args_kwargs", "status", "return_value"))
    assert tasks == [
        {"args_kwargs": {"args": [message.pk], "kwargs": {}}, "status": "SUCCESSFUL", "return_value": value}
        for value in ("failed", "failed", "sent")
    ]
    codes = codes_in([email.body for email in email_provider.attempted])
    assert len(set(codes)) == 3
    stored = " ".join(value.upper() for _, _, value in stored_text())
    for code in codes:
        assert not [form for form in pin_forms(code) if form in stored]


# ---------------------------------------------------------------- refused for good


def test_a_message_given_up_on_ends_its_pin_so_the_patient_is_not_shown_pending(
    invite, provider, cron, no_backoff
):
    provider.fail_next(100, error="provider unavailable")
    message = invite(provider.channel)
    for _ in range(10):
        cron()

    message.refresh_from_db()
    message.pin.refresh_from_db()
    status = selectors.patient_portal_status(message.pin.patient)
    pin_end = message.pin.end_reason
    print(f"{provider.channel}: {message.status} after {message.attempts} attempts; PIN {pin_end}; {status}")
    assert message.status == Status.FAILED
    assert message.pin.revoked_at is not None and message.pin.end_reason == Pin.EndReason.NOT_DELIVERED
    assert status == PortalStatus.NOT_REGISTERED


def test_a_number_twilio_calls_invalid_is_not_tried_again(invite, fake_twilio, cron, no_backoff):
    fake_twilio.fail_next(1, status=400, code=21211, message="The 'To' number +12025550100 is not valid.")
    message = invite(SMS)
    for _ in range(3):
        cron()

    message.refresh_from_db()
    print(f"Twilio 21211: {message.status} after {message.attempts} attempt(s): {message.last_error}")
    assert (message.status, message.attempts) == (Status.FAILED, 1)
    assert len(fake_twilio.requests) == 1
    assert _events(message, AuditEvent.Action.WELCOME_SEND_FAILED)[0]["permanent"] is True


def test_an_address_the_email_provider_refuses_is_not_tried_again(invite, email_provider, cron, no_backoff):
    email_provider.refuse_recipients = True
    message = invite(EMAIL)
    for _ in range(3):
        cron()

    message.refresh_from_db()
    print(f"recipient refused: {message.status} after {message.attempts} attempt(s): {message.last_error}")
    assert (message.status, message.attempts) == (Status.FAILED, 1)
    assert len(email_provider.attempted) == 1


def test_a_passing_outage_is_still_retried():
    assert not refused_for_good(TwilioRestException(503, "uri", msg="Service unavailable", code=20500))
    assert refused_for_good(TwilioRestException(400, "uri", msg="Unsubscribed recipient", code=21610))
