"""The practice's records as the EHR knows them: children, the adults on their charts, visits."""

from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Replace, Upper
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "O", _("Other")
        UNKNOWN = "U", _("Unknown")

    mrn = models.CharField("chart number (MRN)", max_length=32, unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    # The FHIR Patient resource id, when one was imported: a bulk export's RelatedPerson and
    # Appointment files refer to patients by it.
    source_id = models.CharField("identifier in the EHR", max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # " FIRST LAST", hyphens as spaces: staff name search matches each typed word at the start of a
    # word here (" JO" finds Jordan and Johnson), through one trigram index that serves every word of
    # the search at once (migration 0002).
    search_name = models.GeneratedField(
        expression=Replace(
            Concat(Value(" "), Upper("first_name"), Value(" "), Upper("last_name")), Value("-"), Value(" ")
        ),
        output_field=models.CharField(max_length=202),
        db_persist=True,
    )

    contacts = models.ManyToManyField("FamilyContact", through="PatientContact", related_name="patients")

    class Meta:
        indexes = [models.Index(fields=["last_name", "first_name"]), models.Index(fields=["date_of_birth"])]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class FamilyContact(models.Model):
    """An adult on one or more charts (siblings share their parents)."""

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        SPANISH = "es", "Español"

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    cell_phone = PhoneNumberField(blank=True)  # stored in E.164
    preferred_language = models.CharField(max_length=5, choices=Language.choices, default=Language.ENGLISH)
    # The EHR's own identifier for this person (a FHIR RelatedPerson identifier, or the CSV's
    # contact_id), when it gives one: imports match on it, so one parent stays one contact across
    # siblings and renames.
    source_id = models.CharField("identifier in the EHR", max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["email"]), models.Index(fields=["cell_phone"])]
        constraints = [
            models.UniqueConstraint(
                fields=["source_id"], condition=~models.Q(source_id=""), name="contact_source_id_unique"
            )
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class PatientContact(models.Model):
    """How an adult is related to one child."""

    class Relationship(models.TextChoices):
        MOTHER = "mother", _("Mother")
        FATHER = "father", _("Father")
        PARENT = "parent", _("Parent")
        GUARDIAN = "guardian", _("Legal guardian")
        GRANDPARENT = "grandparent", _("Grandparent")
        STEPPARENT = "stepparent", _("Stepparent")
        FOSTER_PARENT = "foster_parent", _("Foster parent")
        OTHER = "other", _("Other")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contact_links")
    contact = models.ForeignKey(FamilyContact, on_delete=models.CASCADE, related_name="patient_links")
    relationship = models.CharField(max_length=20, choices=Relationship.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "contact"], name="patient_contact_unique")]

    def __str__(self) -> str:
        return f"{self.contact} ({self.get_relationship_display()} of {self.patient})"


class Appointment(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        ARRIVED = "arrived", _("Arrived")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("No show")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="appointments")
    starts_at = models.DateTimeField(db_index=True)
    provider = models.CharField(max_length=100)
    visit_type = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    # The EHR's identifier for this visit: imports match on it (blank for visits entered here).
    source_id = models.CharField("identifier in the EHR", max_length=100, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "starts_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["source_id"], condition=~models.Q(source_id=""), name="appointment_source_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient} at {self.starts_at:%Y-%m-%d %H:%M} with {self.provider}"
