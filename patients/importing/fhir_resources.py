"""FHIR R4 resources as records: Patient (with the contacts it lists), RelatedPerson and Appointment.

Only what the portal uses is read and checked: a field we don't use can't reject a record, however a
vendor fills it. What is read, and from which shapes (Epic, athenahealth, Cerner, Synthea, HL7's own
examples), is in docs/import.md.
"""

from datetime import date

from django.conf import settings

from patients.importing import phones, relationships
from patients.importing import records as r
from patients.importing.fhir_elements import (
    NOT_MRN_SYSTEMS,
    NOT_MRN_TYPES,
    communication_language,
    concept_codes,
    concept_text,
    dicts,
    ended,
    human_name,
    period_dates,
    string,
    type_labels,
)
from patients.models import Appointment, PatientContact

Rel = PatientContact.Relationship

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

# ---------------------------------------------------------------------------- Patient


def mrn_identifier(identifiers, today: date) -> dict:
    """Return the identifier that is the patient's chart number, by the practice's settings.

    In order: an identifier of a system listed in `EHR_MRN_SYSTEMS`; one whose type names a label of
    `EHR_MRN_TYPES` (a v2-0203 code such as MR, or Epic's type text "MRN", "EPI"); the only identifier
    there is (athenahealth); one whose system says "mrn". Ended identifiers (`period`, use "old") and
    national or insurance numbers are never chosen.
    """
    usable = []  # (identifier, its type labels)
    for identifier in dicts(identifiers):
        system, value = string(identifier.get("system")), string(identifier.get("value"))
        if not value or identifier.get("use") == "old" or ended(identifier, today):
            continue
        labels = type_labels(identifier)
        if system.lower() in NOT_MRN_SYSTEMS or labels & NOT_MRN_TYPES:
            continue
        usable.append((identifier, labels))
    for system in settings.EHR_MRN_SYSTEMS:
        for identifier, _ in usable:
            if string(identifier.get("system")).lower() == system.lower():
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
    by_system = [i for i, _ in usable if "mrn" in string(i.get("system")).lower()]
    if len(by_system) == 1:
        return by_system[0]
    seen = sorted({label for i in dicts(identifiers) for label in type_labels(i)} or {"none"})
    raise r.Rejected(
        f"no MRN among its identifiers (types: {', '.join(seen)}): set EHR_MRN_TYPES or EHR_MRN_SYSTEMS "
        "to say which one is the chart number"
    )


def _period_start(identifier: dict) -> str:
    period = identifier.get("period")
    return string(period.get("start")) if isinstance(period, dict) else ""


def read_patient(resource: dict, position: str, today: date, batch: r.Batch):
    identifier = mrn_identifier(resource.get("identifier"), today)
    first, last = human_name(resource.get("name"), today)
    deceased, deceased_on = _deceased(resource)
    record = r.PatientRecord(
        position=position,
        mrn=r.mrn(identifier.get("value")),
        mrn_system=r.text(identifier.get("system"), "MRN system", max_length=255, required=False),
        first_name=r.name(first, "patient first name"),
        last_name=r.name(last, "patient last name"),
        date_of_birth=r.birth_date(resource.get("birthDate"), today=today),
        sex=GENDERS.get(string(resource.get("gender")).lower(), "U"),
        source_id=string(resource.get("id"))[:100],
        active=resource.get("active") is not False,
        deceased=deceased,
        deceased_on=deceased_on,
    )
    language = communication_language(resource.get("communication"))
    contacts = []
    for number, contact in enumerate(dicts(resource.get("contact")), start=1):
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
    when = string(resource.get("deceasedDateTime"))
    if not when:
        return False, None
    try:
        return True, date.fromisoformat(when[:10])
    except ValueError:
        return True, None  # a partial date still says deceased


# ---------------------------------------------------------------------------- family contacts


def _relationship(concepts, extensions, position: str, batch: r.Batch) -> str:
    """Return our relationship from v3/v2 codes, display text, or a vendor's extension beside them.

    Cerner sends a generic code (GT, FAMMEMB) with the real relation in an extension: the most
    specific relationship found anywhere wins. Nothing known reads as "other", with a warning.
    """
    concepts = dicts(concepts)
    concepts += [nested for c in concepts for nested in _extension_concepts(c.get("extension"))]
    concepts += _extension_concepts(extensions)
    readings = []  # (what was sent, the relationship it names, or None)
    for concept in concepts:
        for _, code, display in concept_codes(concept):
            readings += [(code, _code_or_word(code)), (display, relationships.from_text(display))]
        text = string(concept.get("text"))
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
    for extension in dicts(extensions):
        if isinstance(extension.get("valueCodeableConcept"), dict):
            concepts.append(extension["valueCodeableConcept"])
        if isinstance(extension.get("valueCoding"), dict):
            concepts.append({"coding": [extension["valueCoding"]]})
        relation_text = "relation" in string(extension.get("url")).lower()
        if isinstance(extension.get("valueString"), str) and relation_text:
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
        (t for t in dicts(telecoms) if not ended(t, today) and t.get("use") != "old"),
        key=lambda t: t.get("rank") if isinstance(t.get("rank"), int) else 1_000,
    )
    for telecom in ranked:
        system, use, value = telecom.get("system"), telecom.get("use"), telecom.get("value")
        if system == "email":
            slot, check = "email", r.email
        elif system == "sms" or (system == "phone" and use == "mobile"):
            slot, check = "cell_phone", phones.phone
        elif system == "phone":
            slot, check = ("work_phone" if use == "work" else "home_phone"), phones.phone
        else:
            continue
        if found[slot]:
            continue
        found[slot] = r.optional(check, value, batch=batch, position=position)
    return found


