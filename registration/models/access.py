"""Who may see which child: parents' portal accounts, their access to children, and the PINs that grant it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from patients.models import FamilyContact, Patient


class RegistrationPath(models.TextChoices):
    """Where in the practice's day a registration started."""

    CHART = "chart", _("Chart family contacts")
    APPOINTMENT_WINDOW = "appointment_window", _("Appointment window")
    APPOINTMENT_LIST = "appointment_list", _("Appointment list")
    PATIENT_ADMIN = "patient_admin", _("Patient administration")
    SELF_REGISTRATION = "self_registration", _("Self-registration")


PIN_PATHS = [
    RegistrationPath.CHART,
    RegistrationPath.APPOINTMENT_WINDOW,
    RegistrationPath.APPOINTMENT_LIST,
    RegistrationPath.PATIENT_ADMIN,
]


class PortalStatus(models.TextChoices):
    NOT_REGISTERED = "not_registered", _("Not registered")
    PENDING = "pending", _("Pending")
    REGISTERED = "registered", _("Registered")


class PortalAccount(models.Model):
    """A parent's portal login. Its email, name and password live on the sign-in user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="portal_account"
    )
    cell_phone = PhoneNumberField(blank=True)
    preferred_language = models.CharField(
        max_length=5, choices=FamilyContact.Language.choices, default=FamilyContact.Language.ENGLISH
    )
    created_at = models.DateTimeField()
    # Set when the parent confirms the link emailed to them. Until then the account cannot sign in, and
    # staff cannot authenticate its self-registrations: anyone could have typed the address (issue 12).
    email_verified_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_duplicates"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(disabled_at__isnull=True, merged_into__isnull=True)
                | models.Q(disabled_at__isnull=False),
                name="account_merged_only_when_disabled",
            ),
        ]
        # Duplicate accounts: cell phones shared by more than one account, found by an index-only scan.
        indexes = [models.Index(fields=["cell_phone"], name="account_by_cell_phone")]

    def __str__(self) -> str:
        return self.user.email

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None


class Pin(models.Model):
    """A one-time registration code for one patient and one family contact.

    Only `lookup` (the first group, not secret on its own) is stored as typed; the rest is kept as a
    salted hash, so the code cannot be read back from the database.
    """

    class EndReason(models.TextChoices):
        SUPERSEDED = "superseded", _("A newer PIN was issued")
        LOCKED = "locked", _("Too many wrong tries")
        ACCOUNT_DISABLED = "account_disabled", _("The parent's account was disabled")
        AUTHENTICATED = "authenticated", _("The practice authenticated a self-registration instead")
        NOT_DELIVERED = "not_delivered", _("Its welcome message could not be sent")
        RESTRICTED = "restricted", _("A restriction stops this person's access to the child")
        MAJORITY = "majority", _("The patient came of age")
        MERGED = (
            "merged",
            _("The chart was merged into another that had a PIN for this person or another birth date"),
        )

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="pins")
    contact = models.ForeignKey(FamilyContact, on_delete=models.PROTECT, related_name="pins")
    appointment = models.ForeignKey(
        "patients.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    path = models.CharField(max_length=20, choices=[(p.value, p.label) for p in PIN_PATHS])
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    lookup = models.CharField(max_length=4, db_index=True)
    secret_hash = models.CharField(max_length=255)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_by = models.ForeignKey(
        PortalAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="redeemed_pins"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            # A newer PIN makes the older one useless: at most one unused PIN per patient and contact.
            models.UniqueConstraint(
                fields=["patient", "contact"],
                condition=models.Q(redeemed_at__isnull=True, revoked_at__isnull=True),
                name="pin_one_live_per_patient_contact",
            ),
            models.CheckConstraint(
                condition=models.Q(redeemed_at__isnull=True) | models.Q(revoked_at__isnull=True),
                name="pin_redeemed_or_revoked_not_both",
            ),
            models.CheckConstraint(
                condition=models.Q(redeemed_at__isnull=True) | models.Q(redeemed_by__isnull=False),
                name="pin_redeemed_names_account",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("issued_at")), name="pin_expires_after_issue"
            ),
        ]
        indexes = [
            models.Index(
                fields=["patient", "expires_at"],
                condition=models.Q(redeemed_at__isnull=True, revoked_at__isnull=True),
                name="pin_live_by_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"PIN {self.lookup}-… for {self.patient_id}/{self.contact_id}"


class AccessLevel(models.TextChoices):
    """How much of a child's record an access shows."""

    FULL = "full", _("Full")
    LIMITED = "limited", _("Limited: scheduling, messages and billing, no clinical record")
    NONE = "none", _("None")


class AccessBasis(models.TextChoices):
    """Why a person may see a patient; it decides what a birthday does to the access."""

    PARENT = "parent", _("Parent")
    GUARDIAN = "guardian", _("Court-appointed guardian")
    ADULT_CONSENT = "adult_consent", _("The adult patient's consent")
    SELF = "self", _("The patient's own account")


class LevelSetBy(models.TextChoices):
    """Who last set an access's level: a policy level follows birthdays, a choice is kept."""

    POLICY = "policy", _("The practice's policy")
    TEEN = "teen", _("The patient, on the portal")
    STAFF = "staff", _("Staff, with the patient in person")


class LiveAccessManager(models.Manager):
    """Accesses that have not ended. The default: a forgotten filter must not show a child."""

    def get_queryset(self):
        return super().get_queryset().filter(ended_at__isnull=True)


class PortalAccess(models.Model):
    """An account may see a patient, as (or through) one family contact.

    An access that ends (a restriction, the patient's majority) keeps its row for the history, with
    `ended_at` set: `objects` (and `account.accesses`) see only live ones, `history` sees all.
    """

    class EndReason(models.TextChoices):
        RESTRICTED = "restricted", _("A restriction was recorded")
        MAJORITY = "majority", _("The patient came of age")
        GUARDIANSHIP_ENDED = "guardianship_ended", _("The guardianship ended")
        MERGED = "merged", _("The chart was merged into another the account already sees")

    account = models.ForeignKey(PortalAccount, on_delete=models.PROTECT, related_name="accesses")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="portal_accesses")
    contact = models.ForeignKey(FamilyContact, on_delete=models.PROTECT, related_name="portal_accesses")
    path = models.CharField(max_length=20, choices=RegistrationPath.choices)
    granted_at = models.DateTimeField()
    pin = models.OneToOneField(Pin, null=True, blank=True, on_delete=models.PROTECT, related_name="access")
    level = models.CharField(max_length=10, choices=AccessLevel.choices, default=AccessLevel.FULL)
    basis = models.CharField(max_length=15, choices=AccessBasis.choices, default=AccessBasis.PARENT)
    level_set_by = models.CharField(max_length=10, choices=LevelSetBy.choices, default=LevelSetBy.POLICY)
    level_set_at = models.DateTimeField(null=True, blank=True)
    # The last day of a guardianship the EHR gave an end for (FHIR RelatedPerson.period.end).
    ends_on = models.DateField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)

    history = models.Manager()
    objects = LiveAccessManager()

    class Meta:
        default_manager_name = "objects"
        base_manager_name = "history"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "patient"],
                condition=models.Q(ended_at__isnull=True),
                name="access_one_live_per_account_patient",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True, end_reason="")
                | models.Q(ended_at__isnull=False) & ~models.Q(end_reason=""),
                name="access_ended_with_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "granted_at"]),
            # Duplicate accounts: contacts seen by more than one account, found by an index-only scan.
            models.Index(fields=["contact", "account"], name="access_by_contact_account"),
        ]

    def __str__(self) -> str:
        return f"{self.account} → {self.patient}"
