"""Messages waiting to go out, one outbox shape for every kind: welcome messages and emails about
parents' accounts. `registration.messaging.outbox` moves them from queued to sent or failed."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import to_python as phone_parse

from patients.models import FamilyContact
from registration.models.access import Pin, PortalAccount, RegistrationPath
from registration.models.audit import AuditEvent

Action = AuditEvent.Action


@dataclass(frozen=True)
class OutboxRules:
    """What the outbox's state machine needs to know of a kind: its audit actions, the settings that
    bound its attempts, the key of its id in audit details, and what a locked message is read with."""

    sent_action: AuditEvent.Action
    failed_action: AuditEvent.Action
    cancelled_action: AuditEvent.Action
    max_attempts_setting: str
    retry_base_seconds_setting: str  # the first retry's delay; each further one is four times longer
    audit_id_key: str
    related: tuple[str, ...] = ()


class OutboxMessage(models.Model):
    """A message from queued to sent or failed, retried with back-off; the fields every kind shares.

    A kind gives its `RULES`, and says whom its audit events are about.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to send")
        SENDING = "sending", _("Sending")
        RETRYING = "retrying", _("Waiting to retry")
        SENT = "sent", _("Sent")
        # A provider's delivery report, after SENT (welcome messages).
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")
        UNDELIVERED = "undelivered", _("Not delivered")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Not sent: no longer needed")
        # The sender died while handing the message to a provider that cannot say whether it took it
        # (an email provider): staff decide whether to resend.
        UNCERTAIN = "uncertain", _("May not have been sent")

    # Statuses in which the message may still go out.
    PENDING_STATUSES = (Status.QUEUED, Status.RETRYING)

    RULES: OutboxRules

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def max_attempts(cls) -> int:
        return getattr(settings, cls.RULES.max_attempts_setting)

    @classmethod
    def retry_delay(cls, attempts: int) -> timedelta:
        """Back off: the base delay, then four times longer after each further failure."""
        base = getattr(settings, cls.RULES.retry_base_seconds_setting)
        return timedelta(seconds=base * 4 ** (attempts - 1))

    def audit_subject(self) -> dict:
        """Whom an audit event about this message is about: `audit_record`'s keyword arguments."""
        raise NotImplementedError

    def audit_identity(self) -> dict:
        """What names this message in its audit events' details."""
        return {self.RULES.audit_id_key: self.pk}


class WelcomeMessage(OutboxMessage):
    """A welcome email or text holding the portal address and a PIN (the appointment-list path)."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("Text message")

    RULES = OutboxRules(
        sent_action=Action.WELCOME_SENT,
        failed_action=Action.WELCOME_SEND_FAILED,
        cancelled_action=Action.WELCOME_CANCELLED,
        max_attempts_setting="WELCOME_MAX_ATTEMPTS",
        retry_base_seconds_setting="WELCOME_RETRY_BASE_SECONDS",
        audit_id_key="welcome_message_id",
        related=("pin",),
    )

    pin = models.OneToOneField(Pin, on_delete=models.PROTECT, related_name="welcome_message")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(max_length=254)  # an email address, or a phone number in E.164
    language = models.CharField(max_length=5, choices=FamilyContact.Language.choices)
    # Looked up by the providers' delivery reports.
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

    def get_status_display(self) -> str:
        """The status as staff read it: a welcome message is not sent when a newer PIN replaced its own."""
        if self.status == self.Status.CANCELLED:
            return gettext("Not sent: a newer PIN replaced it")
        return str(self.Status(self.status).label)

    @property
    def address_display(self) -> str:
        """The address as staff read it: a phone number in national format, an email as is."""
        if self.channel == self.Channel.SMS:
            number = phone_parse(self.address)
            return number.as_national if number else self.address
        return self.address

    def audit_subject(self) -> dict:
        pin = self.pin
        return {
            "path": RegistrationPath.APPOINTMENT_LIST,
            "patient_id": pin.patient_id,
            "contact_id": pin.contact_id,
        }


class ParentAccountEmail(OutboxMessage):
    """An email about a parent's account (confirm your address; you already have an account; reset your
    password), from queued to sent or failed.

    It holds no link: the link's token is made when the email is sent, from the account as it is then,
    so no table, task argument or log line ever holds one.
    """

    class Kind(models.TextChoices):
        VERIFY = "verify", _("Confirm your email address")
        EXISTS = "exists", _("You already have an account")
        PASSWORD_RESET = "password_reset", _("Reset your password")
        ACCESS_CHANGE = "access_change", _("What you can see will change on a birthday")

    RULES = OutboxRules(
        sent_action=Action.PARENT_EMAIL_SENT,
        failed_action=Action.PARENT_EMAIL_FAILED,
        cancelled_action=Action.PARENT_EMAIL_CANCELLED,
        max_attempts_setting="PARENT_EMAIL_MAX_ATTEMPTS",
        retry_base_seconds_setting="PARENT_EMAIL_RETRY_BASE_SECONDS",
        audit_id_key="parent_email_id",
        related=("account__user",),
    )

    account = models.ForeignKey(PortalAccount, on_delete=models.PROTECT, related_name="account_emails")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # For an access-change notice: the birthday it is about (its patient, its kind, its day).
    milestone = models.ForeignKey(
        "registration.AgeMilestone", null=True, blank=True, on_delete=models.PROTECT, related_name="notices"
    )

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

    def audit_subject(self) -> dict:
        return {"account_id": self.account_id}

    def audit_identity(self) -> dict:
        return {**super().audit_identity(), "kind": self.kind}
