"""Real EHR exports import on the first try, with the child's parents (issue 11).

The samples in docs/samples/ are ours, written in the shapes Epic, Cerner, athenahealth, Synthea and
HL7's own examples publish (docs/samples/README.md); the smaller cases below are built inline.
"""

import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from patients.importing import ImportFileError
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration import selectors
from registration.ehr_import.importing import import_file
from registration.models import AuditEvent

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
VENDOR_SAMPLES = [
    "epic_patient_bundle.json",
    "cerner_bundle.json",
    "athena_patients.ndjson",
    "synthea_bundle.json",
    "synthea_deceased_bundle.json",
    "hl7_examples_bundle.json",
]

pytestmark = pytest.mark.django_db


def run(name: str, data: bytes | None = None, *, dry_run: bool = False):
    data = (SAMPLES / name).read_bytes() if data is None else data
    return import_file(io.BytesIO(data), name=name, dry_run=dry_run)


def parents_of(mrn: str) -> dict[str, str]:
    """{"First Last": relationship} of the patient's contacts."""
    links = PatientContact.objects.filter(patient__mrn=mrn).select_related("contact")
    return {link.contact.full_name: link.relationship for link in links}


def patient_resource(**fields) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"type": {"text": "MRN"}, "system": "urn:oid:9.9", "value": "X1"}],
        "name": [{"family": "Rivera", "given": ["Maya"]}],
        "birthDate": "2019-04-12",
    }
    return {**resource, **fields}


def ndjson(*resources: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in resources).encode()


# ---------------------------------------------------------------- each vendor's shape


def test_epic_parents_come_from_patient_contact_and_the_mrn_from_type_text():
    report = run("epic_patient_bundle.json")
    assert report.problems == []
    santiago = Patient.objects.get(mrn="5100201")
    assert santiago.mrn_system == "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14"
    assert (santiago.first_name, santiago.last_name) == ("Santiago", "Ordóñez López")
    # One patient's MRN is labelled EPI, as in Epic's documentation: it is the MRN all the same.
    assert Patient.objects.filter(mrn__in=["5100201", "5100202", "5100203"]).count() == 3
    assert parents_of("5100201") == {
        "María José López-García": "mother",
        "José Antonio Ordóñez Ruiz": "father",
    }
    assert parents_of("5100203") == {"Erik Lindqvist": "father", "Ingrid Lindqvist": "grandparent"}
    # Siblings share their parents: one contact on both charts.
    assert FamilyContact.objects.filter(last_name="López-García").count() == 1
    mother = FamilyContact.objects.get(last_name="López-García")
    assert mother.preferred_language == "es"
    assert mother.cell_phone.as_e164 == "+13125550127" and mother.home_phone.as_e164 == "+13125550118"


def test_cerner_active_mrn_wins_the_relation_extension_names_the_mother_and_no_ssn_is_kept():
    report = run("cerner_bundle.json")
    assert report.problems == []
    assert not Patient.objects.filter(mrn="7204388").exists()  # the ended MRN
    isabella = Patient.objects.get(mrn="7204411")
    assert (isabella.first_name, isabella.last_name) == ("Isabella", "Hawthorne")  # from all capitals
    assert parents_of("7204411") == {"Claire Hawthorne": "mother", "Daniel Hawthorne": "father"}
    assert parents_of("7204412") == {"Claire Hawthorne": "mother"}
    assert FamilyContact.objects.filter(first_name="Claire").count() == 1  # two RelatedPersons, one mother
    identifiers = [*Patient.objects.values_list("mrn", flat=True)]
    identifiers += [*FamilyContact.objects.values_list("source_id", flat=True)]
    assert not any("-" in value and len(value) == 11 for value in identifiers)  # nothing like an SSN
    assert "2.16.840.1.113883.4.1" not in " ".join(identifiers)
    # The father's malformed mobile is left out; his email and other phones are kept.
    daniel = FamilyContact.objects.get(first_name="Daniel")
    assert daniel.cell_phone == "" and daniel.email and daniel.work_phone
    assert [w.reason for w in report.warnings] == [
        "malformed phone number '55501': left out, the rest imported"
    ]


