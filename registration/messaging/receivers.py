"""Signal receivers of the messaging wing, connected by `RegistrationConfig.ready`."""

from anymail.signals import tracking

from registration.models import WelcomeMessage
from registration.services import welcome_delivery


def email_tracking(sender, event, esp_name, **kwargs):
    """Anymail's normalised tracking webhook (it checks the shared secret; the route needs one set)."""
    welcome_delivery.welcome_message_provider_report(
        channel=WelcomeMessage.Channel.EMAIL,
        provider_message_id=event.message_id or "",
        outcome=event.event_type,
    )


def connect() -> None:
    """Take the email provider's delivery reports (anymail's tracking signal)."""
    tracking.connect(email_tracking, dispatch_uid="registration.email_tracking")
