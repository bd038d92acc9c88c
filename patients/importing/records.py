"""The records an import reads, whatever the file format, and the checks every field goes through.

Readers turn rows or FHIR resources into these records and report what they cannot; the store
(`store.py`) writes the records. A field check raises `Rejected` with a reason a person can act on.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from patients.importing import relationships
from patients.importing.report import OUTCOMES, ImportReport, Problem, empty_counts
from patients.models import Appointment, FamilyContact, Patient, PatientContact


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
    mrn_system: str = ""  # who assigned the MRN (FHIR identifier.system); "" in a CSV
    source_id: str = ""  # FHIR Patient id
    active: bool = True
    deceased: bool = False
    deceased_on: date | None = None
    # Fields the source does not say (HL7's PID has no "active"): the store leaves them as stored.
    keeps: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[str, str]:
        return (self.mrn_system, self.mrn)


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
    cell_phone: str  # E.164, or ""; the only number texted
    preferred_language: str  # "en", "es", or "" when not given
    source_id: str = ""
    mrn_system: str = ""
    home_phone: str = ""
    work_phone: str = ""
    # The relationship's period (FHIR RelatedPerson.period). Only a record that can say (`period_given`:
    # a RelatedPerson) writes it; a CSV row or Patient.contact leaves the stored period alone.
    period_given: bool = False
    valid_from: date | None = None
    valid_until: date | None = None


@dataclass(frozen=True)
class DenyRecord:
    """One person a Consent denies access to the patient: a RelatedPerson named by a deny provision."""

    actor: str  # the reference as written, for reports
    contact_position: str  # the RelatedPerson read from this file, or "" if named by identifier
    contact_source_id: str  # "system|value" of a contact imported earlier, when named by identifier
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True)
class ConsentRecord:
    """A FHIR Consent as the portal reads it: who may not see the patient, on what basis, when.

    `in_force` False (inactive, rejected, entered in error) lifts what an earlier import recorded from
    it; an active Consent with no deny for a family contact lifts those no longer denied.
    """

    position: str
    source_id: str  # the Consent's identifier ("system|value"), else "Consent/<id>"
    mrn: str
    patient_source_id: str
    in_force: bool
    basis: str  # court_order, protective_order, patient_request or clinician_judgement
    denies: tuple[DenyRecord, ...] = ()
    mrn_system: str = ""
    status: str = ""

    def restriction_source_id(self, deny: DenyRecord) -> str:
        """One restriction per person denied: the Consent's id, with the person's when it names several."""
        return self.source_id if len(self.denies) == 1 else f"{self.source_id}#{deny.actor}"[:255]


@dataclass(frozen=True)
class RestrictionOrder:
    """A Consent's deny resolved to the stored patient and contact, for registration to record."""

    consent: ConsentRecord
    source_id: str
    patient_id: int
    contact_id: int
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True)
class LinkPeriod:
    """A chart link whose period the import wrote (or found unchanged) from a RelatedPerson."""

    patient_id: int
    contact_id: int
    relationship: str
    valid_from: date | None
    valid_until: date | None


@dataclass(frozen=True)
class AppointmentRecord:
    position: str
    source_id: str
    mrn: str
    patient_source_id: str
    starts_at: datetime
    provider: str
    visit_type: str
    status: str  # "" when the source does not say: the stored status stays
    mrn_system: str = ""


@dataclass
class Batch:
    """Everything read from one file, before anything is written."""

    kind: str
    patients: list[PatientRecord] = field(default_factory=list)
    contacts: list[ContactRecord] = field(default_factory=list)
    appointments: list[AppointmentRecord] = field(default_factory=list)
    consents: list[ConsentRecord] = field(default_factory=list)
    # Written by the store for registration to act on, in the same transaction.
    restriction_orders: list[RestrictionOrder] = field(default_factory=list)
    settled_consents: list[ConsentRecord] = field(default_factory=list)  # each deny found, or not in force
    link_periods: list[LinkPeriod] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=empty_counts)
    skipped: dict[str, int] = field(default_factory=dict)  # resource types the portal does not use

    _patients_by_key: dict[tuple[str, str], PatientRecord] = field(default_factory=dict, repr=False)

    def check_patient(self, record: PatientRecord) -> None:
        """Refuse a patient the file already gave with other details (the row can't say which is right)."""
        seen = self._patients_by_key.get(record.key)
        if seen is not None and (seen.first_name, seen.last_name, seen.date_of_birth, seen.sex) != (
            record.first_name,
            record.last_name,
            record.date_of_birth,
            record.sex,
        ):
            raise Rejected(f"MRN {record.mrn} is on {seen.position} with a different name, birth date or sex")

    def add_patient(self, record: PatientRecord) -> bool:
        """Keep the patient unless the file gave it already; return whether it was new."""
        if record.key in self._patients_by_key:
            return False
        self._patients_by_key[record.key] = record
        self.patients.append(record)
        return True

    def tally(self, kind: str, outcome: str, n: int = 1) -> None:
        """Count `n` records of `kind` with `outcome`; a kind the file has (restrictions) gets its row."""
        self.counts.setdefault(kind, dict.fromkeys(OUTCOMES, 0))[outcome] += n

    def reject(self, kind: str, position: str, reason: str) -> None:
        self.tally(kind, "rejected")
        self.problems.append(Problem(position, reason))

    def warn(self, position: str, message: str) -> None:
        """Note something left out of a record that was still imported."""
        self.warnings.append(Problem(position, message))

    def skip(self, resource_type: str) -> None:
        self.skipped[resource_type] = self.skipped.get(resource_type, 0) + 1

    def report(self, *, dry_run: bool, seconds: float) -> ImportReport:
        """Return what importing this batch did (or would do, when `dry_run`): counts and problems."""
        return ImportReport(
            kind=self.kind,
            dry_run=dry_run,
            counts=self.counts,
            problems=sorted(self.problems, key=lambda p: p.sort_key()),
            warnings=sorted(self.warnings, key=lambda p: p.sort_key()),
            skipped=self.skipped,
            seconds=seconds,
        )