def test_athenahealth_single_untyped_identifier_is_the_mrn_and_parents_join_by_name_and_phone():
    patients = run("athena_patients.ndjson")
    assert patients.problems == [] and patients.counts["patients"]["created"] == 3
    liam = Patient.objects.get(mrn="a-1959031.E-44101")
    assert liam.mrn_system == "https://fhir.athena.io/sid/ah-patient"
    contacts = run("athena_relatedpersons.ndjson")
    assert contacts.problems == []
    assert parents_of("a-1959031.E-44101")["Siobhán O'Keefe"] == "mother"
    assert parents_of("a-1959031.E-44102") == {"Siobhán O'Keefe": "mother"}
    assert FamilyContact.objects.filter(first_name="Siobhán").count() == 1  # one RelatedPerson per child


def test_synthea_uuid_mrn_and_other_resources_are_skipped_not_errors():
    report = run("synthea_bundle.json")
    assert report.problems == []
    patient = Patient.objects.get()
    assert len(patient.mrn) == 36
    assert report.skipped == {"Condition": 1, "Encounter": 1, "Observation": 1}


def test_deceased_and_inactive_patients_are_stored_as_such():
    run("synthea_deceased_bundle.json")
    run("hl7_examples_bundle.json")
    deceased = Patient.objects.get(deceased=True)
    assert str(deceased.deceased_on) == "2021-01-14"
    assert Patient.objects.get(mrn="H6003").active is False


def test_hl7_examples_partial_birth_date_rejects_only_that_patient():
    report = run("hl7_examples_bundle.json")
    assert [(p.position, p.reason) for p in report.problems] == [
        (
            "entry 2",
            "date of birth '2019-03' is not a whole date: a parent proves a PIN with the child's full date "
            "of birth, so the EHR must give the day",
        )
    ]
    assert set(Patient.objects.values_list("mrn", flat=True)) == {"H6001", "H6003"}
    # v2-0131 next of kin and emergency contact are kept as "other"; an organisation is not a person.
    assert set(parents_of("H6001").values()) == {"other"}
    assert any("an organization, not a person" in w.reason for w in report.warnings)


@pytest.mark.parametrize("name", [*VENDOR_SAMPLES, "athena_relatedpersons.ndjson"])
def test_importing_a_vendor_sample_twice_changes_nothing_the_second_time(name):
    run("athena_patients.ndjson")
    run(name)
    before = [list(m.objects.order_by("pk").values()) for m in (Patient, FamilyContact, PatientContact)]
    again = run(name)
    for kind, counts in again.counts.items():
        assert counts["created"] == counts["updated"] == 0, (kind, counts)
    after = [list(m.objects.order_by("pk").values()) for m in (Patient, FamilyContact, PatientContact)]
    assert before == after


def test_imported_accented_names_are_found_as_staff_type_them():
    run("epic_patient_bundle.json")
    run("athena_patients.ndjson")
    assert [p.first_name for p in selectors.patient_search("ordonez")] == ["Santiago", "Valentina"]
    assert [p.first_name for p in selectors.patient_search("valentina ordóñez")] == ["Valentina"]
    assert {p.first_name for p in selectors.patient_search("okeefe")} == {"Liam", "Nora"}


# ---------------------------------------------------------------- identifiers


def test_an_ended_or_old_mrn_never_wins():
    resource = patient_resource(
        identifier=[
            {
                "type": {"text": "MRN"},
                "system": "urn:oid:9.9",
                "value": "OLD1",
                "period": {"end": "2020-01-01"},
            },
            {"type": {"text": "MRN"}, "system": "urn:oid:9.9", "value": "OLD2", "use": "old"},
            {
                "type": {"text": "MRN"},
                "system": "urn:oid:9.9",
                "value": "NOW1",
                "period": {"start": "2020-01-02"},
            },
        ]
    )
    run("p.ndjson", ndjson(resource))
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["NOW1"]


