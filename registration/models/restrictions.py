"""Who may not see a child, what a teen chose for their parents, and the birthdays that change access."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from patients.models import FamilyContact, Patient
from registration.models.access import AccessLevel, PortalAccount


class PrivateDocumentStorage(FileSystemStorage):
    """Files under `settings.RESTRICTION_DOCUMENT_DIR`, outside the static and media roots, with no URL:
    a document is read only through the staff view that checks the reader and audits the reading."""

    @property
    def base_url(self):
        return None  # FileSystemStorage would fall back to MEDIA_URL

    @property
    def base_location(self):
        return settings.RESTRICTION_DOCUMENT_DIR

    @property
    def location(self):
        return os.path.abspath(self.base_location)


class AccessRestriction(models.Model):
    """A person on a child's chart who may not be given access to the child, and why.

    While it is in effect (`starts_on` to `ends_on`, both days included, unless lifted) no PIN is issued
    to or redeemed by the person, no request of theirs is granted, and their accesses are ended.
    """

    class Basis(models.TextChoices):
        COURT_ORDER = "court_order", _("Court order")
        PROTECTIVE_ORDER = "protective_order", _("Protective order")
        PATIENT_REQUEST = "patient_request", _("Patient request")
        CLINICIAN_JUDGEMENT = "clinician_judgement", _("Clinician judgement")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="access_restrictions")
    contact = models.ForeignKey(FamilyContact, on_delete=models.PROTECT, related_name="access_restrictions")
    basis = models.CharField(max_length=20, choices=Basis.choices)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)  # None: until lifted
    review_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)  # for staff; never shown on the portal
    document = models.FileField(upload_to="restrictions/%Y/", storage=PrivateDocumentStorage, blank=True)
    created_by = models.ForeignKey(  # None when the EHR import recorded it
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    # The FHIR Consent it was imported from: a second import updates it instead of adding another.
    source_id = models.CharField(max_length=255, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lift_reason = models.CharField(max_length=500, blank=True)
    # Set once its accesses and PINs were ended: at creation, or by the daily task on its first day.
    enforced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_id"], condition=~models.Q(source_id=""), name="restriction_source_id_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="restriction_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["patient", "contact"], name="restriction_by_patient_contact")]

    def __str__(self) -> str:
        return f"{self.contact} may not see {self.patient} ({self.get_basis_display()})"

    @property
    def reason(self) -> str:
        """One line for staff wherever an action is refused: "Restricted by court order since 3/2/2026"."""
        until = f" until {date_format(self.ends_on, 'SHORT_DATE_FORMAT')}" if self.ends_on else ""
        basis = self.get_basis_display()
        since = date_format(self.starts_on, "SHORT_DATE_FORMAT")
        return f"Restricted by {basis[0].lower()}{basis[1:]} since {since}{until}"

    def in_effect_on(self, day) -> bool:
        return (
            self.lifted_at is None and self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)
        )


class ParentLevelChoice(models.Model):
    """What an adolescent chose that their parents may see, within the practice's policy."""

    class How(models.TextChoices):
        PORTAL = "portal", _("On their own portal account")
        IN_PERSON = "in_person", _("In person, recorded by staff")

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="parent_level_choice")
    level = models.CharField(max_length=10, choices=AccessLevel.choices)
    chosen_at = models.DateTimeField()
    how = models.CharField(max_length=10, choices=How.choices)
    account = models.ForeignKey(  # the teen's own account, when chosen on the portal
        PortalAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(  # the staff member, when chosen in person
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.patient}: parents {self.level}"


class AgeMilestone(models.Model):
    """A birthday that changes who sees a patient: parents told 30 days before, the change applied on
    the day. One row per patient and milestone, so running the daily task twice does nothing twice."""

    class Kind(models.TextChoices):
        TEEN = "teen", _("Adolescent age")
        MAJORITY = "majority", _("Age of majority")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="age_milestones")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    due_on = models.DateField()
    notified_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind", "due_on"], name="milestone_once_per_day")
        ]
        indexes = [models.Index(fields=["due_on"], name="milestone_by_day")]

    def __str__(self) -> str:
        return f"{self.patient}: {self.kind} on {self.due_on}"
