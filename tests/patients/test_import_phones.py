"""Each phone number in an export is parsed once: by the reader, never again when it is stored.

PhoneNumberField parses a number when it is assigned and again when it is saved; an import that read
every number already parsed each one three times (a third of its time). A spy wraps `phonenumbers.parse`
(what the model field calls) and the reader's own reference to it, calling through, and counts.
"""

import io
import json

import phonenumbers
import pytest

from patients.importing import records
from patients.models import FamilyContact
from registration.ehr_import.importing import import_file

pytestmark = pytest.mark.django_db

HEADER = (
    "mrn,patient_first_name,patient_last_name,date_of_birth,sex,contact_id,contact_first_name,"
    "contact_last_name,relationship,email,cell_phone,home_phone,work_phone,preferred_language\n"
)
ROWS = 30  # more than bulk_insert.FEW: new and changed contacts go through COPY and bulk_update


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Every number parsed, by the reader or by the model field, in order."""
    seen: list[str] = []

    def spy(parse):
        def counted(number, *args, **kwargs):
            seen.append(number)
            return parse(number, *args, **kwargs)

        return counted

    monkeypatch.setattr(phonenumbers, "parse", spy(phonenumbers.parse))
    monkeypatch.setattr(records, "phone_parse", spy(records.phone_parse))
    records._e164.cache_clear()  # numbers remembered by an earlier test would not be parsed at all
    return seen


def _number(row: int, slot: int, exchange: int) -> str:
    return f"(617) {exchange}-{row * 3 + slot:04d}"


def _csv(exchange: int) -> bytes:
    lines = [
        f"P{n:03d},Kid{n},Quill,2019-04-17,F,C{n:03d},Ada,Quill,mother,,"
        f"{_number(n, 0, exchange)},{_number(n, 1, exchange)},{_number(n, 2, exchange)},en\n"
        for n in range(ROWS)
    ]
    return (HEADER + "".join(lines)).encode()


def _ndjson(exchange: int) -> bytes:
    resources = []
    for n in range(ROWS):
        patient = {
            "resourceType": "Patient",
            "id": f"p{n}",
            "identifier": [{"type": {"text": "MRN"}, "value": f"F{n:03d}"}],
            "name": [{"family": "Quill", "given": [f"Kid{n}"]}],
            "birthDate": "2019-04-17",
        }
        telecom = [
            {"system": "phone", "use": use, "value": _number(n, slot, exchange)}
            for slot, use in enumerate(["mobile", "home", "work"])
        ]
        related = {
            "resourceType": "RelatedPerson",
            "id": f"r{n}",
            "identifier": [{"system": "urn:person", "value": f"R{n}"}],
            "patient": {"reference": f"Patient/p{n}"},
            "relationship": [{"coding": [{"code": "MTH"}]}],
            "name": [{"family": "Quill", "given": ["Ada"]}],
            "telecom": telecom,
        }
        resources += [patient, related]
    return "\n".join(map(json.dumps, resources)).encode()


@pytest.mark.parametrize(("name", "export"), [("patients.csv", _csv), ("export.ndjson", _ndjson)])
def test_each_phone_number_is_parsed_once_when_added_and_once_when_changed(parses, name, export):
    report = import_file(io.BytesIO(export(253)), name=name, dry_run=False)
    print(f"{name}: {len(parses)} parses for {ROWS * 3} numbers in {ROWS} rows")
    assert report.counts["contacts"]["created"] == ROWS
    assert sorted(parses) == sorted(_number(n, slot, 253) for n in range(ROWS) for slot in range(3))

    parses.clear()
    report = import_file(io.BytesIO(export(254)), name=name, dry_run=False)  # every number changed
    print(f"{name}, every number changed: {len(parses)} parses")
    assert report.counts["contacts"]["updated"] == ROWS
    assert len(parses) == ROWS * 3 == len(set(parses))
    contact = FamilyContact.objects.get(cell_phone="+16172540000")
    assert (contact.home_phone.as_e164, contact.work_phone.as_e164) == ("+16172540001", "+16172540002")


def test_a_number_repeated_on_siblings_charts_is_parsed_once(parses):
    """A parent of siblings is on each child's row: the same number is not parsed again."""
    rows = "".join(
        f"S{n},Kid{n},Quill,2019-04-17,F,C-ADA,Ada,Quill,mother,,(617) 253-0001,,,en\n" for n in range(ROWS)
    )
    report = import_file(io.BytesIO((HEADER + rows).encode()), name="siblings.csv", dry_run=False)
    print(f"{ROWS} rows with one number: {len(parses)} parse(s)")
    assert report.counts["links"]["created"] == ROWS
    assert parses == ["(617) 253-0001"]