def test_an_ssn_is_never_the_mrn():
    ssn = {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-12-3456"}
    report = run("p.ndjson", ndjson(patient_resource(identifier=[ssn])))
    assert report.problems[0].reason.startswith("no MRN among its identifiers")
    assert not Patient.objects.exists()


def test_two_authorities_same_number_are_two_patients():
    first = patient_resource(identifier=[{"type": {"text": "MRN"}, "system": "urn:oid:1", "value": "12345"}])
    second = patient_resource(
        id="p2",
        identifier=[{"type": {"text": "MRN"}, "system": "urn:oid:2", "value": "12345"}],
        name=[{"family": "Chen", "given": ["Leo"]}],
    )
    run("p.ndjson", ndjson(first, second))
    assert sorted(Patient.objects.values_list("mrn_system", "last_name")) == [
        ("urn:oid:1", "Rivera"),
        ("urn:oid:2", "Chen"),
    ]


def test_a_chart_from_a_csv_is_adopted_by_the_fhir_export_that_names_its_system():
    csv = b"mrn,patient_first_name,patient_last_name,date_of_birth\nX1,Maya,Rivera,2019-04-12\n"
    run("patients.csv", csv)
    report = run("p.ndjson", ndjson(patient_resource()))
    assert report.counts["patients"]["updated"] == 1
    assert list(Patient.objects.values_list("mrn_system", "mrn")) == [("urn:oid:9.9", "X1")]


def test_the_mrn_setting_chooses_among_identifiers(settings):
    settings.EHR_MRN_SYSTEMS = ["urn:oid:7.7"]
    resource = patient_resource(
        identifier=[
            {"type": {"text": "MRN"}, "system": "urn:oid:9.9", "value": "A"},
            {"type": {"text": "INTERNAL"}, "system": "urn:oid:7.7", "value": "  B  "},
        ]
    )
    run("p.ndjson", ndjson(resource))
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["B"]


def test_identifiers_up_to_64_characters():
    long = "x" * 64
    run("p.ndjson", ndjson(patient_resource(identifier=[{"system": "urn:oid:1", "value": long}])))
    assert Patient.objects.get().mrn == long


# ---------------------------------------------------------------- contacts


def contact(**fields) -> dict:
    return {"name": {"family": "Rivera", "given": ["Elena"]}, "relationship": [{"text": "Mother"}], **fields}


@pytest.mark.parametrize(
    ("relationship", "expected", "warned"),
    [
        (
            [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]}],
            "other",
            False,
        ),
        (
            [{"coding": [{"system": "urn:oid:1.2.840.114350.1", "code": "3", "display": "Father"}]}],
            "father",
            False,
        ),
        ([{"text": "Legal Guardian"}], "guardian", False),
        ([{"text": "Madre"}], "mother", False),
        ([{"coding": [{"code": "C"}]}, {"coding": [{"code": "MTH"}]}], "mother", False),
        ([{"coding": [{"code": "XYZ"}]}], "other", True),
        ([], "other", True),
    ],
)
def test_relationships_from_every_table_and_word(relationship, expected, warned):
    report = run("p.ndjson", ndjson(patient_resource(contact=[contact(relationship=relationship)])))
    assert parents_of("X1") == {"Elena Rivera": expected}
    assert bool(report.warnings) is warned


def test_cerner_relation_extension_beats_a_generic_code():
    related = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": "Patient/p1"},
        "name": [{"family": "SMART", "given": ["NANCY"]}],
        "relationship": [
            {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "GT"}],
                "extension": [
                    {
                        "url": "https://fhir-ehr.cerner.com/r4/StructureDefinition/relation",
                        "valueCodeableConcept": {"text": "Mother"},
                    }
                ],
            },
            {"coding": [{"code": "FAMMEMB"}]},
        ],
    }
    report = run("b.ndjson", ndjson(patient_resource(), related))
    assert report.warnings == []
    assert parents_of("X1") == {"Nancy Smart": "mother"}


def test_a_bad_phone_drops_only_that_phone_and_every_kind_of_phone_is_kept():
    telecom = [
        {"system": "phone", "value": "12345", "use": "mobile"},
        {"system": "phone", "value": "(202) 555-0143", "use": "home"},
        {"system": "phone", "value": "202-555-0144", "use": "work"},
        {"system": "email", "value": "elena@example.org"},
    ]
    report = run("p.ndjson", ndjson(patient_resource(contact=[contact(telecom=telecom)])))
    elena = FamilyContact.objects.get()
    assert (elena.email, elena.cell_phone) == ("elena@example.org", "")
    assert (elena.home_phone.as_e164, elena.work_phone.as_e164) == ("+12025550143", "+12025550144")
    assert [w.reason for w in report.warnings] == [
        "malformed phone number '12345': left out, the rest imported"
    ]