def text(value, label: str, *, max_length: int, required: bool = True) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        raise Rejected(f"missing {label}")
    if len(value) > max_length:
        raise Rejected(f"{label} is longer than {max_length} characters")
    if "\x00" in value:  # no database column may hold it
        raise Rejected(f"{label} contains a NUL character")
    return value


def mrn(value) -> str:
    return text(value, "MRN", max_length=Patient._meta.get_field("mrn").max_length)


def optional(check: Callable[[str], str], value, *, batch: Batch, position: str) -> str:
    """Return `check(value)`, or "" with a warning: a bad phone or email drops only itself."""
    try:
        return check(value)
    except Rejected as problem:
        batch.warn(position, f"{problem}: left out, the rest imported")
        return ""


def name(value, label: str) -> str:
    return text(value, label, max_length=100)


def name_tidy(name: str) -> str:
    """Turn an all-capitals name (Cerner's "O'KEEFE-NUNEZ") into "O'Keefe-Nunez"; leave others alone."""
    if len(name) < 2 or name.upper() != name or name.lower() == name:
        return name
    out, capital = [], True
    for char in name.lower():
        out.append(char.upper() if capital else char)
        capital = not char.isalpha()
    return "".join(out)


PARTIAL_DATE = re.compile(r"\d{4}(-\d{2})?")


def birth_date(value, *, today: date) -> date:
    value = (value or "").strip() if isinstance(value, str) else value
    if isinstance(value, str) and PARTIAL_DATE.fullmatch(value):
        raise Rejected(
            f"date of birth {value!r} is not a whole date: a parent proves a PIN with the child's full "
            "date of birth, so the EHR must give the day"
        )
    parsed = a_date(value, "date of birth")
    if parsed > today:
        raise Rejected(f"date of birth {parsed:%Y-%m-%d} is in the future")
    return parsed


US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def a_date(value, label: str) -> date:
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        raise Rejected(f"missing {label}")
    try:
        if m := US_DATE.fullmatch(value):
            return date(int(m[3]), int(m[1]), int(m[2]))
        return date.fromisoformat(value)
    except ValueError:
        if US_DATE.fullmatch(value) or ISO_DATE.fullmatch(value):
            raise Rejected(f"{label} {value!r} is not a real date") from None
        raise Rejected(f"unparseable {label} {value!r} (use YYYY-MM-DD)") from None


def a_datetime(value, label: str) -> datetime:
    value = value.strip() if isinstance(value, str) else ""
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
    key = value.strip().lower() if isinstance(value, str) else ""
    if key not in SEXES:
        raise Rejected(f"unknown sex {value!r} (use F, M, O or U)")
    return SEXES[key]


def relationship(value, *, batch: Batch, position: str) -> str:
    """Return our relationship for a word; an unknown or missing one is "other", with a warning."""
    value = value.strip() if isinstance(value, str) else ""
    found = relationships.from_text(value) if value else None
    if found is None:
        given = f"relationship {value!r} is not one we know" if value else "no relationship given"
        batch.warn(position, f"{given}: imported as other")
        return PatientContact.Relationship.OTHER.value
    return found.value


def email(value) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        return ""
    if len(value) > FamilyContact._meta.get_field("email").max_length:
        raise Rejected("email is too long")
    try:
        validate_email(value)
    except ValidationError:
        raise Rejected(f"malformed email {value!r}") from None
    return value


LANGUAGES = {
    **{"en": "en", "eng": "en", "english": "en"},
    **{"es": "es", "spa": "es", "spanish": "es", "español": "es", "espanol": "es"},
}


def language(value) -> str:
    """Return "en" or "es"; any other language reads as not given (the portal speaks these two)."""
    key = value.strip().lower() if isinstance(value, str) else ""
    return LANGUAGES.get(key) or LANGUAGES.get(key.split("-")[0], "")


STATUSES = {
    **{s.value: s.value for s in Appointment.Status},
    "no-show": Appointment.Status.NO_SHOW.value,
    "noshow": Appointment.Status.NO_SHOW.value,
    "canceled": Appointment.Status.CANCELLED.value,
    "": Appointment.Status.SCHEDULED.value,
}


def appointment_status(value) -> str:
    key = value.strip().lower().replace(" ", "_") if isinstance(value, str) else ""
    if key not in STATUSES:
        raise Rejected(f"unknown appointment status {value!r}")
    return STATUSES[key]
