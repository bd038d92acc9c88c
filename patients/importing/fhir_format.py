"""FHIR R4 input: a Bundle, or bulk-export NDJSON (one resource a line), validated by fhir.resources.

fhir.resources models R4 as its R4B package (4.3.0), which reads R4's Patient, RelatedPerson and
Appointment unchanged. Each resource is validated on its own, so one invalid resource is reported
and the rest of the file is still imported.
"""

import json
from collections.abc import Callable, Iterable
from datetime import date

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.relatedperson import RelatedPerson as FhirRelatedPerson
from pydantic import ValidationError

from patients.models import Appointment, PatientContact

from . import records as r
from .report import ImportFileError

MODELS = {"Patient": FhirPatient, "RelatedPerson": FhirRelatedPerson, "Appointment": FhirAppointment}
KIND_OF = {"Patient": "patients", "RelatedPerson": "contacts", "Appointment": "appointments"}

Rel = PatientContact.Relationship
# HL7 v3 RoleCode (the RelatedPerson relationship value set) to our relationships.
ROLE_CODES = {
    "MTH": Rel.MOTHER,
    "NMTH": Rel.MOTHER,
    "ADOPTM": Rel.MOTHER,
    "GESTM": Rel.MOTHER,
    "FTH": Rel.FATHER,
    "NFTH": Rel.FATHER,
    "ADOPTF": Rel.FATHER,
    "PRN": Rel.PARENT,
    "NPRN": Rel.PARENT,
    "ADOPTP": Rel.PARENT,
    "GUARD": Rel.GUARDIAN,
    "GUADLTM": Rel.GUARDIAN,
    "GRPRN": Rel.GRANDPARENT,
    "GRMTH": Rel.GRANDPARENT,
    "GRFTH": Rel.GRANDPARENT,
    "MGRMTH": Rel.GRANDPARENT,
    "MGRFTH": Rel.GRANDPARENT,
    "PGRMTH": Rel.GRANDPARENT,
    "PGRFTH": Rel.GRANDPARENT,
    "STPPRN": Rel.STEPPARENT,
    "STPMTH": Rel.STEPPARENT,
    "STPFTH": Rel.STEPPARENT,
    "FOSTERPRN": Rel.FOSTER_PARENT,
    "PRNFOST": Rel.FOSTER_PARENT,
    "FMTH": Rel.FOSTER_PARENT,
    "FTHFOST": Rel.FOSTER_PARENT,
    "MTHFOST": Rel.FOSTER_PARENT,
}
# FHIR Appointment.status to ours.
STATUSES = {
    "proposed": Appointment.Status.SCHEDULED,
    "pending": Appointment.Status.SCHEDULED,
    "booked": Appointment.Status.SCHEDULED,
    "waitlist": Appointment.Status.SCHEDULED,
    "arrived": Appointment.Status.ARRIVED,
    "checked-in": Appointment.Status.ARRIVED,
    "fulfilled": Appointment.Status.COMPLETED,
    "cancelled": Appointment.Status.CANCELLED,
    "entered-in-error": Appointment.Status.CANCELLED,
    "noshow": Appointment.Status.NO_SHOW,
}
GENDERS = {"female": "F", "male": "M", "other": "O", "unknown": "U"}


def read_bundle(data: dict, *, today: date, progress: Callable[[int, int], None]) -> r.Batch:
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise ImportFileError("This FHIR Bundle's entry is not a list.")
    batch = r.Batch(kind=f"FHIR R4 Bundle ({len(entries)} entries)")
    items = []
    for number, entry in enumerate(entries, start=1):
        position = f"entry {number}"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            batch.problems.append(r.Problem(position, "entry has no resource"))
            continue
        items.append((position, resource, entry.get("fullUrl") or ""))
    _read(batch, items, today=today, progress=progress)
    return batch


