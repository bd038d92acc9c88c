"""A parent's own sign-up, waiting for the practice, and the codes that prove it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from patients.models import FamilyContact
from registration.models.access import PortalAccess, PortalAccount


class SelfRegistrationRequest(models.Model):
    """A parent signed up without a PIN and named a child; the practice must match and authenticate it."""

    class Status(models.TextChoices):
        AWAITING = "awaiting", _("Awaiting authentication")
        AUTHENTICATED = "authenticated", _("Authenticated")
        DECLINED = "declined", _("Declined")

    class DeclineReason(models.TextChoices):
        """What staff pick when declining; the label is what the parent reads, in their language."""

        NO_MATCH = "no_match", _("We could not match your child to our records.")
        DETAILS_DIFFER = "details_differ", _("The details you gave do not match your child's chart.")
        NOT_GUARDIAN = "not_guardian", _("You are not listed as a parent or guardian on your child's chart.")
        CALL_PRACTICE = "call_practice", _("Please call the practice.")
        DUPLICATE = "duplicate", _("You already asked for this child in another request.")
        OTHER = "other", _("Another reason (see the practice's note).")

    account = models.ForeignKey(PortalAccount, on_delete=models.PROTECT, related_name="self_registrations")
    # The child and the parent as the parent typed them.
    child_first_name = models.CharField(max_length=100)
    child_last_name = models.CharField(max_length=100)
    child_date_of_birth = models.DateField()
    parent_first_name = models.CharField(max_length=100)
    parent_last_name = models.CharField(max_length=100)
    parent_email = models.EmailField()
    parent_cell_phone = PhoneNumberField(blank=True)
    submitted_at = models.DateTimeField()

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=20, choices=DeclineReason.choices, blank=True)
    # Staff's own words, shown to the parent as the practice's note; required with "other".
    decline_note = models.TextField(blank=True)
    access = models.OneToOneField(
        PortalAccess, null=True, blank=True, on_delete=models.PROTECT, related_name="self_registration"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="awaiting", decided_at__isnull=True)
                | models.Q(status="authenticated", decided_at__isnull=False, access__isnull=False)
                | models.Q(status="declined", decided_at__isnull=False) & ~models.Q(decline_reason=""),
                name="self_registration_decision_complete",
            ),
        ]
        indexes = [
            models.Index(
                fields=["submitted_at"], condition=models.Q(status="awaiting"), name="self_reg_awaiting"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent_email} for {self.child_first_name} {self.child_last_name} ({self.status})"


class EnrollmentCode(models.Model):
    """A one-time code sent, after a sign-up, to the phone or email *on file* for the family contact the
    parent's sign-up matched (NIST SP 800-63A's enrollment code). Never to what the parent typed: a parent
    who enters it has shown they hold the contact's own phone or mailbox. Only its hash is kept.
    """

    class Channel(models.TextChoices):
        SMS = "sms", _("Text message")
        EMAIL = "email", _("Email")

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Could not be sent")
        PROVED = "proved", _("Entered by the parent")
        LOCKED = "locked", _("Too many wrong tries")

    account = models.ForeignKey(PortalAccount, on_delete=models.PROTECT, related_name="enrollment_codes")
    contact = models.ForeignKey(FamilyContact, on_delete=models.PROTECT, related_name="+")
    # The waiting requests whose child is on a chart this contact is on: what the code proves.
    requests = models.ManyToManyField(SelfRegistrationRequest, related_name="enrollment_codes")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    code_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices)
    wrong_tries = models.PositiveSmallIntegerField(default=0)
    proved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "status"], name="enrollment_code_by_account")]

    def __str__(self) -> str:
        return f"{self.channel} code to contact {self.contact_id}, account {self.account_id} ({self.status})"
