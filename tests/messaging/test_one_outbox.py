"""One outbox for every message kind: a welcome message and an email about a parent's account go through
the same state machine (`registration.messaging.outbox`), with the same back-off, give-up and stuck-sender
rules, and every change of their status writes one audit event. Run with `-s` to see each kind's trail.
"""

import datetime as dt

import pytest
from django.utils import timezone

from registration.messaging import account_email_outbox, welcome_outbox
from registration.messaging.account_email_requests import parent_email_queue
from registration.messaging.outbox import STOPPED_MID_SEND
from registration.models import AuditEvent, ParentAccountEmail, WelcomeMessage
from registration.services.accounts import portal_account_verify_email
from registration.services.errors import EmailInUse, PinNotAccepted
from registration.services.pin_redemption import pin_redeem
from tests.factories import NewAccountFactory, PatientContactFactory
from tests.messaging.support import EMAIL

pytestmark = pytest.mark.django_db
Status = WelcomeMessage.Status
KINDS = ["welcome message", "account email"]


class Outbox:
    """The services of one kind, called the same way."""

    def __init__(self, model, claim, failed, message):
        self.model, self._claim, self._failed, self.message = model, claim, failed, message

    def claim(self, now):
        return self._claim(self.message.pk, now)

    def failed(self, now):
        return self._failed(self.message.pk, now)

    def events(self) -> list[tuple]:
        key = self.model.RULES.audit_id_key
        return [
            (e.action, e.details["status"], e.details.get("attempt"), e.details.get("will_retry"))
            for e in AuditEvent.objects.order_by("pk")
            if e.details.get(key) == self.message.pk and e.action != AuditEvent.Action.WELCOME_QUEUED
        ]


@pytest.fixture
def outbox(request, invite, make_portal_account, settings):
    """A welcome message or an account email, queued and not yet sent; both kinds bounded alike."""
    settings.WELCOME_MAX_ATTEMPTS = settings.PARENT_EMAIL_MAX_ATTEMPTS = 3
    settings.WELCOME_RETRY_BASE_SECONDS = settings.PARENT_EMAIL_RETRY_BASE_SECONDS = 60
    if request.param == "welcome message":
        return Outbox(
            WelcomeMessage,
            lambda pk, now: welcome_outbox.welcome_message_claim(message_id=pk, now=now),
            lambda pk, now: welcome_outbox.welcome_message_attempt_failed(
                message_id=pk, error="down", now=now
            ),
            invite(EMAIL, send=False),
        )
    email = parent_email_queue(account=make_portal_account(), kind=ParentAccountEmail.Kind.PASSWORD_RESET)
    return Outbox(
        ParentAccountEmail,
        lambda pk, now: account_email_outbox.parent_email_claim(email_id=pk, now=now),
        lambda pk, now: account_email_outbox.parent_email_attempt_failed(email_id=pk, error="down", now=now),
        email,
    )


@pytest.mark.parametrize("outbox", KINDS, indirect=True)
def test_every_kind_backs_off_fourfold_then_gives_up_after_its_last_attempt(outbox):
    first = at = timezone.now()
    retries = []
    for _ in range(3):
        assert outbox.claim(at) is not None
        retries.append(outbox.failed(at))
        if retries[-1] is not None:
            assert outbox.claim(retries[-1] - dt.timedelta(seconds=1)) is None  # not before it is due
            at = retries[-1]

    assert retries == [first + dt.timedelta(seconds=60), first + dt.timedelta(seconds=60 + 240), None]
    outbox.message.refresh_from_db()
    assert (outbox.message.status, outbox.message.attempts, outbox.message.next_attempt_at) == (
        Status.FAILED,
        3,
        None,
    )
    failed = outbox.model.RULES.failed_action
    assert outbox.events() == [
        (failed, Status.RETRYING, 1, True),
        (failed, Status.RETRYING, 2, True),
        (failed, Status.FAILED, 3, False),
    ]
    print(f"\n{outbox.model.__name__}: retried after 60 s and 240 s, given up after 3; 3 audit events")