def read_ndjson(text: str, *, today: date, progress: Callable[[int, int], None]) -> r.Batch:
    batch = r.Batch(kind="FHIR R4 NDJSON")
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        position = f"line {number}"
        try:
            resource = json.loads(line)
        except json.JSONDecodeError as error:
            batch.problems.append(r.Problem(position, f"not JSON ({error.msg})"))
            continue
        if not isinstance(resource, dict):
            batch.problems.append(r.Problem(position, "not a FHIR resource"))
            continue
        items.append((position, resource, ""))
    batch.kind = f"FHIR R4 NDJSON ({len(items)} resources)"
    _read(batch, items, today=today, progress=progress)
    return batch


def _read(batch: r.Batch, items: list, *, today: date, progress) -> None:
    """Read patients first, so that contacts and appointments anywhere in the file can refer to them."""
    ignored: dict[str, int] = {}
    validated = {name: [] for name in MODELS}
    for done, (position, resource, full_url) in enumerate(items, start=1):
        name = resource.get("resourceType")
        if name not in MODELS:
            ignored[str(name)] = ignored.get(str(name), 0) + 1
            continue
        try:
            validated[name].append((position, MODELS[name].model_validate(resource), full_url))
        except ValidationError as error:
            batch.reject(KIND_OF[name], position, f"invalid {name}: {short_message(error)}")
        if done % 1000 == 0:
            progress(done, len(items))
    if ignored and not any(validated.values()) and not batch.counts_rejected():
        found = ", ".join(sorted(ignored))
        raise ImportFileError(f"This FHIR file has no Patient, RelatedPerson or Appointment, only {found}.")
    mrn_of: dict[str, str] = {}  # "Patient/<id>" and fullUrl -> MRN
    for position, patient, full_url in validated["Patient"]:
        try:
            record = _patient(patient, position, today)
            batch.check_patient(record)
        except r.Rejected as rejected:
            batch.reject("patients", position, str(rejected))
            continue
        batch.add_patient(record)
        if patient.id:
            mrn_of[f"Patient/{patient.id}"] = record.mrn
        if full_url:
            mrn_of[full_url] = record.mrn
    for position, person, _ in validated["RelatedPerson"]:
        try:
            batch.contacts.append(_contact(person, position, mrn_of))
        except r.Rejected as rejected:
            batch.reject("contacts", position, str(rejected))
    for position, appointment, _ in validated["Appointment"]:
        try:
            batch.appointments.append(_appointment(appointment, position, mrn_of))
        except r.Rejected as rejected:
            batch.reject("appointments", position, str(rejected))
    progress(len(items), len(items))
    if ignored:
        batch.kind += "; ignored " + ", ".join(f"{n} {name}" for name, n in sorted(ignored.items()))


def short_message(error: ValidationError) -> str:
    """Return the first validation error as "field: message", with how many more there were."""
    errors = error.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__")
    message = first.get("msg", "").removeprefix("Value error, ")
    text = f"{where}: {message}" if where else message
    if len(text) > 160:
        text = text[:157] + "..."
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text


def _codes(concept) -> list[str]:
    return [coding.code for coding in (concept.coding or []) if coding.code] if concept else []


def _patient(patient, position: str, today: date) -> r.PatientRecord:
    mrn = None
    for identifier in patient.identifier or []:
        if "MR" in _codes(identifier.type) or "mrn" in (identifier.system or "").lower():
            mrn = identifier.value
            break
    if not mrn:
        raise r.Rejected("missing MRN (an identifier of type MR)")
    name = _name(patient.name)
    return r.PatientRecord(
        position=position,
        mrn=r.mrn(mrn),
        first_name=r.name(name[0], "patient first name"),
        last_name=r.name(name[1], "patient last name"),
        date_of_birth=r.birth_date(patient.birthDate.isoformat() if patient.birthDate else "", today=today),
        sex=GENDERS.get(patient.gender or "unknown", "U"),
        source_id=(patient.id or "")[:100],
    )


def _name(names) -> tuple[str, str]:
    names = names or []
    chosen = next((n for n in names if n.use == "official"), names[0] if names else None)
    if chosen is None:
        return "", ""
    return (chosen.given or [""])[0], chosen.family or ""


