"""The practice's records as the EHR knows them: children, the adults on their charts, visits."""

import re

from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberDescriptor, PhoneNumberField
from phonenumber_field.phonenumber import to_python

from patients import names


class _PhoneParsedWhenRead(PhoneNumberDescriptor):
    """Keep what was assigned and parse it when first read, instead of on every assignment."""

    def __get__(self, instance, owner):
        value = super().__get__(instance, owner)
        if instance is not None and isinstance(value, str):
            value = instance.__dict__[self.field.name] = to_python(value, region=self.field.region)
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.field.name] = value


class PhoneField(PhoneNumberField):
    """A phone number field that saves a string already in E.164 as it is.

    PhoneNumberField parses and validates a number when it is assigned and again when it is saved
    (about 0.2 ms each): an import that has validated every number already spent most of its time
    there. A canonical E.164 string is what it would store anyway; anything else still goes through
    it, and reading the attribute still gives a PhoneNumber.
    """

    descriptor_class = _PhoneParsedWhenRead
    E164 = re.compile(r"\+[1-9]\d{6,14}")

    def pre_save(self, model_instance, add):
        assigned = model_instance.__dict__.get(self.attname)
        return assigned if isinstance(assigned, str) else super().pre_save(model_instance, add)

    def from_db_value(self, value, expression, connection):
        return value  # parsed when read (the descriptor): loading many rows parses none

    def get_prep_value(self, value):
        if isinstance(value, str) and self.E164.fullmatch(value):
            return value
        return super().get_prep_value(value)


class FoldedNameField(models.CharField):
    """A patient's name folded for search or for sorting (`patients/names.py`), never typed in.

    It is computed from `first_name` and `last_name` whenever the row is saved or bulk-created, so it
    cannot drift from them. `bulk_update` and `QuerySet.update` skip it: callers of those that change a
    name call `Patient.names_fold()` and include the folded fields.
    """

    FOLDINGS = {"search": names.search_name, "sort": names.sort_name}

    def __init__(self, *args, folding: str, **kwargs):
        self.folding = folding
        kwargs["editable"] = False
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["folding"] = self.folding
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = self.FOLDINGS[self.folding](model_instance.first_name, model_instance.last_name)
        setattr(model_instance, self.attname, value)
        return value


class SourcedQuerySet(models.QuerySet):
    def with_source_ids(self, source_ids) -> models.QuerySet:
        """The rows with these EHR identifiers, found through the unique index of the non-blank ones.
        PostgreSQL sees that a list implies "not blank" only up to 100 values: with an import's 2,000 it
        read the whole table for each list (37 ms at 200,000 contacts, again for every 2,000)."""
        return self.filter(source_id__in_list=source_ids).exclude(source_id="")


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "O", _("Other")
        UNKNOWN = "U", _("Unknown")

    # The MRN and the system that assigned it (a URI or OID; blank when the file named none, as a CSV
    # does): two authorities' "12345" are two patients.
    mrn = models.CharField("chart number (MRN)", max_length=64)
    mrn_system = models.CharField("MRN assigned by", max_length=255, blank=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    # The FHIR Patient resource id, when one was imported: a bulk export's RelatedPerson and
    # Appointment files refer to patients by it.
    source_id = models.CharField("identifier in the EHR", max_length=100, blank=True, db_index=True)
    # The EHR's word on the chart: an inactive record (merged, moved away) or a deceased child is kept
    # for the history but nobody is invited to its portal.
    active = models.BooleanField(default=True)
    deceased = models.BooleanField(default=False)
    deceased_on = models.DateField(null=True, blank=True)
    # The chart the EHR merged this one into (HL7 ADT A40): kept, inactive, for its history.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_charts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # " FIRST LAST" folded (accents, case, apostrophes): staff name search matches each typed word at
    # the start of a word here (" JO" finds Jordan and Johnson), through one trigram index that serves
    # every word of the search at once (migration 0004).
    search_name = FoldedNameField(max_length=names.SEARCH_NAME_LENGTH, folding="search")
    # "LAST FIRST" folded: search results are sorted by it. It has no index on purpose: with one,
    # PostgreSQL may walk it in order and filter thousands of rows instead of using the trigram index.
    sort_name = FoldedNameField(max_length=names.SORT_NAME_LENGTH, folding="sort")

    contacts = models.ManyToManyField("FamilyContact", through="PatientContact", related_name="patients")

    class Meta:
        indexes = [models.Index(fields=["last_name", "first_name"]), models.Index(fields=["date_of_birth"])]
        # MRN first: an MRN without its system (a CSV, an HL7 v2 message) is found through it too.
        constraints = [models.UniqueConstraint(fields=["mrn", "mrn_system"], name="patient_mrn_unique")]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.mrn})"

    def names_fold(self) -> None:
        """Recompute the folded names after a change of name, for `bulk_update`."""
        self.search_name = names.search_name(self.first_name, self.last_name)
        self.sort_name = names.sort_name(self.first_name, self.last_name)

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
    cell_phone = PhoneField(blank=True)  # stored in E.164; texts go only here
    # For staff to call; never texted (a landline cannot receive a PIN).
    home_phone = PhoneField(blank=True)
    work_phone = PhoneField(blank=True)
    preferred_language = models.CharField(max_length=5, choices=Language.choices, default=Language.ENGLISH)
    # The EHR's own identifier for this person (a FHIR RelatedPerson identifier with its system, or
    # the CSV's contact_id), when it gives one: imports match on it, so one parent stays one contact
    # across siblings and renames.
    source_id = models.CharField("identifier in the EHR", max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SourcedQuerySet.as_manager()

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
        # The patient's own email and phone, for an adolescent's own portal account.
        SELF = "self", _("The patient")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contact_links")
    contact = models.ForeignKey(FamilyContact, on_delete=models.CASCADE, related_name="patient_links")
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    # The relationship's period as the EHR knows it (FHIR RelatedPerson.period); None where not given.
    # A relationship that ended is kept on the chart, but nobody is given access through it.
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)

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

    objects = SourcedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["patient", "starts_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["source_id"], condition=~models.Q(source_id=""), name="appointment_source_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient} at {self.starts_at:%Y-%m-%d %H:%M} with {self.provider}"