@pytest.mark.parametrize("outbox", KINDS, indirect=True)
def test_every_kind_whose_sender_died_mid_send_is_released_once_and_audited(outbox):
    claimed_at = timezone.now() - dt.timedelta(minutes=11)
    assert outbox.claim(claimed_at) is not None  # the sender dies here
    later = timezone.now()

    if outbox.model is WelcomeMessage:
        [stuck] = welcome_outbox.welcome_messages_stuck(older_than=dt.timedelta(minutes=10), now=later)
        assert welcome_outbox.welcome_message_release(message_id=stuck.pk, claimed_at=claimed_at, now=later)
        assert not welcome_outbox.welcome_message_release(
            message_id=stuck.pk, claimed_at=claimed_at, now=later
        )
    else:
        release = account_email_outbox.parent_emails_release_stuck
        assert release(older_than=dt.timedelta(minutes=10), now=later) == [outbox.message.pk]
        assert release(older_than=dt.timedelta(minutes=10), now=later) == []

    outbox.message.refresh_from_db()
    assert (outbox.message.status, outbox.message.next_attempt_at) == (Status.RETRYING, later)
    assert outbox.message.last_error == STOPPED_MID_SEND
    assert outbox.events() == [(outbox.model.RULES.failed_action, Status.RETRYING, 1, True)]
    assert outbox.claim(later) is not None  # due again at once
    print(f"\n{outbox.model.__name__}: stuck 11 minutes, released once, audited once, claimed again")


def test_an_account_email_no_longer_wanted_is_cancelled_and_audited(make_portal_account):
    account = make_portal_account(confirmed=False)
    [email] = ParentAccountEmail.objects.filter(account=account, kind=ParentAccountEmail.Kind.VERIFY)
    portal_account_verify_email(account=account)  # e.g. with the link of an earlier email

    assert account_email_outbox.parent_email_claim(email_id=email.pk) is None

    email.refresh_from_db()
    assert (email.status, email.attempts, email.status_changed_at is not None) == (Status.CANCELLED, 0, True)
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.PARENT_EMAIL_CANCELLED)
    assert (event.account_id, event.actor) == (account.pk, None)
    assert event.details == {
        "parent_email_id": email.pk,
        "kind": "verify",
        "status": "cancelled",
        "reason": "email_verified",
    }


def test_an_account_email_sent_is_audited_with_its_attempt(make_portal_account):
    email = parent_email_queue(account=make_portal_account(), kind=ParentAccountEmail.Kind.EXISTS)
    account_email_outbox.parent_email_claim(email_id=email.pk)

    account_email_outbox.parent_email_sent(email_id=email.pk, provider_message_id="esp-1")

    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.PARENT_EMAIL_SENT)
    assert event.details == {"parent_email_id": email.pk, "kind": "exists", "status": "sent", "attempt": 1}


def test_a_new_account_has_its_confirm_email_queued_by_the_service_that_made_it(
    make_portal_account, django_capture_on_commit_callbacks
):
    """The redemption that makes the account queues the email in its own transaction; it goes on commit."""
    with django_capture_on_commit_callbacks() as handed_over:
        account = make_portal_account(confirmed=False)

    [email] = ParentAccountEmail.objects.all()
    assert (email.account, email.kind, email.status) == (
        account,
        ParentAccountEmail.Kind.VERIFY,
        Status.QUEUED,
    )
    assert len(handed_over) == 1  # the task queue gets it once the redemption commits, not before


@pytest.mark.django_db
def test_a_refused_redemption_queues_no_confirm_email_not_even_to_someone_elses_address(
    issue_pin, make_portal_account, django_capture_on_commit_callbacks
):
    """An attacker holding a PIN types a victim's address for the new account: with a wrong date of
    birth, or with the right one (the address has an account), nothing is queued and nothing is sent."""
    victim = make_portal_account(email="victim@example.net")
    ParentAccountEmail.objects.all().delete()  # the victim's own confirm email, from making the account
    link = PatientContactFactory()
    issued = issue_pin(link)
    wrong_birth_date = link.patient.date_of_birth - dt.timedelta(days=1)

    with django_capture_on_commit_callbacks() as handed_over:
        for born, refusal in ((wrong_birth_date, PinNotAccepted), (link.patient.date_of_birth, EmailInUse)):
            with pytest.raises(refusal):
                pin_redeem(
                    code=issued.code,
                    child_birth_date=born,
                    new_account=NewAccountFactory(email=victim.user.email.upper()),
                )

    assert not ParentAccountEmail.objects.exists()
    assert handed_over == []  # no task for the worker either
