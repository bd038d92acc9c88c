"""Fixtures for sending welcome messages through fake providers."""

from io import StringIO

import pytest
from django.core.management import call_command

from registration.models import WelcomeMessage
from registration.services.welcome_invites import welcome_invite
from tests.factories import PatientContactFactory
from tests.messaging import fakes
from tests.messaging.support import EMAIL, SMS, Provider


@pytest.fixture
def invite(staff, django_capture_on_commit_callbacks):
    """Queue a welcome message as staff do; by default let the invite commit, so it is sent at once.

    With `send=False` the message stays queued, as if the process died before its task ran.
    """

    def make(channel=EMAIL, link=None, *, address=None, send=True, **kwargs) -> WelcomeMessage:
        link = link or PatientContactFactory()
        if address is None:
            address = link.contact.email if channel == EMAIL else str(link.contact.cell_phone)
        with django_capture_on_commit_callbacks(execute=send):
            message = welcome_invite(
                patient=link.patient,
                contact=link.contact,
                channel=channel,
                address=address,
                by=staff,
                **kwargs,
            )
        message.refresh_from_db()
        return message

    return make


@pytest.fixture
def cron():
    """Run `manage.py send_welcome_messages` as cron would; return what it printed."""

    def run(*args) -> str:
        out = StringIO()
        call_command("send_welcome_messages", *args, stdout=out)
        return out.getvalue().strip()

    return run


@pytest.fixture
def email_provider(settings):
    """Every mailer is anymail's test backend, with an outage switch (`.failures_left`)."""
    settings.MAILERS = {"default": {"BACKEND": "tests.messaging.fakes.FlakyEmailBackend"}}
    fakes.FlakyEmailBackend.state = fakes.EmailProviderState()
    return fakes.FlakyEmailBackend.state


@pytest.fixture
def fake_twilio(settings):
    """Texts go through the Twilio backend to a fake Twilio on 127.0.0.1."""
    fake = fakes.FakeTwilio().start()
    settings.SMS_BACKEND = "registration.messaging.sms.TwilioSmsBackend"
    settings.TWILIO_API_BASE_URL = fake.base_url
    settings.TWILIO_ACCOUNT_SID = fakes.TWILIO_ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = fakes.TWILIO_AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = fakes.TWILIO_FROM_NUMBER
    yield fake
    fake.stop()


@pytest.fixture(params=[EMAIL, SMS])
def provider(request) -> Provider:
    """The email provider and then Twilio: each test using this runs once per channel."""
    if request.param == EMAIL:
        return Provider(EMAIL, request.getfixturevalue("email_provider"))
    return Provider(SMS, request.getfixturevalue("fake_twilio"))
