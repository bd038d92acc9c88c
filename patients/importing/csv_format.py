"""The CSV layouts (docs/import.md): a row per patient-contact pair, or a row per appointment."""

import csv
import io
from collections.abc import Callable
from datetime import date

from patients.importing import phones
from patients.importing import records as r
from patients.importing.report import ImportFileError

CONTACT_COLUMNS = [
    "contact_id",
    "contact_first_name",
    "contact_last_name",
    "relationship",
    "email",
    "cell_phone",
    "home_phone",
    "work_phone",
    "preferred_language",
]

PATIENTS_REQUIRED = {"mrn", "patient_first_name", "patient_last_name", "date_of_birth"}
APPOINTMENTS_REQUIRED = {"appointment_id", "mrn", "starts_at"}


def read_csv(text: str, *, today: date, progress: Callable[[int, int], None]) -> r.Batch:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = {(column or "").strip().lower() for column in reader.fieldnames or []}
    reader.fieldnames = [(column or "").strip().lower() for column in reader.fieldnames or []]
    if "appointment_id" in header or "starts_at" in header:
        missing = APPOINTMENTS_REQUIRED - header
        read_row, batch = _appointment_row, r.Batch(kind="CSV of appointments")
    elif "date_of_birth" in header or "patient_first_name" in header:
        missing = PATIENTS_REQUIRED - header
        read_row, batch = _patient_row, r.Batch(kind="CSV of patients and family contacts")
    else:
        raise ImportFileError(
            "This CSV has neither the patient columns (mrn, patient_first_name, patient_last_name, "
            "date_of_birth, ...) nor the appointment columns (appointment_id, mrn, starts_at, ...). "
            "See docs/import.md for the layouts."
        )
    if missing:
        raise ImportFileError(f"The {batch.kind} lacks the column(s) {', '.join(sorted(missing))}.")
    total = text.count("\n")
    for row in reader:
        position = f"line {reader.line_num}"
        read_row(batch, row, position, today)
        if reader.line_num % 2000 == 0:
            progress(reader.line_num, total)
    progress(total, total)
    return batch


def _patient_row(batch: r.Batch, row: dict, position: str, today: date) -> None:
    kind = "patients"
    try:
        patient = r.PatientRecord(
            position=position,
            mrn=r.mrn(row.get("mrn")),
            first_name=r.name(row.get("patient_first_name"), "patient first name"),
            last_name=r.name(row.get("patient_last_name"), "patient last name"),
            date_of_birth=r.birth_date(row.get("date_of_birth"), today=today),
            sex=r.sex(row.get("sex")),
        )
        batch.check_patient(patient)
        contact = None
        if any((row.get(column) or "").strip() for column in CONTACT_COLUMNS):
            kind = "contacts"
            contact = r.ContactRecord(
                position=position,
                mrn=patient.mrn,
                patient_source_id="",
                source_id=r.text(row.get("contact_id"), "contact_id", max_length=100, required=False),
                first_name=r.name(row.get("contact_first_name"), "contact first name"),
                last_name=r.name(row.get("contact_last_name"), "contact last name"),
                relationship=r.relationship(row.get("relationship"), batch=batch, position=position),
                email=r.optional(r.email, row.get("email"), batch=batch, position=position),
                cell_phone=r.optional(phones.phone, row.get("cell_phone"), batch=batch, position=position),
                home_phone=r.optional(phones.phone, row.get("home_phone"), batch=batch, position=position),
                work_phone=r.optional(phones.phone, row.get("work_phone"), batch=batch, position=position),
                preferred_language=r.language(row.get("preferred_language")),
            )
    except r.Rejected as rejected:
        batch.reject(kind, position, str(rejected))
        return
    batch.add_patient(patient)
    if contact is not None:
        batch.contacts.append(contact)


def _appointment_row(batch: r.Batch, row: dict, position: str, today: date) -> None:
    try:
        batch.appointments.append(
            r.AppointmentRecord(
                position=position,
                source_id=r.text(row.get("appointment_id"), "appointment_id", max_length=100),
                mrn=r.mrn(row.get("mrn")),
                patient_source_id="",
                starts_at=r.a_datetime(row.get("starts_at"), "start time"),
                provider=r.text(row.get("provider"), "provider", max_length=100, required=False),
                visit_type=r.text(row.get("visit_type"), "visit type", max_length=100, required=False),
                status=r.appointment_status(row.get("status")),
            )
        )
    except r.Rejected as rejected:
        batch.reject("appointments", position, str(rejected))
