"""A welcome message's PIN exists only in the sender's memory: not in the database, not in the logs,
not in the error staff read, even when a provider quotes it back."""

import logging

import pytest
from django.forms.models import model_to_dict
from django.template import Context, Template

from registration.messaging import welcome_outbox
from registration.messaging.delivery import welcome_content
from registration.models import AuditEvent, WelcomeMessage
from tests.messaging.support import EMAIL, SMS, Provider, codes_in, pin_forms

Status = WelcomeMessage.Status


@pytest.fixture
def logs(caplog):
    """Every log record, at DEBUG, from every logger (those with a level of their own too)."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level:
            caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _log_texts(caplog) -> list[str]:
    texts = []
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args), record.exc_text or ""]
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(str(record.exc_info[1]))
    return texts


def _found(texts, codes) -> list[tuple[str, str]]:
    """The (form of a PIN, text) pairs where a PIN shows in any of its forms."""
    return [
        (form, text) for text in texts for code in codes for form in pin_forms(code) if form in text.upper()
    ]


@pytest.fixture
def both_providers(request):
    return {
        EMAIL: Provider(EMAIL, request.getfixturevalue("email_provider")),
        SMS: Provider(SMS, request.getfixturevalue("fake_twilio")),
    }


def test_after_a_full_send_the_pin_is_in_no_table_and_no_log(
    invite, both_providers, cron, settings, stored_text, logs
):
    settings.WELCOME_RETRY_BASE_SECONDS = 0
    messages = []
    for channel, provider in both_providers.items():
        provider.fail_next(1, error="rejected, message was: {body}")
        messages.append(invite(channel))
    cron()

    codes = []
    for provider in both_providers.values():
        assert len(provider.attempted) == 2
        assert len(provider.accepted) == 1
        codes += codes_in(provider.attempted)
    assert len(set(codes)) == 4
    for message in messages:
        message.refresh_from_db()
        assert message.status == Status.SENT
        assert _found([str(model_to_dict(message)), *map(str, vars(message).values())], codes) == []
    assert _found([value for _, _, value in stored_text()], codes) == []
    assert _found(_log_texts(logs), codes) == []
    # The logs were there to be read: the provider calls and the failed attempts, down to DEBUG.
    loggers = {record.name for record in logs.records}
    assert {"registration.messaging.tasks", "twilio.http_client", "django.tasks"} <= loggers
    assert any(record.levelno == logging.DEBUG for record in logs.records)


@pytest.mark.parametrize(
    "error",
    [
        "could not deliver: {body}",
        "PIN {pin} looks like a password",
        "content filter matched {plain_pin}",
    ],
)
def test_a_pin_quoted_in_a_provider_error_is_scrubbed(invite, provider, cron, settings, logs, error):
    settings.WELCOME_MAX_ATTEMPTS = 2
    settings.WELCOME_RETRY_BASE_SECONDS = 0
    provider.fail_next(2, error=error)

    message = invite(provider.channel)
    assert "[PIN]" in message.last_error
    cron()

    message.refresh_from_db()
    codes = codes_in(provider.attempted)
    assert len(codes) == 2
    assert message.status == Status.FAILED
    assert "[PIN]" in message.last_error, "staff see where the PIN was, not the PIN"
    assert _found([message.last_error], codes) == []
    failures = AuditEvent.objects.filter(action=AuditEvent.Action.WELCOME_SEND_FAILED)
    assert [("[PIN]" in e.details["error"]) for e in failures] == [True, True]
    assert _found([str(e.details) for e in failures], codes) == []
    warnings = [r.getMessage() for r in logs.records if r.name == "registration.messaging.tasks"]
    assert len(warnings) == 2
    assert all("[PIN]" in text for text in warnings)
    assert _found(_log_texts(logs), codes) == []


def test_the_pin_never_shows_in_a_repr(invite, logs):
    """Django's template engine logs the whole context, with repr(), when a variable is missing."""
    message = invite(EMAIL, send=False)
    code = "7KQF-X82Z-913P"
    context = welcome_content(message, code)

    rendered = Template("{{ code }}|{{ missing.thing }}").render(Context(context))

    assert rendered == f"{code}|"
    assert "Exception while resolving variable 'missing'" in logs.text
    assert _found(_log_texts(logs), [code]) == []
    assert _found([repr(context)], [code]) == []
    claimed = welcome_outbox.welcome_message_claim(message_id=message.pk)
    assert _found([repr(claimed)], [claimed.code]) == []


def test_a_text_in_the_outbox_is_readable_by_the_apps_user_alone(outbox_dir):
    """Issue 12, finding 5: outbox files were world-readable (0644), and each holds a PIN."""
    import stat

    from registration.messaging.sms import OutboxSmsBackend

    old = outbox_dir / "sms-7.json"
    outbox_dir.mkdir(parents=True)
    old.write_text("{}")
    old.chmod(0o644)  # written before the change: tightened when sent again
    OutboxSmsBackend().send(to="+12025550143", body="PIN 7KQF-X82Z-913P", reference="7")
    OutboxSmsBackend().send(to="+12025550143", body="PIN 7KQF-X82Z-913P", reference="8")
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in outbox_dir.iterdir()}
    assert modes == {"sms-7.json": 0o600, "sms-8.json": 0o600}
    print(f"outbox files: {', '.join(f'{name} {mode:o}' for name, mode in sorted(modes.items()))}")


def test_an_email_in_the_outbox_is_readable_by_the_apps_user_alone(outbox_dir, settings):
    """Issue 12, finding 5: the default mailer, Django's file mailer, wrote each email 0644 (the umask's)."""
    import stat

    from django.core import mail

    settings.MAILERS = {
        "default": {
            "BACKEND": "registration.messaging.mail_backend.OutboxEmailBackend",
            "OPTIONS": {"file_path": str(outbox_dir)},
        }
    }
    mail.send_mail("Your PIN", "PIN 7KQF-X82Z-913P", None, ["parent@example.org"])
    [written] = outbox_dir.iterdir()
    assert "7KQF-X82Z-913P" in written.read_text()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    print(f"emailed outbox file: {written.name} {stat.S_IMODE(written.stat().st_mode):o}")
