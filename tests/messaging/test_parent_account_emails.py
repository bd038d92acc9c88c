"""Emails about a parent's account (confirm your address, you already have an account, reset your
password): a durable outbox row each, retried with back-off, never holding the link's token; and the
"send the link again" action. Run with `-s` to see what each test tried.
"""

import datetime as dt
import re

import pytest
from django.core import mail
from django.tasks import default_task_backend
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from registration.messaging import account_email_outbox
from registration.messaging.account_email_requests import parent_email_queue
from registration.messaging.tasks import send_parent_account_email
from registration.models import AuditEvent, ParentAccountEmail, PortalAccount, SelfRegistrationRequest
from registration.services.accounts import account_disable_duplicate, portal_account_verify_email
from registration.services.pins import pin_issue
from tests.factories import NewAccountFactory
from tests.task_queue import db_worker_batch

Kind = ParentAccountEmail.Kind
Status = ParentAccountEmail.Status
LINK = re.compile(
    r"https?://\S+/portal/(?:confirm-email/\?lang=\w+#(?P<key_uid>[^.\s]+)\.(?P<key_token>\S+)"
    r"|password-reset/(?P<uid>[^/\s]+)/(?P<token>[^/\s]+)/)"
)
PASSWORD = "quiet river lantern morning"
EMAIL_LINE = "parent account emails: released {} stuck; sent {}, failed {}"


@pytest.fixture
def no_backoff(settings):
    """Retries are due as soon as an attempt fails, so each cron run makes the next attempt."""
    settings.PARENT_EMAIL_RETRY_BASE_SECONDS = 0


@pytest.fixture
def emails_cron(cron):
    """The cron sweep's line about parent account emails ('' when it had nothing to do)."""

    def run(*args) -> str:
        lines = cron(*args).splitlines()
        return lines[1] if len(lines) > 1 else ""

    return run


def sign_up(client, email="rosa.diaz@example.org", **extra):
    return client.post(
        reverse("portal:sign-up"),
        {
            "account-first_name": "Rosa",
            "account-last_name": "Diaz",
            "account-email": email,
            "account-cell_phone": "",
            "account-password": PASSWORD,
            "account-preferred_language": "en",
            "child-TOTAL_FORMS": "1",
            "child-INITIAL_FORMS": "0",
            "child-0-first_name": "Leo",
            "child-0-last_name": "Diaz",
            "child-0-date_of_birth": "2019-04-17",
        }
        | extra,
    )


def _events(email, action):
    return [
        e.details
        for e in AuditEvent.objects.filter(action=action).order_by("pk")
        if e.details.get("parent_email_id") == email.pk
    ]


def _confirm(body: str, password: str):
    """Follow the email's confirm link from another browser: its key (after '#') and the password."""
    found = LINK.search(body)
    key = f"{found['key_uid']}.{found['key_token']}"
    return Client().post(reverse("portal:verify-email"), {"key": key, "password": password})


def _all_events(email):
    return [e for e in AuditEvent.objects.order_by("pk") if e.details.get("parent_email_id") == email.pk]


# ---------------------------------------------------------------- a provider that recovers, or does not


