"""Text messages: written to the outbox folder by default, or sent through Twilio."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SentText:
    """A text the provider took. Its body holds a PIN: read it, never store or log it."""

    sid: str
    body: str = field(repr=False)


class OutboxSmsBackend:
    """Write each text as a file in OUTBOX_DIR, holding what would be sent. Nothing leaves the machine."""

    def send(self, *, to: str, body: str, reference: str) -> str:
        outbox = Path(settings.OUTBOX_DIR)
        outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
        # One file per message reference: a repeated send overwrites rather than adds a copy. Readable
        # by the app's user alone: the text holds a PIN.
        path = outbox / f"sms-{reference}.json"
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(
            json.dumps(
                {
                    "to": to,
                    "from": settings.TWILIO_FROM_NUMBER or "outbox",
                    "body": body,
                    "written_at": timezone.now().isoformat(),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return f"outbox-sms-{reference}"

    def texts_sent(self, *, to: str, since: datetime) -> list[SentText]:
        """The texts written to `to` since `since`."""
        found = []
        for path in sorted(Path(settings.OUTBOX_DIR).glob("sms-*.json")):
            text = json.loads(path.read_text())
            if text["to"] == to and datetime.fromisoformat(text["written_at"]) >= since:
                found.append(SentText(sid=f"outbox-{path.stem}", body=text["body"]))
        return found


# Seconds to wait for Twilio. Its client waits forever by default, which would leave a message
# 'sending' (and its worker stuck) until the stuck-message sweep sends it again.
TWILIO_TIMEOUT_SECONDS = 30
# The newest texts to a number looked at when asking Twilio what it took: the practice sends a number a
# handful a day.
TEXTS_LOOKED_AT = 50


class TwilioSmsBackend:
    """Send through Twilio's Messages API; delivery reports come back to the status callback."""

    def __init__(self):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=TWILIO_TIMEOUT_SECONDS),
        )
        if settings.TWILIO_API_BASE_URL:
            self.client.api.base_url = settings.TWILIO_API_BASE_URL

    def send(self, *, to: str, body: str, reference: str) -> str:
        from django.urls import reverse

        message = self.client.messages.create(
            to=to,
            from_=settings.TWILIO_FROM_NUMBER,
            body=body,
            status_callback=settings.PORTAL_BASE_URL + reverse("twilio-status"),
        )
        return message.sid

    def texts_sent(self, *, to: str, since: datetime) -> list[SentText]:
        """The texts Twilio took for `to` from our number and sent since `since` (newest first).

        Twilio dates a text when it hands it on, within seconds of taking it; a text still in its queue
        has no date yet and is not listed. The sweep asks only about messages stuck for minutes.
        """
        found = self.client.messages.list(
            to=to, from_=settings.TWILIO_FROM_NUMBER, date_sent_after=since, limit=TEXTS_LOOKED_AT
        )
        return [SentText(sid=message.sid, body=message.body or "") for message in found]


def sms_backend():
    return import_string(settings.SMS_BACKEND)()
