"""FHIR R4 input: a Bundle, or bulk-export NDJSON (one resource a line), as real EHRs write them.

Patients are read first, so that contacts and appointments anywhere in the file can name them; each
resource is read by `fhir_resources.py`. Resources of other types are counted as skipped.
"""

import json
from collections.abc import Callable
from datetime import date

from patients.importing import records as r
from patients.importing.fhir_consents import read_consent
from patients.importing.fhir_elements import string
from patients.importing.fhir_resources import read_appointment, read_patient, read_related_person
from patients.importing.report import ImportFileError

READ_ORDER = ("Patient", "RelatedPerson", "Appointment", "Consent")
MAX_LINE_BYTES = 1_000_000  # one NDJSON resource: a Patient far bigger than this is not a Patient


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
        items.append((position, resource, string(entry.get("fullUrl"))))
    _read(batch, items, today=today, progress=progress)
    return batch


def read_ndjson(text: str, *, today: date, progress: Callable[[int, int], None]) -> r.Batch:
    batch = r.Batch(kind="FHIR R4 NDJSON")
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        position = f"line {number}"
        if len(line) > MAX_LINE_BYTES:
            batch.problems.append(r.Problem(position, f"longer than {MAX_LINE_BYTES:,} characters: not read"))
            continue
        try:
            resource = json.loads(line)
        except json.JSONDecodeError as error:
            batch.problems.append(r.Problem(position, f"not JSON ({error.msg})"))
            continue
        except RecursionError:
            batch.problems.append(r.Problem(position, "JSON nested too deeply: not read"))
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
    by_type: dict[str, list] = {name: [] for name in READ_ORDER}
    for position, resource, full_url in items:
        name = resource.get("resourceType")
        if name in by_type:
            by_type[name].append((position, resource, full_url))
        else:
            batch.skip(name if isinstance(name, str) and name else "resources without a resourceType")
    patient_of: dict[str, tuple[str, str]] = {}  # "Patient/<id>" and fullUrl -> (MRN system, MRN)
    done = 0
    for position, resource, full_url in by_type["Patient"]:
        try:
            record, contacts = read_patient(resource, position, today, batch)
            batch.check_patient(record)
        except r.Rejected as rejected:
            batch.reject("patients", position, str(rejected))
        else:
            if batch.add_patient(record):
                batch.contacts.extend(contacts)
            if resource_id := string(resource.get("id")):
                patient_of[f"Patient/{resource_id}"] = record.key
            if full_url:
                patient_of[full_url] = record.key
        done += 1
        if done % 2000 == 0:
            progress(done, len(items))
    readers = {
        "RelatedPerson": ("contacts", read_related_person),
        "Appointment": ("appointments", read_appointment),
    }
    person_of: dict[str, str] = {}  # "RelatedPerson/<id>" and fullUrl -> the contact record's position
    for name, (kind, reader) in readers.items():
        for position, resource, full_url in by_type[name]:
            try:
                record = reader(resource, position, patient_of, today, batch)
            except r.Rejected as rejected:
                batch.reject(kind, position, str(rejected))
            else:
                if record is not None:
                    getattr(batch, kind).append(record)
                    if name == "RelatedPerson":
                        if resource_id := string(resource.get("id")):
                            person_of[f"RelatedPerson/{resource_id}"] = position
                        if full_url:
                            person_of[full_url] = position
            done += 1
            if done % 2000 == 0:
                progress(done, len(items))
    # Last: a Consent names the patient and the RelatedPersons read above.
    for position, resource, _ in by_type["Consent"]:
        try:
            consent = read_consent(resource, position, patient_of, person_of, today, batch)
        except r.Rejected as rejected:
            batch.reject("restrictions", position, str(rejected))
        else:
            if consent is not None:
                batch.consents.append(consent)
        done += 1
    progress(len(items), len(items))