@pytest.mark.django_db
def test_provider_down_for_the_first_attempts_then_exactly_one_email_is_sent(
    client, email_provider, emails_cron, no_backoff, django_capture_on_commit_callbacks
):
    email_provider.failures_left = 2
    with django_capture_on_commit_callbacks(execute=True):
        assert sign_up(client)["Location"] == reverse("portal:sign-up-sent")

    [email] = ParentAccountEmail.objects.all()
    assert (email.kind, email.status, email.attempts) == (Kind.VERIFY, Status.RETRYING, 1)
    assert emails_cron() == EMAIL_LINE.format(0, 0, 1)
    assert emails_cron() == EMAIL_LINE.format(0, 1, 0)
    assert emails_cron() == ""

    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (Status.SENT, 3, "")
    assert email.provider_message_id == "test-0"
    assert len(email_provider.attempted) == 3
    [sent] = mail.outbox
    assert sent.to == ["rosa.diaz@example.org"] and "Confirm your email" in sent.subject
    # One audit event per change of the email's status: each failed attempt (to be retried), then sent.
    assert [(e.action, e.details["status"], e.details["attempt"]) for e in _all_events(email)] == [
        (AuditEvent.Action.PARENT_EMAIL_FAILED, Status.RETRYING, 1),
        (AuditEvent.Action.PARENT_EMAIL_FAILED, Status.RETRYING, 2),
        (AuditEvent.Action.PARENT_EMAIL_SENT, Status.SENT, 3),
    ]
    # The link, made when the email was sent, confirms the address.
    verified = _confirm(sent.body, PASSWORD)
    assert verified["Location"] == reverse("portal:home")
    assert PortalAccount.objects.get().email_verified_at is not None
    print(
        "\nconfirm-your-email, provider down for 2 attempts: 3 attempts, 1 email sent, "
        "3 audit events (failed twice, to be retried; sent); its link confirmed the address"
    )


@pytest.mark.django_db
def test_provider_down_for_good_fails_after_the_last_attempt(
    make_portal_account, email_provider, emails_cron, no_backoff, settings, django_capture_on_commit_callbacks
):
    email_provider.failures_left, email_provider.error = 100, "ESP is unavailable"
    account = make_portal_account()  # confirmed: its own 'confirm your email' is cancelled, not tried
    with django_capture_on_commit_callbacks(execute=True):
        email = parent_email_queue(account=account, kind=Kind.PASSWORD_RESET)
    crons = [emails_cron() for _ in range(6)]

    email.refresh_from_db()
    assert settings.PARENT_EMAIL_MAX_ATTEMPTS == email.attempts == 5
    assert (email.status, email.next_attempt_at, email.sent_at) == (Status.FAILED, None, None)
    assert email.last_error.startswith("AnymailAPIError") and "ESP is unavailable" in email.last_error
    assert len(email_provider.attempted) == 5 and mail.outbox == []
    assert crons[:4] == [EMAIL_LINE.format(0, 0, 1)] * 4 and crons[4:] == ["", ""]
    failures = _events(email, AuditEvent.Action.PARENT_EMAIL_FAILED)
    assert [(f["kind"], f["attempt"], f["will_retry"]) for f in failures] == [
        (Kind.PASSWORD_RESET, attempt, attempt < 5) for attempt in range(1, 6)
    ]
    assert failures[-1]["status"] == Status.FAILED and len(_all_events(email)) == 5
    print("\npassword reset, provider down for good: 5 attempts, then failed; 5 audit events (failed)")


def test_retries_back_off_fourfold_from_the_base(settings):
    settings.PARENT_EMAIL_RETRY_BASE_SECONDS = 60
    delays = [ParentAccountEmail.retry_delay(attempt) for attempt in range(1, 5)]
    assert delays == [dt.timedelta(seconds=s) for s in (60, 240, 960, 3840)]


@pytest.mark.django_db
def test_nothing_is_tried_before_it_is_due(make_portal_account, settings):
    settings.PARENT_EMAIL_RETRY_BASE_SECONDS = 60
    email = parent_email_queue(account=make_portal_account(confirmed=False), kind=Kind.VERIFY)
    at = timezone.now()

    assert account_email_outbox.parent_email_claim(email_id=email.pk, now=at).attempts == 1
    retry_at = account_email_outbox.parent_email_attempt_failed(email_id=email.pk, error="down", now=at)
    assert retry_at == at + dt.timedelta(seconds=60)
    assert (
        account_email_outbox.parent_email_claim(email_id=email.pk, now=retry_at - dt.timedelta(seconds=1))
        is None
    )
    assert account_email_outbox.parent_email_claim(email_id=email.pk, now=retry_at).attempts == 2