def _contact_name(names, today: date) -> tuple[str, str]:
    if isinstance(names, dict):  # Patient.contact.name is one HumanName
        names = [names]
    return human_name(names, today)


def _patient_contact(contact: dict, position: str, patient: r.PatientRecord, language: str, today, batch):
    """A parent listed in `Patient.contact` (Epic, HL7's examples); None for an organisation only."""
    first, last = _contact_name(contact.get("name"), today)
    if not (first or last) and contact.get("organization"):
        batch.warn(position, "an organization, not a person: not imported as a family contact")
        return None
    if ended(contact, today):
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
    usable = []  # (not a person identifier, system, value)
    for identifier in dicts(resource.get("identifier")):
        system, value = string(identifier.get("system")), string(identifier.get("value"))
        if not value or identifier.get("use") == "old" or ended(identifier, today):
            continue
        labels = type_labels(identifier)
        if system.lower() in NOT_MRN_SYSTEMS or labels & NOT_MRN_TYPES:
            continue
        person = any(label in {"PI", "PN"} or "PERSON" in label for label in labels)
        usable.append((not person, system, value))
    for _, system, value in sorted(usable, key=lambda u: u[0]):
        return f"{system}|{value}" if system else value
    # Not the resource id: athenahealth and Cerner make one RelatedPerson per parent and child, so a
    # parent of siblings is found again by name with email or phone instead (`store.share_key`).
    return ""


def read_related_person(resource: dict, position: str, patient_of, today: date, batch: r.Batch):
    valid_from, valid_until = period_dates(resource.get("period"), position, batch)
    if resource.get("active") is False or (valid_from is not None and valid_from > today):
        batch.warn(position, "inactive RelatedPerson, or one whose period has not begun: not imported")
        return None
    if valid_until is not None and valid_until < today:
        # Kept on the chart, as the EHR has it; nobody is given access through it (access_grant_check).
        batch.warn(position, f"its relationship ended on {valid_until:%Y-%m-%d}: imported, and not invited")
    system, mrn, patient_id = patient_ref(resource.get("patient"), patient_of)
    first, last = human_name(resource.get("name"), today)
    return r.ContactRecord(
        position=position,
        mrn=r.mrn(mrn) if mrn else "",
        mrn_system=system,
        patient_source_id=patient_id,
        source_id=r.text(_person_identifier(resource, today), "identifier", max_length=255, required=False),
        first_name=r.name(first, "contact first name"),
        last_name=r.name(last, "contact last name"),
        relationship=_relationship(resource.get("relationship"), resource.get("extension"), position, batch),
        preferred_language=communication_language(resource.get("communication")),
        **_telecoms(resource.get("telecom"), position, today, batch),
        period_given=True,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def patient_ref(reference, patient_of: dict) -> tuple[str, str, str]:
    """Return (MRN system, MRN, FHIR Patient id): the store finds a patient imported earlier by id."""
    if not isinstance(reference, dict):
        raise r.Rejected("no patient reference")
    identifier = reference.get("identifier")
    if isinstance(identifier, dict) and string(identifier.get("value")):
        return string(identifier.get("system")), string(identifier["value"]), ""
    ref = string(reference.get("reference"))
    if ref in patient_of:
        return (*patient_of[ref], "")
    if "Patient/" in ref:  # relative, or absolute on the EHR's base URL
        return "", "", ref.rsplit("Patient/", 1)[1].split("/")[0][:100]
    raise r.Rejected(f"patient reference {ref!r} is not a Patient in this file")


# ---------------------------------------------------------------------------- appointments


def read_appointment(resource: dict, position: str, patient_of, today: date, batch: r.Batch):
    identifier = next((i for i in dicts(resource.get("identifier")) if string(i.get("value"))), None)
    source_id = string(identifier.get("value")) if identifier else ""
    if not source_id and string(resource.get("id")):
        source_id = f"Appointment/{string(resource.get('id'))}"
    patient_actor = provider = None
    for participant in dicts(resource.get("participant")):
        actor = participant.get("actor")
        if not isinstance(actor, dict):
            continue
        ref = string(actor.get("reference"))
        if patient_actor is None and (
            "Patient/" in ref or ref in patient_of or actor.get("type") == "Patient"
        ):
            patient_actor = actor
        elif provider is None and ("Practitioner" in ref or actor.get("type") == "Practitioner"):
            provider = string(actor.get("display"))
    if patient_actor is None:
        raise r.Rejected("no Patient among the participants")
    system, mrn, patient_id = patient_ref(patient_actor, patient_of)
    types = [resource.get("appointmentType"), *dicts(resource.get("serviceType"))]
    visit_type = next((t for t in map(concept_text, types) if t), "")
    return r.AppointmentRecord(
        position=position,
        source_id=r.text(source_id, "identifier", max_length=100),
        mrn=r.mrn(mrn) if mrn else "",
        mrn_system=system,
        patient_source_id=patient_id,
        starts_at=r.a_datetime(resource.get("start"), "start time"),
        provider=(provider or "")[:100],
        visit_type=visit_type[:100],
        status=STATUSES.get(string(resource.get("status")), Appointment.Status.SCHEDULED).value,
    )
