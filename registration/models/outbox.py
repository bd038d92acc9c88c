"""Messages waiting to go out: welcome messages and emails about parents' accounts."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import to_python as phone_parse

from patients.models import FamilyContact
from registration.models.access import Pin, PortalAccount


class WelcomeMessage(models.Model):
    """A welcome email or text holding the portal address and a PIN (the appointment-list path)."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("Text message")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to send")
        SENDING = "sending", _("Sending")
        RETRYING = "retrying", _("Waiting to retry")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")
        UNDELIVERED = "undelivered", _("Not delivered")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Not sent: a newer PIN replaced it")
        # The sender died while handing the message to a provider that cannot say whether it took it
        # (an email provider): staff decide whether to resend.
        UNCERTAIN = "uncertain", _("May not have been sent")

    # Statuses in which the message may still go out.
    PENDING_STATUSES = (Status.QUEUED, Status.RETRYING)

    pin = models.OneToOneField(Pin, on_delete=models.PROTECT, related_name="welcome_message")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(max_length=254)  # an email address, or a phone number in E.164
    language = models.CharField(max_length=5, choices=FamilyContact.Language.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["queued", "retrying"]),
                name="welcome_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.address} ({self.status})"

    @property
    def address_display(self) -> str:
        """The address as staff read it: a phone number in national format, an email as is."""
        if self.channel == self.Channel.SMS:
            number = phone_parse(self.address)
            return number.as_national if number else self.address
        return self.address


class ParentAccountEmail(models.Model):
    """An email about a parent's account (confirm your address; you already have an account; reset your
    password), from queued to sent or failed.

    It holds no link: the link's token is made when the email is sent, from the account as it is then,
    so no table, task argument or log line ever holds one.
    """

    class Kind(models.TextChoices):
        VERIFY = "verify", _("Confirm your email address")
        EXISTS = "exists", _("You already have an account")
        PASSWORD_RESET = "password_reset", _("Reset your password")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to send")
        SENDING = "sending", _("Sending")
        RETRYING = "retrying", _("Waiting to retry")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Not sent: no longer needed")

    # Statuses in which the email may still go out.
    PENDING_STATUSES = (Status.QUEUED, Status.RETRYING)

    account = models.ForeignKey(PortalAccount, on_delete=models.PROTECT, related_name="account_emails")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["queued", "retrying"]),
                name="parent_email_due",
            ),
            models.Index(
                fields=["sending_since"], condition=models.Q(status="sending"), name="parent_email_sending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to account {self.account_id} ({self.status})"
