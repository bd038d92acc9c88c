"""What the delivery tests share besides fixtures: a provider seen the same way for either channel."""

import re
from dataclasses import dataclass

from django.core import mail

from registration.models import WelcomeMessage
from tests.conftest import PIN_IN_TEXT

EMAIL = WelcomeMessage.Channel.EMAIL
SMS = WelcomeMessage.Channel.SMS
URL = re.compile(r"""https?://[^\s"'<>]+""")


@dataclass
class Provider:
    """One channel's provider, seen the same way whichever it is."""

    channel: WelcomeMessage.Channel
    fake: object

    def fail_next(self, count: int, error: str = "provider unavailable") -> None:
        if self.channel == EMAIL:
            self.fake.failures_left, self.fake.error = count, error
        else:
            self.fake.fail_next(count, message=error)

    @property
    def attempted(self) -> list[str]:
        """The text of every message handed to the provider, accepted or not."""
        if self.channel == EMAIL:
            return [email.body for email in self.fake.attempted]
        return [request.form.get("Body", "") for request in self.fake.requests]

    @property
    def accepted(self) -> list[str]:
        if self.channel == EMAIL:
            return [email.body for email in mail.outbox]
        return [request.form.get("Body", "") for request in self.fake.accepted]


def codes_in(texts: list[str]) -> list[str]:
    """Every PIN written in these texts."""
    return [code for text in texts for code in PIN_IN_TEXT.findall(text)]


def pin_forms(code: str) -> list[str]:
    """The ways a PIN could be written down: as shown, without dashes, and its secret part."""
    plain = code.replace("-", "")
    return [code, plain, plain[4:]]


def without_pins(text: str, codes: list[str]) -> bool:
    upper = text.upper()
    return not any(form in upper for code in codes for form in pin_forms(code))