def test_a_phone_marked_mobile_or_sms_is_the_one_texted():
    telecom = [
        {"system": "phone", "value": "(202) 555-0143"},
        {"system": "sms", "value": "202-555-0145"},
    ]
    run("p.ndjson", ndjson(patient_resource(contact=[contact(telecom=telecom)])))
    elena = FamilyContact.objects.get()
    assert (elena.cell_phone.as_e164, elena.home_phone.as_e164) == ("+12025550145", "+12025550143")


def test_names_given_only_as_text():
    run(
        "p.ndjson",
        ndjson(
            patient_resource(contact=[{"name": {"text": "Peterson,Sloane"}}, {"name": {"text": "Ana Ruiz"}}])
        ),
    )
    assert set(parents_of("X1")) == {"Sloane Peterson", "Ana Ruiz"}


def test_gender_is_read_in_any_case():
    run("p.ndjson", ndjson(patient_resource(gender="Female")))
    assert Patient.objects.get().sex == "F"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("birth_date", "reason"),
    [
        ("2019", "date of birth '2019' is not a whole date"),
        ("2019-02-30", "date of birth '2019-02-30' is not a real date"),
        ("tomorrow", "unparseable date of birth 'tomorrow'"),
        (20190412, "missing date of birth"),
    ],
)
def test_a_partial_or_impossible_birth_date_rejects_that_record_only(birth_date, reason):
    other = patient_resource(id="p2", identifier=[{"type": {"text": "MRN"}, "value": "X2"}])
    report = run("p.ndjson", ndjson(patient_resource(birthDate=birth_date), other))
    assert report.problems[0].reason.startswith(reason)
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["X2"]


def test_json_nested_too_deeply_is_one_clear_error():
    data = b'{"resourceType": "Bundle", "entry": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ImportFileError, match="nested too deeply"):
        run("deep.json", data)


def test_a_deeply_nested_ndjson_line_is_reported_and_the_rest_imported():
    deep = b'{"resourceType": "Patient", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    report = run("p.ndjson", deep + ndjson(patient_resource()))
    assert report.problems[0].reason == "JSON nested too deeply: not read"
    assert Patient.objects.count() == 1


def test_a_file_over_the_size_limit_is_one_clear_error(settings):
    settings.IMPORT_MAX_FILE_BYTES = 1_000
    with pytest.raises(ImportFileError, match="larger than 1,000 bytes"):
        run("big.ndjson", ndjson(*[patient_resource(id=f"p{n}") for n in range(20)]))


def test_malformed_fields_of_every_type_never_raise():
    """Wrong JSON types where objects, lists and strings belong: reported or ignored, never a crash."""
    odd = [
        patient_resource(identifier="MRN"),
        patient_resource(name="Maya"),
        patient_resource(name=[{"given": "Maya", "family": 7}]),
        patient_resource(contact=[{"name": 5, "telecom": {"system": "phone"}}]),
        patient_resource(birthDate=None, gender=["female"]),
        {"resourceType": "RelatedPerson", "patient": "Patient/p1", "relationship": "mother"},
        {"resourceType": "Appointment", "participant": [{"actor": "Patient/p1"}], "start": 5},
        {"resourceType": None},
        ["not", "a", "resource"],
    ]
    report = run("odd.ndjson", ndjson(*odd))
    assert report.rejected > 0
    assert report.problems  # each reported with its line


# ---------------------------------------------------------------- folders and the command


