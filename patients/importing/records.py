"""The records an import reads, whatever the file format, and the checks every field goes through.

Readers turn rows or FHIR resources into these records and report what they cannot; the store
(`store.py`) writes the records. A field check raises `Rejected` with a reason a person can act on.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from phonenumbers import NumberParseException, PhoneNumberFormat, format_number, is_valid_number
from phonenumbers import parse as phone_parse

from patients.models import Appointment, FamilyContact, Patient, PatientContact

from .report import Problem, empty_counts


class Rejected(Exception):
    """This row or resource cannot be imported, for the reason given."""


@dataclass(frozen=True)
class PatientRecord:
    position: str
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date
    sex: str
    source_id: str = ""  # FHIR Patient id


@dataclass(frozen=True)
class ContactRecord:
    """A family contact on one patient's chart. The patient is named by MRN or by FHIR Patient id."""

    position: str
    mrn: str
    patient_source_id: str
    relationship: str
    first_name: str
    last_name: str
    email: str  # "" when not given: a blank never erases what is stored
    cell_phone: str  # E.164, or ""
    preferred_language: str  # "en", "es", or "" when not given
    source_id: str = ""


@dataclass(frozen=True)
class AppointmentRecord:
    position: str
    source_id: str
    mrn: str
    patient_source_id: str
    starts_at: datetime
    provider: str
    visit_type: str
    status: str


@dataclass
class Batch:
    """Everything read from one file, before anything is written."""

    kind: str
    patients: list[PatientRecord] = field(default_factory=list)
    contacts: list[ContactRecord] = field(default_factory=list)
    appointments: list[AppointmentRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=empty_counts)

    _patients_by_mrn: dict[str, PatientRecord] = field(default_factory=dict, repr=False)

    def check_patient(self, record: PatientRecord) -> None:
        """Refuse a patient the file already gave with other details (the row can't say which is right)."""
        seen = self._patients_by_mrn.get(record.mrn)
        if seen is not None and (seen.first_name, seen.last_name, seen.date_of_birth, seen.sex) != (
            record.first_name,
            record.last_name,
            record.date_of_birth,
            record.sex,
        ):
            raise Rejected(f"MRN {record.mrn} is on {seen.position} with a different name, birth date or sex")

    def add_patient(self, record: PatientRecord) -> None:
        if record.mrn not in self._patients_by_mrn:
            self._patients_by_mrn[record.mrn] = record
            self.patients.append(record)

    def counts_rejected(self) -> int:
        return sum(outcome["rejected"] for outcome in self.counts.values())

    def reject(self, kind: str, position: str, reason: str) -> None:
        self.counts[kind]["rejected"] += 1
        self.problems.append(Problem(position, reason))


def text(value, label: str, *, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Rejected(f"missing {label}")
    if len(value) > max_length:
        raise Rejected(f"{label} is longer than {max_length} characters")
    return value


def mrn(value) -> str:
    return text(value, "MRN", max_length=Patient._meta.get_field("mrn").max_length)


def name(value, label: str) -> str:
    return text(value, label, max_length=100)


def birth_date(value, *, today: date) -> date:
    parsed = a_date(value, "date of birth")
    if parsed > today:
        raise Rejected(f"date of birth {parsed:%Y-%m-%d} is in the future")
    return parsed


US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def a_date(value, label: str) -> date:
    value = (value or "").strip()
    if not value:
        raise Rejected(f"missing {label}")
    try:
        if m := US_DATE.fullmatch(value):
            return date(int(m[3]), int(m[1]), int(m[2]))
        return date.fromisoformat(value)
    except ValueError:
        raise Rejected(f"unparseable {label} {value!r} (use YYYY-MM-DD)") from None


def a_datetime(value, label: str) -> datetime:
    value = (value or "").strip()
    if not value:
        raise Rejected(f"missing {label}")
    try:
        if m := re.fullmatch(r"(\d{1,2}/\d{1,2}/\d{4})[ T](\d{1,2}:\d{2})", value):
            day = a_date(m[1], label)
            parsed = datetime.combine(day, datetime.strptime(m[2], "%H:%M").time())
        else:
            parsed = datetime.fromisoformat(value)
    except (ValueError, Rejected):
        raise Rejected(f"unparseable {label} {value!r} (use YYYY-MM-DDTHH:MM)") from None
    # A time without an offset is the practice's local time.
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


SEXES = {
    "f": Patient.Sex.FEMALE,
    "female": Patient.Sex.FEMALE,
    "m": Patient.Sex.MALE,
    "male": Patient.Sex.MALE,
    "o": Patient.Sex.OTHER,
    "other": Patient.Sex.OTHER,
    "u": Patient.Sex.UNKNOWN,
    "unknown": Patient.Sex.UNKNOWN,
    "": Patient.Sex.UNKNOWN,
}


def sex(value) -> str:
    key = (value or "").strip().lower()
    if key not in SEXES:
        raise Rejected(f"unknown sex {value!r} (use F, M, O or U)")
    return SEXES[key]


def _relationship_names() -> dict[str, str]:
    names = {}
    for choice in PatientContact.Relationship:
        names[choice.value] = choice.value
        names[str(choice.label).lower()] = choice.value
    names.update({"step-parent": "stepparent", "step parent": "stepparent", "guardian": "guardian"})
    return names


RELATIONSHIPS = _relationship_names()


def relationship(value) -> str:
    key = re.sub(r"\s+", " ", (value or "").strip().lower())
    if not key:
        raise Rejected("missing relationship")
    found = RELATIONSHIPS.get(key) or RELATIONSHIPS.get(key.replace(" ", "_"))
    if found is None:
        raise Rejected(f"unknown relationship {value.strip()!r}")
    return found


def email(value) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > FamilyContact._meta.get_field("email").max_length:
        raise Rejected("email is too long")
    try:
        validate_email(value)
    except ValidationError:
        raise Rejected(f"malformed email {value!r}") from None
    return value


def cell_phone(value) -> str:
    """Return the number in E.164, read in the practice's region unless it starts with +."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phone_parse(value, settings.PHONENUMBER_DEFAULT_REGION)
    except NumberParseException:
        number = None
    if number is None or not is_valid_number(number):
        raise Rejected(f"malformed phone number {value!r}")
    return format_number(number, PhoneNumberFormat.E164)


LANGUAGES = {"en": "en", "english": "en", "es": "es", "spanish": "es", "español": "es", "espanol": "es"}


def language(value) -> str:
    """Return "en" or "es"; any other language reads as not given (the portal speaks these two)."""
    key = (value or "").strip().lower()
    return LANGUAGES.get(key) or LANGUAGES.get(key.split("-")[0], "")


STATUSES = {
    **{s.value: s.value for s in Appointment.Status},
    "no-show": Appointment.Status.NO_SHOW.value,
    "noshow": Appointment.Status.NO_SHOW.value,
    "canceled": Appointment.Status.CANCELLED.value,
    "": Appointment.Status.SCHEDULED.value,
}


def appointment_status(value) -> str:
    key = (value or "").strip().lower().replace(" ", "_")
    if key not in STATUSES:
        raise Rejected(f"unknown appointment status {value!r}")
    return STATUSES[key]
