"""Each phone number in an export is parsed once: by the reader, never again when it is stored.

PhoneNumberField parses a number when it is assigned and again when it is saved; an import that read
every number already parsed each one three times (a third of its time). Spies wrap the reader's one
parse (`phones.parsed`) and `phonenumbers.parse` (what the model field calls), calling through, and count.
"""

import io
import json

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from patients.importing import phones
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
    monkeypatch.setattr(phones, "parsed", spy(phones.parsed))
    phones._e164.cache_clear()  # numbers remembered by an earlier test would not be parsed at all
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


def test_a_number_that_starts_with_plus_or_is_not_north_american_is_parsed_by_phonenumbers(parses):
    rows = "".join(
        f"W{n},Kid{n},Quill,2019-04-17,F,C-W{n},Ada,Quill,mother,,{number},,,en\n"
        for n, number in enumerate(["+44 20 7946 0958", "+1 (617) 253-0002", "1-617-253-0003", "12345"])
    )
    report = import_file(io.BytesIO((HEADER + rows).encode()), name="world.csv", dry_run=False)
    print(f"parses: {parses}; warnings: {[w.reason for w in report.warnings]}")
    assert parses == ["+44 20 7946 0958", "+1 (617) 253-0002", "1-617-253-0003", "12345"]
    assert sorted(FamilyContact.objects.exclude(cell_phone="").values_list("cell_phone", flat=True)) == [
        "+16172530002",
        "+16172530003",
        "+442079460958",
    ]


SEPARATOR = st.sampled_from(["", " ", "-", "."])


@given(
    area=st.integers(200, 999),
    exchange=st.integers(200, 999),
    line=st.integers(0, 9999),
    parens=st.sampled_from([("", ""), ("(", ")"), ("(", ""), ("", ")")]),
    first=SEPARATOR,
    second=SEPARATOR,
    region=st.sampled_from(["US", "CA", "JM"]),
)
def test_a_north_american_number_reads_as_phonenumbers_parse_reads_it(
    area, exchange, line, parens, first, second, region
):
    """The shortcut for numbers such as (202) 555-0143 gives what phonenumbers.parse gives."""
    value = f"{parens[0]}{area}{parens[1]}{first}{exchange}{second}{line:04d}"
    assert phones.NANP.fullmatch(value)
    assert phones.parsed(value, region) == phonenumbers.parse(value, region)
