"""Signal receivers of the messaging wing, connected by `RegistrationConfig.ready`."""

from anymail.signals import tracking

from registration.messaging import welcome_outbox
from registration.models import WelcomeMessage


def email_tracking(sender, event, esp_name, **kwargs):
    """Anymail's normalised tracking webhook (it checks the shared secret; the route needs one set)."""
    welcome_outbox.welcome_message_provider_report(
        channel=WelcomeMessage.Channel.EMAIL,
        provider_message_id=event.message_id or "",
        outcome=event.event_type,
    )


def connect() -> None:
    """Take the email provider's delivery reports (anymail's tracking signal)."""
    tracking.connect(email_tracking, dispatch_uid="registration.email_tracking")