def _patient_ref(reference, mrn_of: dict[str, str]) -> tuple[str, str]:
    """Return (MRN, FHIR Patient id) for a reference: the store finds a patient imported earlier by id."""
    if reference is None:
        raise r.Rejected("no patient reference")
    if reference.identifier is not None and reference.identifier.value:
        return reference.identifier.value, ""
    ref = reference.reference or ""
    if ref in mrn_of:
        return mrn_of[ref], ""
    if ref.startswith("Patient/"):
        return "", ref.removeprefix("Patient/")
    raise r.Rejected(f"patient reference {ref!r} is not a Patient in this file")


def _relationship(concepts: Iterable) -> str:
    given = []
    for concept in concepts or []:
        for coding in concept.coding or []:
            if coding.code and coding.code.upper() in ROLE_CODES:
                return ROLE_CODES[coding.code.upper()].value
            given.append(coding.code or coding.display or "")
        for text in [concept.text, *(c.display for c in concept.coding or [])]:
            if text:
                try:
                    return r.relationship(text)
                except r.Rejected:
                    given.append(text)
    if not given:
        raise r.Rejected("missing relationship")
    raise r.Rejected(f"unknown relationship {given[0]!r}")


def _contact(person, position: str, mrn_of) -> r.ContactRecord:
    mrn, patient_id = _patient_ref(person.patient, mrn_of)
    first, last = _name(person.name)
    email = phone = ""
    for telecom in person.telecom or []:
        if telecom.system == "email" and not email:
            email = telecom.value or ""
        elif telecom.system in ("phone", "sms") and telecom.use == "mobile" and not phone:
            phone = telecom.value or ""
    languages = sorted(person.communication or [], key=lambda c: not c.preferred)
    language = next((code for c in languages for code in _codes(c.language)), "")
    identifier = next((i.value for i in person.identifier or [] if i.value), "")
    return r.ContactRecord(
        position=position,
        mrn=r.mrn(mrn) if mrn else "",
        patient_source_id=patient_id,
        source_id=r.text(identifier, "identifier", max_length=100, required=False),
        first_name=r.name(first, "contact first name"),
        last_name=r.name(last, "contact last name"),
        relationship=_relationship(person.relationship),
        email=r.email(email),
        cell_phone=r.cell_phone(phone),
        preferred_language=r.language(language),
    )


def _concept_text(concept) -> str:
    if concept is None:
        return ""
    return concept.text or next(
        (c.display or c.code for c in concept.coding or [] if c.display or c.code), ""
    )


def _appointment(appointment, position: str, mrn_of) -> r.AppointmentRecord:
    source_id = next((i.value for i in appointment.identifier or [] if i.value), "")
    if not source_id and appointment.id:
        source_id = f"Appointment/{appointment.id}"
    if not appointment.start:
        raise r.Rejected("missing start time")
    patient_ref = provider = None
    for participant in appointment.participant or []:
        actor = participant.actor
        if actor is None:
            continue
        ref = actor.reference or ""
        if patient_ref is None and (ref.startswith("Patient/") or ref in mrn_of or actor.type == "Patient"):
            patient_ref = actor
        elif provider is None and (ref.startswith("Practitioner") or actor.type == "Practitioner"):
            provider = actor.display or ""
    if patient_ref is None:
        raise r.Rejected("no Patient among the participants")
    mrn, patient_id = _patient_ref(patient_ref, mrn_of)
    visit_type = _concept_text(appointment.appointmentType) or next(
        (t for t in map(_concept_text, appointment.serviceType or []) if t), ""
    )
    return r.AppointmentRecord(
        position=position,
        source_id=r.text(source_id, "identifier", max_length=100),
        mrn=r.mrn(mrn) if mrn else "",
        patient_source_id=patient_id,
        starts_at=appointment.start,
        provider=(provider or "")[:100],
        visit_type=visit_type[:100],
        status=STATUSES.get(appointment.status, Appointment.Status.SCHEDULED).value,
    )