@pytest.mark.django_db
def test_a_backend_that_can_defer_gets_the_retry_queued_for_its_time(
    make_portal_account, email_provider, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    email_provider.failures_left = 1
    with django_capture_on_commit_callbacks(execute=True):
        email = parent_email_queue(account=make_portal_account(confirmed=False), kind=Kind.VERIFY)
    [queued] = default_task_backend.results
    assert (queued.args, queued.kwargs, queued.task.run_after) == ([email.pk], {}, None)

    assert send_parent_account_email.call(email.pk) == "failed"

    email.refresh_from_db()
    [_, retry] = default_task_backend.results
    assert (retry.args, retry.kwargs, retry.task.run_after) == ([email.pk], {}, email.next_attempt_at)


@pytest.mark.django_db
def test_an_email_whose_sender_died_mid_send_is_released_and_sent(
    make_portal_account, email_provider, emails_cron
):
    email = parent_email_queue(account=make_portal_account(confirmed=False), kind=Kind.VERIFY)
    account_email_outbox.parent_email_claim(email_id=email.pk)  # the sender dies here
    ParentAccountEmail.objects.filter(pk=email.pk).update(
        sending_since=timezone.now() - dt.timedelta(minutes=11)
    )

    assert emails_cron() == EMAIL_LINE.format(1, 1, 0)

    email.refresh_from_db()
    assert (email.status, email.attempts, len(mail.outbox)) == (Status.SENT, 2, 1)


@pytest.mark.django_db
def test_an_email_no_longer_needed_is_cancelled_not_sent(
    make_portal_account, make_duplicate_accounts, admin, email_provider, emails_cron
):
    confirmed, (duplicate, kept) = make_portal_account(confirmed=False), make_duplicate_accounts()
    to_confirmed = parent_email_queue(account=confirmed, kind=Kind.VERIFY)
    to_duplicate = parent_email_queue(account=duplicate, kind=Kind.PASSWORD_RESET)
    portal_account_verify_email(account=confirmed)  # e.g. with the link of an earlier email
    account_disable_duplicate(duplicate=duplicate, keep=kept, by=admin, reason="Signed up twice")

    assert emails_cron() == EMAIL_LINE.format(0, 0, 0)

    assert {e.status for e in (to_confirmed, to_duplicate) if not e.refresh_from_db()} == {Status.CANCELLED}
    assert email_provider.attempted == []


@pytest.mark.django_db
def test_asking_again_while_an_email_waits_queues_no_second_one(make_portal_account, email_provider):
    account = make_portal_account(confirmed=False)
    first = parent_email_queue(account=account, kind=Kind.PASSWORD_RESET)
    again = parent_email_queue(account=account, kind=Kind.PASSWORD_RESET)
    other_kind = parent_email_queue(account=account, kind=Kind.VERIFY)

    assert first == again != other_kind
    assert ParentAccountEmail.objects.count() == 2


@pytest.mark.django_db
def test_the_link_is_scrubbed_from_a_provider_error_that_quotes_the_email(
    make_portal_account, email_provider, django_capture_on_commit_callbacks
):
    email_provider.failures_left, email_provider.error = 1, "rejected message: {body}"
    account = make_portal_account(confirmed=False)  # its 'confirm your email' waits: not handed over
    with django_capture_on_commit_callbacks(execute=True):
        email = parent_email_queue(account=account, kind=Kind.PASSWORD_RESET)

    email.refresh_from_db()
    [attempted] = email_provider.attempted
    token = LINK.search(attempted.body)["token"]
    assert "[link]" in email.last_error and token not in email.last_error
    assert not [e for e in AuditEvent.objects.all() if token in repr(e.details)]


# ---------------------------------------------------------------- no token at rest


@pytest.mark.django_db(transaction=True)  # db_worker commits
def test_no_link_token_is_stored_in_any_table(
    client,
    make_portal_account,
    email_provider,
    settings,
    stored_text,
    django_capture_on_commit_callbacks,
):
    """The database queue holds email and account ids only; the tokens exist in the sent emails alone."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    parent = make_portal_account(confirmed=False)
    db_worker_batch()  # the parent's own 'confirm your email', queued when the account was made
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, email="new.parent@example.org")
        sign_up(Client(), email=parent.user.email)  # the owner is told by email instead
        client.post(reverse("portal:password-reset"), {"email": parent.user.email})
    assert mail.outbox == []  # queued, not sent, by the requests
    db_worker_batch()  # makes the rows the notice and the reset asked for, and sends all three

    assert sorted(e.subject.split()[0] for e in mail.outbox) == ["Confirm", "Reset", "You"]
    tokens = [found["token"] or found["key_token"] for e in mail.outbox if (found := LINK.search(e.body))]
    assert len(tokens) == 2
    ids = sorted(ParentAccountEmail.objects.values_list("pk", flat=True))
    asked = [
        ("registration.messaging.tasks.queue_parent_account_email", {"args": [kind, parent.pk], "kwargs": {}})
        for kind in ("exists", "password_reset")
    ]
    sends = [
        ("registration.messaging.tasks.send_parent_account_email", {"args": [pk], "kwargs": {}}) for pk in ids
    ]
    signed_up = SelfRegistrationRequest.objects.values_list("account_id", flat=True).distinct()
    codes = [
        ("registration.messaging.tasks.send_enrollment_codes", {"args": [pk], "kwargs": {}})
        for pk in signed_up
    ]
    tasks = DBTaskResult.objects.values_list("task_path", "args_kwargs")
    assert sorted(tasks, key=repr) == sorted(asked + sends + codes, key=repr)
    stored = stored_text()
    found = [(table, column) for table, column, text in stored for token in tokens if token in text]
    assert found == []
    print(
        f"\n3 account emails (confirm, already have one, password reset) through the database queue: "
        f"{len(stored)} stored values searched for their {len(tokens)} link tokens: {len(found)} found; "
        f"the queue's rows hold an email's id, or a kind of email and an account's id, only"
    )


# ---------------------------------------------------------------- "send the link again"


@pytest.mark.django_db
def test_send_the_link_again_answers_the_same_for_every_address_and_emails_only_an_unconfirmed_account(
    make_portal_account, make_duplicate_accounts, admin, email_provider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # each account's first email goes when made
        unconfirmed, confirmed = make_portal_account(confirmed=False), make_portal_account(confirmed=False)
        disabled, kept = make_duplicate_accounts()
    mail.outbox.clear()
    portal_account_verify_email(account=confirmed)
    account_disable_duplicate(duplicate=disabled, keep=kept, by=admin, reason="Signed up twice")
    addresses = {
        "an unconfirmed account's, typed in capitals": unconfirmed.user.email.upper(),
        "a confirmed account's": confirmed.user.email,
        "a disabled account's": disabled.user.email,
        "nobody's": "nobody@example.org",
    }

    pages = {}
    for kind, address in addresses.items():
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post(reverse("portal:verify-resend"), {"email": address}, follow=True)
        assert response.redirect_chain == [(reverse("portal:sign-up-sent"), 302)], kind
        pages[kind] = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)

    assert len(set(pages.values())) == 1
    assert b"we have sent the link again" in next(iter(pages.values()))
    [sent] = mail.outbox
    assert sent.to == [unconfirmed.user.email] and "Confirm your email" in sent.subject
    assert _confirm(sent.body, "a long enough pass phrase").status_code == 302  # NewAccountFactory's
    unconfirmed.refresh_from_db()
    assert unconfirmed.email_verified_at is not None
    print(
        f"\nsend the link again, {len(addresses)} kinds of address ({', '.join(addresses)}): "
        f"one redirect and one page; 1 email sent, to the unconfirmed account, and its link worked"
    )


@pytest.mark.django_db
def test_the_page_that_says_to_confirm_offers_to_send_the_link_again(client):
    page = client.get(reverse("portal:sign-up-sent"))
    assert f'action="{reverse("portal:verify-resend")}"'.encode() in page.content
    assert b"Send the link again" in page.content
    assert client.get(reverse("portal:verify-resend")).status_code == 405
    invalid = client.post(reverse("portal:verify-resend"), {"email": "not an address"})
    assert invalid.status_code == 200 and b"field-error" in invalid.content
    client.cookies["django_language"] = "es"
    assert "Enviar el enlace de nuevo" in client.get(reverse("portal:sign-up-sent")).content.decode()


@pytest.mark.django_db
def test_a_parent_who_redeemed_a_pin_gets_the_confirm_email_through_the_outbox(
    client, chart, staff, email_provider, django_capture_on_commit_callbacks
):
    issued = pin_issue(patient=chart.patient, contact=chart.contact, path="chart", by=staff)
    data = {"pin": issued.code, "child_birth_date": chart.patient.date_of_birth.isoformat()}
    account = NewAccountFactory(email="pin.parent@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("portal:pin-start"),
            data
            | {
                "account-first_name": account.first_name,
                "account-last_name": account.last_name,
                "account-email": account.email,
                "account-cell_phone": "",
                "account-password": PASSWORD,
                "account-preferred_language": "es",
            },
        )

    [email] = ParentAccountEmail.objects.all()
    assert (email.kind, email.status, email.account.user.email) == (Kind.VERIFY, Status.SENT, account.email)
    [sent] = mail.outbox
    assert "Confirme su correo" in sent.subject  # in the language the parent chose


# ---------------------------------------------------------------- password reset, end to end


@pytest.mark.django_db(transaction=True)  # db_worker commits
def test_password_reset_is_sent_from_the_outbox_and_its_link_sets_the_password(
    client, make_portal_account, email_provider, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # as in production
    parent = make_portal_account(email="forgetful@example.org", confirmed=False)
    db_worker_batch()  # the account's own 'confirm your email', queued when it was made
    mail.outbox.clear()
    email_provider.attempted.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:password-reset"), {"email": "Forgetful@Example.org"})
    assert response["Location"] == reverse("portal:password-reset-sent")
    assert email_provider.attempted == []  # the request made no provider call

    db_worker_batch()  # the worker makes the email and sends it
    [sent] = mail.outbox
    assert sent.to == ["forgetful@example.org"] and "Reset your" in sent.subject
    link = LINK.search(sent.body).group()
    assert link.startswith(settings.PORTAL_BASE_URL)  # never the request's Host header
    form = client.get(link.removeprefix(settings.PORTAL_BASE_URL))["Location"]
    new = "a brand new pass phrase"
    done = client.post(form, {"new_password1": new, "new_password2": new})
    assert done["Location"] == reverse("portal:password-reset-done")
    parent.user.refresh_from_db()
    assert parent.user.check_password(new)
    [event] = AuditEvent.objects.filter(
        action=AuditEvent.Action.PARENT_EMAIL_SENT, details__kind=Kind.PASSWORD_RESET
    )
    assert event.account_id == parent.pk
    spent = client.get(link.removeprefix(settings.PORTAL_BASE_URL))
    assert spent.context["validlink"] is False  # the link worked once


@pytest.mark.django_db
def test_staff_and_unknown_addresses_get_no_reset_email(
    client, staff, email_provider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal:password-reset"), {"email": staff.email})
        client.post(reverse("portal:password-reset"), {"email": "nobody@example.org"})
    assert not ParentAccountEmail.objects.exists()
    assert email_provider.attempted == []


@pytest.mark.django_db
def test_a_sign_up_with_an_existing_email_tells_its_owner_through_the_outbox(
    client, make_portal_account, email_provider, django_capture_on_commit_callbacks
):
    owner = make_portal_account(email="owner@example.org", confirmed=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, email="OWNER@example.org")
    assert response["Location"] == reverse("portal:sign-up-sent")
    [email] = ParentAccountEmail.objects.exclude(kind=Kind.VERIFY)  # the owner's own confirm email waits
    assert (email.account, email.kind, email.status) == (owner, Kind.EXISTS, Status.SENT)
    assert [m.subject.split()[0] for m in mail.outbox] == ["You"]
