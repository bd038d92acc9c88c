"""Delivery reports: Twilio's signed status callback and anymail's tracking signal."""

import base64

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.test import Client
from twilio.request_validator import RequestValidator

from registration.models import AuditEvent, WelcomeMessage
from tests.messaging import fakes
from tests.messaging.support import EMAIL, SMS

Status = WelcomeMessage.Status
HOOK = "/hooks/twilio/status/"


@pytest.fixture
def csrf_client():
    """Twilio sends no CSRF token: the hook must work with CSRF checks on."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def sent_text_message(invite, fake_twilio):
    message = invite(SMS)
    assert (message.status, message.provider_message_id[:2]) == (Status.SENT, "SM")
    return message


def _twilio_params(message, status="delivered", **extra):
    return {
        "AccountSid": fakes.TWILIO_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "From": fakes.TWILIO_FROM_NUMBER,
        "MessageSid": message.provider_message_id,
        "MessageStatus": status,
        "SmsSid": message.provider_message_id,
        "SmsStatus": status,
        "To": message.address,
        **extra,
    }


def _sign(params, *, token=fakes.TWILIO_AUTH_TOKEN, url=None):
    from django.conf import settings

    return RequestValidator(token).compute_signature(url or settings.PORTAL_BASE_URL + HOOK, params)


def _post(client, params, signature):
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    return client.post(HOOK, params, headers=headers)


def _status_events(message):
    return [
        e
        for e in AuditEvent.objects.filter(action=AuditEvent.Action.WELCOME_STATUS).order_by("pk")
        if e.details["welcome_message_id"] == message.pk
    ]


def _assert_unchanged(message):
    before = (message.status, message.status_changed_at)
    message.refresh_from_db()
    assert (message.status, message.status_changed_at) == before
    assert _status_events(message) == []


# ---------------------------------------------------------------- Twilio


@pytest.mark.parametrize(
    ("reported", "status"),
    [("delivered", Status.DELIVERED), ("undelivered", Status.UNDELIVERED), ("failed", Status.UNDELIVERED)],
)
def test_signed_twilio_report_settles_a_sent_text(csrf_client, sent_text_message, reported, status):
    params = _twilio_params(sent_text_message, reported)

    response = _post(csrf_client, params, _sign(params))

    assert response.status_code == 204
    sent_text_message.refresh_from_db()
    assert sent_text_message.status == status
    assert sent_text_message.status_changed_at is not None
    [event] = _status_events(sent_text_message)
    assert event.details == {
        "welcome_message_id": sent_text_message.pk,
        "status": status,
        "outcome": reported,
    }
    assert (event.actor, event.patient, event.contact) == (
        None,
        sent_text_message.pin.patient,
        sent_text_message.pin.contact,
    )


@pytest.mark.parametrize("reported", ["queued", "sending", "sent", "accepted", "read", ""])
def test_twilio_progress_reports_change_nothing(csrf_client, sent_text_message, reported):
    params = _twilio_params(sent_text_message, reported)

    assert _post(csrf_client, params, _sign(params)).status_code == 204

    _assert_unchanged(sent_text_message)


def test_a_repeated_report_is_recorded_once(csrf_client, sent_text_message):
    params = _twilio_params(sent_text_message, "delivered")

    for _ in range(2):
        assert _post(csrf_client, params, _sign(params)).status_code == 204

    assert len(_status_events(sent_text_message)) == 1


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("bm90IGEgc2lnbmF0dXJl", id="garbage"),
        pytest.param("wrong token", id="wrong token"),
        pytest.param("other url", id="signed for another address"),
        pytest.param("other params", id="params changed after signing"),
    ],
)
def test_a_report_without_a_good_signature_is_refused(csrf_client, sent_text_message, signature):
    params = _twilio_params(sent_text_message, "undelivered")
    if signature == "wrong token":
        signature = _sign(params, token="someone-elses-token")
    elif signature == "other url":
        signature = _sign(params, url="https://attacker.example" + HOOK)
    elif signature == "other params":
        signature = _sign(_twilio_params(sent_text_message, "delivered"))

    response = _post(csrf_client, params, signature)

    assert response.status_code == 403
    _assert_unchanged(sent_text_message)


def test_reports_are_refused_when_no_twilio_token_is_configured(csrf_client, sent_text_message, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    params = _twilio_params(sent_text_message)

    assert _post(csrf_client, params, _sign(params, token="")).status_code == 403

    _assert_unchanged(sent_text_message)


def test_a_report_for_an_unknown_message_is_ignored(csrf_client, sent_text_message):
    params = _twilio_params(sent_text_message, MessageSid="SM" + "f" * 32, SmsSid="SM" + "f" * 32)

    assert _post(csrf_client, params, _sign(params)).status_code == 204

    _assert_unchanged(sent_text_message)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.WELCOME_STATUS).exists()


def test_a_report_for_a_message_not_sent_yet_is_ignored(csrf_client, invite, fake_twilio):
    fake_twilio.fail_next(1)
    message = invite(SMS)
    assert message.status == Status.RETRYING
    params = _twilio_params(message, "delivered", MessageSid="SM" + "e" * 32)

    assert _post(csrf_client, params, _sign(params)).status_code == 204

    _assert_unchanged(message)


def test_the_hook_takes_only_post(csrf_client):
    assert csrf_client.get(HOOK).status_code == 405


# ---------------------------------------------------------------- email, through anymail


@pytest.fixture
def sent_email(invite, email_provider):
    message = invite(EMAIL)
    assert (message.status, message.provider_message_id) == (Status.SENT, "test-0")
    return message


def _track(event_type, message_id):
    event = AnymailTrackingEvent(event_type=event_type, message_id=message_id, recipient="x@example.org")
    tracking.send(sender=object, event=event, esp_name="Test")


@pytest.mark.parametrize(
    ("reported", "status"),
    [
        ("delivered", Status.DELIVERED),
        ("bounced", Status.BOUNCED),
        ("rejected", Status.BOUNCED),
        ("failed", Status.UNDELIVERED),
    ],
)
def test_anymail_tracking_settles_a_sent_email(sent_email, reported, status):
    _track(reported, sent_email.provider_message_id)

    sent_email.refresh_from_db()
    assert sent_email.status == status
    [event] = _status_events(sent_email)
    assert event.details == {"welcome_message_id": sent_email.pk, "status": status, "outcome": reported}


def test_a_bounce_after_delivery_is_recorded(sent_email):
    _track("delivered", sent_email.provider_message_id)
    _track("bounced", sent_email.provider_message_id)

    sent_email.refresh_from_db()
    assert sent_email.status == Status.BOUNCED
    assert [e.details["outcome"] for e in _status_events(sent_email)] == ["delivered", "bounced"]


@pytest.mark.parametrize("event_type", ["queued", "sent", "opened", "clicked", "deferred", "unknown"])
def test_anymail_events_that_settle_nothing_change_nothing(sent_email, event_type):
    _track(event_type, sent_email.provider_message_id)

    _assert_unchanged(sent_email)


@pytest.mark.parametrize("message_id", ["test-99", "", None])
def test_anymail_events_for_unknown_messages_are_ignored(sent_email, message_id):
    _track("bounced", message_id)

    _assert_unchanged(sent_email)


# ---------------------------------------------------------------- email, through anymail's webhook (HTTP)

EMAIL_HOOK = "/hooks/anymail/postmark/tracking/"  # MAIL_TRACKING_ESP is postmark in the tests
WEBHOOK_SECRET = "anymail:webhook-secret-for-tests"


def _postmark_bounce(message_id):
    return {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "MessageID": message_id,
        "Email": "x@example.org",
        "BouncedAt": "2026-11-30T12:00:00Z",
    }


def _post_to_email_hook(client, report, secret=WEBHOOK_SECRET):
    headers = {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()} if secret else {}
    return client.post(EMAIL_HOOK, report, content_type="application/json", headers=headers)


def test_the_email_webhook_refuses_every_report_while_no_secret_is_set(csrf_client, sent_email, settings):
    """Issue 12, finding 6: with no WEBHOOK_SECRET, anymail took anyone's reports (with a warning)."""
    settings.ANYMAIL = {}
    forged = _postmark_bounce(sent_email.provider_message_id)

    answers = [_post_to_email_hook(csrf_client, forged, secret) for secret in (None, "any:thing")]

    assert [answer.status_code for answer in answers] == [403, 403]
    _assert_unchanged(sent_email)
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    assert _post_to_email_hook(csrf_client, forged).status_code == 200
    sent_email.refresh_from_db()
    assert sent_email.status == Status.BOUNCED
    print(
        "no webhook secret set: a bounce without credentials and one with made-up credentials, both 403, "
        "the email unchanged; with the secret set, the provider's bounce is taken (200, bounced)"
    )


def test_an_email_providers_report_never_changes_a_text(csrf_client, sent_text_message, settings):
    """Issue 12, finding 6: a bounce through the email webhook, carrying a text's Twilio id, bounced it."""
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}

    bounce = _post_to_email_hook(csrf_client, _postmark_bounce(sent_text_message.provider_message_id))
    unknown = _post_to_email_hook(csrf_client, _postmark_bounce("no-such-message"))

    assert (bounce.status_code, unknown.status_code) == (200, 200)  # providers retry on errors
    _assert_unchanged(sent_text_message)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.WELCOME_STATUS).exists()
    print(
        "a signed email bounce carrying a text's provider id: 200, the text still sent, no status event; "
        "one for an unknown id: 200, nothing changed"
    )


def test_a_twilio_report_never_changes_an_email(csrf_client, sent_email, fake_twilio):
    params = _twilio_params(sent_email, "undelivered")

    assert _post(csrf_client, params, _sign(params)).status_code == 204

    _assert_unchanged(sent_email)
