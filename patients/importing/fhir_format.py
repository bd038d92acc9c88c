"""FHIR R4 input: a Bundle, or bulk-export NDJSON (one resource a line), as real EHRs write them.

Only what the portal uses is read and checked: a field we don't use can't reject a record, however a
vendor fills it. What is read, and from which shapes (Epic, athenahealth, Cerner, Synthea, HL7's own
examples), is in docs/import.md. Resources of other types are counted as skipped.
"""

import json
from collections.abc import Callable
from datetime import date

from django.conf import settings

from patients.importing import records as r
from patients.importing import relationships
from patients.importing.report import ImportFileError
from patients.models import Appointment, PatientContact

Rel = PatientContact.Relationship
READ_ORDER = ("Patient", "RelatedPerson", "Appointment")

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
GENDERS = {"female": "F", "f": "F", "male": "M", "m": "M", "other": "O", "o": "O", "unknown": "U", "u": "U"}

# Identifiers that are never a chart number, and are never stored: national and insurance numbers.
NOT_MRN_SYSTEMS = {
    "http://hl7.org/fhir/sid/us-ssn",
    "urn:oid:2.16.840.1.113883.4.1",  # US SSN
    "http://hl7.org/fhir/sid/us-medicare",
    "http://hl7.org/fhir/sid/us-mbi",
    "urn:oid:2.16.840.1.113883.4.927",  # Medicare MBI
    "urn:oid:2.16.840.1.113883.4.3.25",
    "http://hl7.org/fhir/sid/us-npi",
    "http://hl7.org/fhir/sid/passport-usa",
}
NOT_MRN_TYPES = {
    *("SS", "SB", "SSN", "DL", "PPN", "TAX", "NI", "NNUS", "MC", "MA", "MB", "MI", "SN", "NPI", "DR", "BSN"),
    *("SOCIAL SECURITY NUMBER", "MILITARY ID", "DRIVER'S LICENSE", "PASSPORT NUMBER", "MEDICARE", "MEDICAID"),
}
MAX_LINE_BYTES = 1_000_000  # one NDJSON resource: a Patient far bigger than this is not a Patient