def test_a_folder_is_read_patients_first_and_unused_types_are_skipped(tmp_path, capsys):
    folder = tmp_path / "bulk"
    folder.mkdir()
    # Named so that a plain sort would read the appointments and contacts first.
    related = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": "Patient/p1"},
        "name": [{"family": "Rivera", "given": ["Elena"]}],
        "relationship": [{"coding": [{"code": "MTH"}]}],
    }
    visit = {
        "resourceType": "Appointment",
        "id": "v1",
        "start": "2026-12-01T09:00:00-05:00",
        "participant": [{"actor": {"reference": "Patient/p1"}}],
    }
    (folder / "1-Appointment.ndjson").write_bytes(ndjson(visit))
    (folder / "2-RelatedPerson.ndjson").write_bytes(ndjson(related))
    (folder / "3-Observation.ndjson").write_bytes(ndjson({"resourceType": "Observation", "id": "o1"}))
    (folder / "9-Patient.ndjson").write_bytes(ndjson(patient_resource()))
    (folder / "README.txt").write_text("not an export")
    call_command("import_ehr", str(folder))  # exit status 0: no CommandError
    out = capsys.readouterr().out
    assert out.index("9-Patient.ndjson") < out.index("2-RelatedPerson.ndjson") < out.index("1-Appointment")
    assert "skipped (not used by the portal): 1 Observation" in out
    assert parents_of("X1") == {"Elena Rivera": "mother"}
    assert Appointment.objects.get().patient.mrn == "X1"


def test_one_unusable_file_does_not_stop_the_others_and_exits_2(tmp_path, capsys):
    shutil.copy(SAMPLES / "synthea_bundle.json", tmp_path / "a.json")
    (tmp_path / "b.json").write_text("{not json")
    shutil.copy(SAMPLES / "epic_patient_bundle.json", tmp_path / "c.json")
    with pytest.raises(CommandError) as stopped:
        call_command("import_ehr", str(tmp_path))
    assert stopped.value.returncode == 2
    assert "b.json" in capsys.readouterr().err
    assert Patient.objects.count() == 4


def test_a_dry_run_of_a_folder_sees_its_own_patients_and_saves_nothing(tmp_path, capsys):
    shutil.copy(SAMPLES / "athena_patients.ndjson", tmp_path)
    shutil.copy(SAMPLES / "athena_relatedpersons.ndjson", tmp_path)
    call_command("import_ehr", str(tmp_path), "--dry-run")
    out = capsys.readouterr().out
    assert "contacts            4 created" in out and "rejected" in out
    assert not Patient.objects.exists() and not FamilyContact.objects.exists()


def test_single_pretty_printed_resources_in_a_folder_are_read_patients_first(tmp_path):
    """HL7's examples come one resource a file, indented: appointment-*.json sorts before patient-*."""
    visit = {
        "resourceType": "Appointment",
        "id": "example",
        "start": "2026-12-01T09:00:00-05:00",
        "participant": [{"actor": {"reference": "Patient/p1"}}],
    }
    (tmp_path / "appointment-example.json").write_text(json.dumps(visit, indent=2))
    (tmp_path / "patient-example.json").write_text(json.dumps(patient_resource(), indent=2))
    call_command("import_ehr", str(tmp_path))  # exit status 0: nothing rejected
    assert Appointment.objects.get().patient.mrn == "X1"


def test_every_record_the_import_adds_or_changes_is_audited(staff):
    """Issue 12, finding 9: new patients, new contacts on a chart and a changed birth date (the
    second factor of a PIN) were written without an audit event."""
    run("p.ndjson", ndjson(patient_resource(contact=[contact()])))
    added = AuditEvent.objects.filter(action=AuditEvent.Action.PATIENT_CREATED_BY_IMPORT).get()
    linked = AuditEvent.objects.filter(action=AuditEvent.Action.CONTACT_ADDED_BY_IMPORT).get()
    assert added.patient.mrn == linked.patient.mrn == "X1" and linked.contact.first_name == "Elena"
    assert added.details == {"file": "p.ndjson"}
    report = import_file(
        io.BytesIO(ndjson(patient_resource(birthDate="2019-04-13"))),
        name="fix.ndjson",
        dry_run=False,
        by=staff,
    )
    assert report.counts["patients"]["updated"] == 1
    changed = AuditEvent.objects.get(action=AuditEvent.Action.PATIENT_UPDATED_BY_IMPORT)
    assert changed.actor == staff
    assert changed.details == {
        "file": "fix.ndjson",
        "changed": {"date_of_birth": ["2019-04-12", "2019-04-13"]},
    }
    run("p.ndjson", ndjson(patient_resource(birthDate="2019-04-13")))  # unchanged: nothing more
    assert AuditEvent.objects.count() == 3
