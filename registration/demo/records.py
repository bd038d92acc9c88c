"""The EHR's rows for demo families: patients, family contacts, chart links and visits.

These are the practice's records, not registration state, so they are written directly, in bulk.
A child whose MRN exists is left alone; a child missing from a family that has others (a larger
`--patients` than last time) joins the contacts its siblings already have.
"""

from collections import Counter
from dataclasses import dataclass, field

from patients import names
from patients.bulk_insert import gin_batched, insert
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration.demo.families import Child, Family


@dataclass
class Written:
    """What `records_write` made, for the registration rows that follow."""

    new_children: list[tuple[Family, int, Child]] = field(default_factory=list)  # (family, index, child)
    patient_ids: dict[str, int] = field(default_factory=dict)  # MRN -> id, for the new children
    contact_ids: dict[tuple[int, str], int] = field(default_factory=dict)  # (family, relationship) -> id
    counts: Counter = field(default_factory=Counter)


def records_write(families: list[Family]) -> Written:
    """Write the patients of `families` that do not exist yet, with their contacts and visits."""
    existing = dict(
        Patient.objects.filter(mrn__in=[c.mrn for f in families for c in f.children]).values_list("mrn", "pk")
    )
    written = Written()
    joining: list[Family] = []  # families with some children already in the practice
    for family in families:
        have = [c.mrn in existing for c in family.children]
        if all(have):
            continue
        if any(have):
            joining.append(family)
        written.new_children += [(family, i, c) for i, c in enumerate(family.children) if not have[i]]
    if not written.new_children:
        return written

    joining_numbers = {f.number for f in joining}
    new_families = {f.number: f for f, _, _ in written.new_children if f.number not in joining_numbers}
    written.contact_ids = _contacts_of_siblings(joining, existing)
    written.contact_ids |= _contacts_create(new_families.values())
    written.patient_ids = _patients_create([c for _, _, c in written.new_children])
    written.counts.update(
        patients=len(written.patient_ids),
        contacts=sum(len(f.contacts) for f in new_families.values()),
        chart_links=_links_create(written),
        appointments=_visits_create(written),
    )
    return written


def _contacts_of_siblings(joining: list[Family], existing: dict[str, int]) -> dict[tuple[int, str], int]:
    family_of = {existing[c.mrn]: f.number for f in joining for c in f.children if c.mrn in existing}
    links = PatientContact.objects.filter(patient_id__in=family_of).values_list(
        "patient_id", "relationship", "contact_id"
    )
    return {
        (family_of[patient_id], relationship): contact_id for patient_id, relationship, contact_id in links
    }


def _contacts_create(families) -> dict[tuple[int, str], int]:
    keys, rows = [], []
    for family in families:
        for contact in family.contacts:
            keys.append((family.number, contact.relationship))
            rows.append(
                {
                    "first_name": contact.first_name,
                    "last_name": contact.last_name,
                    "email": contact.email,
                    "cell_phone": contact.cell_phone,
                    "preferred_language": contact.language,
                }
            )
    return dict(zip(keys, insert(FamilyContact, rows, ids=True), strict=True))


def _patients_create(children: list[Child]) -> dict[str, int]:
    rows = [
        {
            "mrn": c.mrn,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "date_of_birth": c.date_of_birth,
            "sex": c.sex,
            # COPY skips the fields' own folding (`FoldedNameField.pre_save`).
            "search_name": names.search_name(c.first_name, c.last_name),
            "sort_name": names.sort_name(c.first_name, c.last_name),
        }
        for c in children
    ]
    with gin_batched(Patient):  # the name search's trigram index, filled in one merge
        ids = insert(Patient, rows, ids=True)
    return dict(zip((c.mrn for c in children), ids, strict=True))


def _links_create(written: Written) -> int:
    rows = [
        {
            "patient_id": written.patient_ids[child.mrn],
            "contact_id": written.contact_ids[family.number, contact.relationship],
            "relationship": contact.relationship,
        }
        for family, _, child in written.new_children
        for contact in family.contacts
    ]
    insert(PatientContact, rows)
    return len(rows)


def _visits_create(written: Written) -> int:
    rows = [
        {
            "patient_id": written.patient_ids[child.mrn],
            "starts_at": visit.starts_at,
            "provider": visit.provider,
            "visit_type": visit.visit_type,
            "status": visit.status,
        }
        for _, _, child in written.new_children
        for visit in child.visits
    ]
    insert(Appointment, rows)
    return len(rows)