def _dicts(value) -> list[dict]:
    """Return the objects of a FHIR list element, ignoring anything malformed in it."""
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _str(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _concept_codes(concept: dict) -> list[tuple[str, str, str]]:
    """Return (system, code, display) of each coding of a CodeableConcept."""
    return [
        (_str(c.get("system")), _str(c.get("code")), _str(c.get("display")))
        for c in _dicts(concept.get("coding"))
    ]


def _ended(element: dict, today: date) -> bool:
    """Whether an element's `period` ended before today, or starts after it."""
    period = element.get("period")
    if not isinstance(period, dict):
        return False
    end, start = _str(period.get("end"))[:10], _str(period.get("start"))[:10]
    return bool((end and end < today.isoformat()) or (start and start > today.isoformat()))


# ---------------------------------------------------------------------------- files


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
        items.append((position, resource, _str(entry.get("fullUrl"))))
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
            record, contacts = _patient(resource, position, today, batch)
            batch.check_patient(record)
        except r.Rejected as rejected:
            batch.reject("patients", position, str(rejected))
        else:
            if batch.add_patient(record):
                batch.contacts.extend(contacts)
            if resource_id := _str(resource.get("id")):
                patient_of[f"Patient/{resource_id}"] = record.key
            if full_url:
                patient_of[full_url] = record.key
        done += 1
        if done % 2000 == 0:
            progress(done, len(items))
    readers = {"RelatedPerson": ("contacts", _related_person), "Appointment": ("appointments", _appointment)}
    for name, (kind, reader) in readers.items():
        for position, resource, _ in by_type[name]:
            try:
                record = reader(resource, position, patient_of, today, batch)
            except r.Rejected as rejected:
                batch.reject(kind, position, str(rejected))
            else:
                if record is not None:
                    getattr(batch, kind).append(record)
            done += 1
            if done % 2000 == 0:
                progress(done, len(items))
    progress(len(items), len(items))


# ---------------------------------------------------------------------------- Patient


def mrn_identifier(identifiers, today: date) -> dict:
    """Return the identifier that is the patient's chart number, by the practice's settings.

    In order: an identifier of a system listed in `EHR_MRN_SYSTEMS`; one whose type names a label of
    `EHR_MRN_TYPES` (a v2-0203 code such as MR, or Epic's type text "MRN", "EPI"); the only identifier
    there is (athenahealth); one whose system says "mrn". Ended identifiers (`period`, use "old") and
    national or insurance numbers are never chosen.
    """
    usable = []  # (identifier, its type labels)
    for identifier in _dicts(identifiers):
        system, value = _str(identifier.get("system")), _str(identifier.get("value"))
        if not value or identifier.get("use") == "old" or _ended(identifier, today):
            continue
        labels = _type_labels(identifier)
        if system.lower() in NOT_MRN_SYSTEMS or labels & NOT_MRN_TYPES:
            continue
        usable.append((identifier, labels))
    for system in settings.EHR_MRN_SYSTEMS:
        for identifier, _ in usable:
            if _str(identifier.get("system")).lower() == system.lower():
                return identifier
    for label in settings.EHR_MRN_TYPES:
        labelled = [identifier for identifier, labels in usable if label.upper() in labels]
        if labelled:
            # An official or usual one before a secondary; among those, the latest to start.
            labelled.sort(key=_period_start, reverse=True)
            labelled.sort(key=lambda i: i.get("use") not in ("official", "usual"))
            return labelled[0]
    if len(usable) == 1:
        return usable[0][0]
    by_system = [i for i, _ in usable if "mrn" in _str(i.get("system")).lower()]
    if len(by_system) == 1:
        return by_system[0]
    seen = sorted({label for i in _dicts(identifiers) for label in _type_labels(i)} or {"none"})
    raise r.Rejected(
        f"no MRN among its identifiers (types: {', '.join(seen)}): set EHR_MRN_TYPES or EHR_MRN_SYSTEMS "
        "to say which one is the chart number"
    )


def _period_start(identifier: dict) -> str:
    period = identifier.get("period")
    return _str(period.get("start")) if isinstance(period, dict) else ""


def _type_labels(identifier: dict) -> set[str]:
    concept = identifier.get("type")
    if not isinstance(concept, dict):
        return set()
    labels = {code.upper() for _, code, _ in _concept_codes(concept) if code}
    labels |= {display.upper() for _, _, display in _concept_codes(concept) if display}
    if text := _str(concept.get("text")):
        labels.add(text.upper())
    return labels


def _patient(resource: dict, position: str, today: date, batch: r.Batch):
    identifier = mrn_identifier(resource.get("identifier"), today)
    first, last = _name(resource.get("name"), today)
    deceased, deceased_on = _deceased(resource)
    record = r.PatientRecord(
        position=position,
        mrn=r.mrn(identifier.get("value")),
        mrn_system=r.text(identifier.get("system"), "MRN system", max_length=255, required=False),
        first_name=r.name(first, "patient first name"),
        last_name=r.name(last, "patient last name"),
        date_of_birth=r.birth_date(resource.get("birthDate"), today=today),
        sex=GENDERS.get(_str(resource.get("gender")).lower(), "U"),
        source_id=_str(resource.get("id"))[:100],
        active=resource.get("active") is not False,
        deceased=deceased,
        deceased_on=deceased_on,
    )
    language = _language(resource.get("communication"))
    contacts = []
    for number, contact in enumerate(_dicts(resource.get("contact")), start=1):
        where = f"{position}, contact {number}"
        try:
            found = _patient_contact(contact, where, record, language, today, batch)
        except r.Rejected as rejected:
            batch.reject("contacts", where, str(rejected))
            continue
        if found is not None:
            contacts.append(found)
    return record, contacts


def _deceased(resource: dict) -> tuple[bool, date | None]:
    if resource.get("deceasedBoolean") is True:
        return True, None
    when = _str(resource.get("deceasedDateTime"))
    if not when:
        return False, None
    try:
        return True, date.fromisoformat(when[:10])
    except ValueError:
        return True, None  # a partial date still says deceased


def _name(names, today: date) -> tuple[str, str]:
    """Return (first, last): the official name, else usual, else another current one, else any."""
    every = _dicts(names)
    current = [n for n in every if n.get("use") not in ("old", "maiden") and not _ended(n, today)]
    ranked = sorted(current, key=lambda n: {"official": 0, "usual": 1}.get(n.get("use"), 2))
    ranked += [n for n in every if n not in current]  # a mother known only by her maiden name
    for name in ranked:
        given = [g.strip() for g in name.get("given") or [] if isinstance(g, str) and g.strip()]
        family = _str(name.get("family"))
        if given or family:
            return _tidy(given[0] if given else ""), _tidy(family)
        text = _str(name.get("text"))
        if "," in text:  # "Lindqvist,Erik" or "SMART, JOE", as Epic and Cerner write it
            family, _, given_text = text.partition(",")
            return _tidy(given_text.strip()), _tidy(family.strip())
        if text:
            *rest, family = text.split()
            return _tidy(" ".join(rest)), _tidy(family)
    return "", ""


def _tidy(name: str) -> str:
    """Turn an all-capitals name (Cerner's "O'KEEFE-NUNEZ") into "O'Keefe-Nunez"; leave others alone."""
    if len(name) < 2 or name.upper() != name or name.lower() == name:
        return name
    out, capital = [], True
    for char in name.lower():
        out.append(char.upper() if capital else char)
        capital = not char.isalpha()
    return "".join(out)


def _language(communications) -> str:
    """Return "en" or "es" from a FHIR communication list (the preferred one first), else ""."""
    ordered = sorted(_dicts(communications), key=lambda c: c.get("preferred") is not True)
    for communication in ordered:
        concept = communication.get("language")
        if not isinstance(concept, dict):
            continue
        for _, code, display in _concept_codes(concept):
            if found := r.language(code) or r.language(display):
                return found
        if found := r.language(_str(concept.get("text"))):
            return found
    return ""


# ---------------------------------------------------------------------------- family contacts


def _relationship(concepts, extensions, position: str, batch: r.Batch) -> str:
    """Return our relationship from v3/v2 codes, display text, or a vendor's extension beside them.

    Cerner sends a generic code (GT, FAMMEMB) with the real relation in an extension: the most
    specific relationship found anywhere wins. Nothing known reads as "other", with a warning.
    """
    concepts = _dicts(concepts)
    concepts += [nested for c in concepts for nested in _extension_concepts(c.get("extension"))]
    concepts += _extension_concepts(extensions)
    readings = []  # (what was sent, the relationship it names, or None)
    for concept in concepts:
        for _, code, display in _concept_codes(concept):
            readings += [(code, _code_or_word(code)), (display, relationships.from_text(display))]
        text = _str(concept.get("text"))
        readings.append((text, relationships.from_text(text) if text else None))
    found = [rel for sent, rel in readings if sent and rel is not None]
    given = [sent for sent, rel in readings if sent and rel is None]
    best = relationships.most_specific(found)
    if best is None:
        what = f"relationship {given[0]!r} is not one we know" if given else "no relationship given"
        batch.warn(position, f"{what}: imported as other")
        return Rel.OTHER.value
    return best.value


def _code_or_word(code: str):
    """A code of a known table, or a code that is a word ("NEIGHBOR")."""
    return (relationships.from_code(code) or relationships.from_text(code)) if code else None


def _extension_concepts(extensions) -> list[dict]:
    """CodeableConcepts and codings in extensions (and their nested extensions)."""
    concepts = []
    for extension in _dicts(extensions):
        if isinstance(extension.get("valueCodeableConcept"), dict):
            concepts.append(extension["valueCodeableConcept"])
        if isinstance(extension.get("valueCoding"), dict):
            concepts.append({"coding": [extension["valueCoding"]]})
        if isinstance(extension.get("valueString"), str) and "relation" in _str(extension.get("url")).lower():
            concepts.append({"text": extension["valueString"]})
        concepts.extend(_extension_concepts(extension.get("extension")))
    return concepts


def _telecoms(telecoms, position: str, today: date, batch: r.Batch) -> dict[str, str]:
    """Return email, cell_phone, home_phone and work_phone; a bad one is left out with a warning.

    Texts go only to a mobile number (or one marked sms); a phone with no use is kept as home, for
    staff to call, since a landline cannot receive a PIN.
    """
    found = {"email": "", "cell_phone": "", "home_phone": "", "work_phone": ""}
    ranked = sorted(
        (t for t in _dicts(telecoms) if not _ended(t, today) and t.get("use") != "old"),
        key=lambda t: t.get("rank") if isinstance(t.get("rank"), int) else 1_000,
    )
    for telecom in ranked:
        system, use, value = telecom.get("system"), telecom.get("use"), telecom.get("value")
        if system == "email":
            slot, check = "email", r.email
        elif system == "sms" or (system == "phone" and use == "mobile"):
            slot, check = "cell_phone", r.phone
        elif system == "phone":
            slot, check = ("work_phone" if use == "work" else "home_phone"), r.phone
        else:
            continue
        if found[slot]:
            continue
        found[slot] = r.optional(check, value, batch=batch, position=position)
    return found


def _contact_name(names, today: date) -> tuple[str, str]:
    if isinstance(names, dict):  # Patient.contact.name is one HumanName
        names = [names]
    return _name(names, today)


def _patient_contact(contact: dict, position: str, patient: r.PatientRecord, language: str, today, batch):
    """A parent listed in `Patient.contact` (Epic, HL7's examples); None for an organisation only."""
    first, last = _contact_name(contact.get("name"), today)
    if not (first or last) and contact.get("organization"):
        batch.warn(position, "an organization, not a person: not imported as a family contact")
        return None
    if _ended(contact, today):
        batch.warn(position, "its period has ended: not imported")
        return None
    phones = _telecoms(contact.get("telecom"), position, today, batch)
    return r.ContactRecord(
        position=position,
        mrn=patient.mrn,
        mrn_system=patient.mrn_system,
        patient_source_id="",
        first_name=r.name(first, "contact first name"),
        last_name=r.name(last, "contact last name"),
        relationship=_relationship(contact.get("relationship"), contact.get("extension"), position, batch),
        preferred_language=language,
        **phones,
    )


def _person_identifier(resource: dict, today: date) -> str:
    """The EHR's identifier for a RelatedPerson ("system|value"), never a national number; else "".

    A person identifier of the EHR's own (v2-0203 PI or PN, Cerner's "Person" ones) comes first.
    """
    usable = []
    for identifier in _dicts(resource.get("identifier")):
        system, value = _str(identifier.get("system")), _str(identifier.get("value"))
        if not value or identifier.get("use") == "old" or _ended(identifier, today):
            continue
        if system.lower() in NOT_MRN_SYSTEMS or _type_labels(identifier) & NOT_MRN_TYPES:
            continue
        usable.append(identifier)
    usable.sort(
        key=lambda i: not any(label in {"PI", "PN"} or "PERSON" in label for label in _type_labels(i))
    )
    for identifier in usable:
        system, value = _str(identifier.get("system")), _str(identifier.get("value"))
        return f"{system}|{value}" if system else value
    # Not the resource id: athenahealth and Cerner make one RelatedPerson per parent and child, so a
    # parent of siblings is found again by name with email or phone instead (`store.share_key`).
    return ""


def _related_person(resource: dict, position: str, patient_of, today: date, batch: r.Batch):
    if resource.get("active") is False or _ended(resource, today):
        batch.warn(position, "inactive or ended RelatedPerson: not imported")
        return None
    system, mrn, patient_id = _patient_ref(resource.get("patient"), patient_of)
    first, last = _name(resource.get("name"), today)
    return r.ContactRecord(
        position=position,
        mrn=r.mrn(mrn) if mrn else "",
        mrn_system=system,
        patient_source_id=patient_id,
        source_id=r.text(_person_identifier(resource, today), "identifier", max_length=255, required=False),
        first_name=r.name(first, "contact first name"),
        last_name=r.name(last, "contact last name"),
        relationship=_relationship(resource.get("relationship"), resource.get("extension"), position, batch),
        preferred_language=_language(resource.get("communication")),
        **_telecoms(resource.get("telecom"), position, today, batch),
    )


def _patient_ref(reference, patient_of: dict) -> tuple[str, str, str]:
    """Return (MRN system, MRN, FHIR Patient id): the store finds a patient imported earlier by id."""
    if not isinstance(reference, dict):
        raise r.Rejected("no patient reference")
    identifier = reference.get("identifier")
    if isinstance(identifier, dict) and _str(identifier.get("value")):
        return _str(identifier.get("system")), _str(identifier["value"]), ""
    ref = _str(reference.get("reference"))
    if ref in patient_of:
        return (*patient_of[ref], "")
    if "Patient/" in ref:  # relative, or absolute on the EHR's base URL
        return "", "", ref.rsplit("Patient/", 1)[1].split("/")[0][:100]
    raise r.Rejected(f"patient reference {ref!r} is not a Patient in this file")


# ---------------------------------------------------------------------------- appointments


def _concept_text(concept) -> str:
    if not isinstance(concept, dict):
        return ""
    return _str(concept.get("text")) or next((d or c for _, c, d in _concept_codes(concept) if d or c), "")


def _appointment(resource: dict, position: str, patient_of, today: date, batch: r.Batch):
    identifier = next((i for i in _dicts(resource.get("identifier")) if _str(i.get("value"))), None)
    source_id = _str(identifier.get("value")) if identifier else ""
    if not source_id and _str(resource.get("id")):
        source_id = f"Appointment/{_str(resource.get('id'))}"
    patient_ref = provider = None
    for participant in _dicts(resource.get("participant")):
        actor = participant.get("actor")
        if not isinstance(actor, dict):
            continue
        ref = _str(actor.get("reference"))
        if patient_ref is None and ("Patient/" in ref or ref in patient_of or actor.get("type") == "Patient"):
            patient_ref = actor
        elif provider is None and ("Practitioner" in ref or actor.get("type") == "Practitioner"):
            provider = _str(actor.get("display"))
    if patient_ref is None:
        raise r.Rejected("no Patient among the participants")
    system, mrn, patient_id = _patient_ref(patient_ref, patient_of)
    types = [resource.get("appointmentType"), *_dicts(resource.get("serviceType"))]
    visit_type = next((t for t in map(_concept_text, types) if t), "")
    return r.AppointmentRecord(
        position=position,
        source_id=r.text(source_id, "identifier", max_length=100),
        mrn=r.mrn(mrn) if mrn else "",
        mrn_system=system,
        patient_source_id=patient_id,
        starts_at=r.a_datetime(resource.get("start"), "start time"),
        provider=(provider or "")[:100],
        visit_type=visit_type[:100],
        status=STATUSES.get(_str(resource.get("status")), Appointment.Status.SCHEDULED).value,
    )
