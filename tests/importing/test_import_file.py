"""Importing EHR exports: samples round-trip, repeat imports change nothing, bad rows are reported."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from patients.importing import ImportFileError, ImportReport, import_file
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration.models import AuditEvent, Pin, PortalAccess

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"

pytestmark = pytest.mark.django_db


def run(name: str, *, dry_run: bool = False, data: bytes | None = None, by=None) -> ImportReport:
    data = (SAMPLES / name).read_bytes() if data is None else data
    return import_file(io.BytesIO(data), name=name, dry_run=dry_run, by=by)


def created(report, kind):
    return report.counts[kind]["created"]


def test_patients_csv_round_trip():
    report = run("patients.csv")
    assert report.kind == "CSV of patients and family contacts"
    assert report.problems == []
    assert report.counts["patients"] == {"created": 4, "updated": 0, "unchanged": 0, "rejected": 0}
    # Elena is on both siblings' charts: one contact, two links.
    assert created(report, "contacts") == 3
    assert created(report, "links") == 4
    maya = Patient.objects.get(mrn="A1001")
    assert (maya.first_name, maya.last_name, str(maya.date_of_birth), maya.sex) == (
        "Maya",
        "Rivera",
        "2019-04-12",
        "F",
    )
    elena = FamilyContact.objects.get(source_id="C-501")
    assert elena.cell_phone.as_e164 == "+12025550141"
    assert elena.preferred_language == "es"
    assert set(elena.patients.values_list("mrn", flat=True)) == {"A1001", "A1002"}
    grace = PatientContact.objects.get(patient__mrn="A1003")
    assert grace.relationship == PatientContact.Relationship.GUARDIAN
    assert str(Patient.objects.get(mrn="A1003").date_of_birth) == "2018-03-07"  # MM/DD/YYYY
    assert not PatientContact.objects.filter(patient__mrn="A1004").exists()


def test_appointments_csv_round_trip():
    run("patients.csv")
    report = run("appointments.csv")
    assert report.counts["appointments"]["created"] == 3
    visit = Appointment.objects.get(source_id="V-9003")
    assert visit.patient.mrn == "A1003"
    assert (visit.provider, visit.visit_type, visit.status) == ("Dr. Okafor", "Vaccine", "cancelled")
    assert visit.starts_at.isoformat() == "2026-05-05T18:40:00+00:00"  # 14:40 in New York


def test_fhir_bundle_round_trip():
    report = run("bundle.json")
    assert report.problems == []
    assert report.counts["patients"]["created"] == 2
    assert report.counts["contacts"]["created"] == 2  # Linh is one RelatedPerson id on two charts
    assert report.counts["links"]["created"] == 3
    assert report.counts["appointments"]["created"] == 2
    linh = FamilyContact.objects.get(source_id="RP-71")
    assert (linh.email, linh.cell_phone.as_e164) == ("linh.nguyen@example.org", "+12025550161")
    assert PatientContact.objects.get(contact__source_id="RP-72").relationship == "grandparent"
    visit = Appointment.objects.get(source_id="FV-2")
    assert (visit.patient.mrn, visit.provider, visit.visit_type, visit.status) == (
        "F3002",
        "Dr. Okafor",
        "Sick visit",
        "arrived",
    )


def test_ndjson_refers_to_patients_imported_earlier():
    run("bundle.json")
    line = {
        "resourceType": "RelatedPerson",
        "identifier": [{"value": "RP-99"}],
        "patient": {"reference": "Patient/p1"},
        "relationship": [{"coding": [{"code": "FTH"}]}],
        "name": [{"family": "Nguyen", "given": ["Bao"]}],
    }
    report = run("related.ndjson", data=(json.dumps(line) + "\n").encode())
    assert report.counts["contacts"]["created"] == 1
    assert PatientContact.objects.get(contact__source_id="RP-99").patient.mrn == "F3001"


@pytest.mark.parametrize(
    "name", ["patients.csv", "appointments.csv", "bundle.json", "patients_with_errors.csv"]
)
def test_importing_twice_changes_nothing_the_second_time(name):
    run("patients.csv")
    run(name)
    rows = [
        list(model.objects.order_by("pk").values())
        for model in (Patient, FamilyContact, PatientContact, Appointment)
    ]
    again = run(name)
    for kind, counts in again.counts.items():
        assert counts["created"] == counts["updated"] == 0, kind
    assert sum(c["unchanged"] for c in again.counts.values()) > 0
    assert rows == [
        list(model.objects.order_by("pk").values())
        for model in (Patient, FamilyContact, PatientContact, Appointment)
    ]


def test_changed_email_and_phone_are_updated_and_audited(staff):
    run("patients.csv")
    changed = (SAMPLES / "patients.csv").read_text().replace("elena.rivera@example.org", "elena@example.net")
    changed = changed.replace("(202) 555-0141", "202-555-0199")
    report = run("patients.csv", data=changed.encode(), by=staff)
    assert report.counts["contacts"] == {"created": 0, "updated": 1, "unchanged": 2, "rejected": 0}
    elena = FamilyContact.objects.get(source_id="C-501")
    assert (elena.email, elena.cell_phone.as_e164) == ("elena@example.net", "+12025550199")
    event = AuditEvent.objects.get(action=AuditEvent.Action.CONTACT_UPDATED_BY_IMPORT)
    assert event.contact_id == elena.pk and event.actor == staff
    assert event.patient.mrn == "A1001"
    assert event.details["changed"] == {
        "email": ["elena.rivera@example.org", "elena@example.net"],
        "cell_phone": ["+12025550141", "+12025550199"],
    }


def test_blank_email_in_the_file_keeps_the_stored_one():
    run("patients.csv")
    blanked = (SAMPLES / "patients.csv").read_text().replace("elena.rivera@example.org", "")
    report = run("patients.csv", data=blanked.encode())
    assert report.counts["contacts"]["updated"] == 0
    assert FamilyContact.objects.get(source_id="C-501").email == "elena.rivera@example.org"


def test_every_kind_of_bad_csv_row_is_reported_with_its_line():
    report = run("patients_with_errors.csv")
    assert [(p.position, p.reason) for p in report.problems] == [
        ("line 3", "missing MRN"),
        ("line 4", "unparseable date of birth '2019-02-30' (use YYYY-MM-DD)"),
        ("line 5", "unknown relationship 'neighbor'"),
        ("line 6", "malformed phone number '12345'"),
        ("line 7", "malformed email 'not-an-email'"),
    ]
    # Valid rows are imported; a rejected row saves neither its patient nor its contact.
    assert set(Patient.objects.values_list("mrn", flat=True)) == {"B2001", "B2007"}
    assert FamilyContact.objects.count() == 1
    assert report.counts["patients"]["rejected"] + report.counts["contacts"]["rejected"] == 5


def test_bad_appointment_rows_are_reported_with_their_lines():
    run("patients.csv")
    report = run("appointments_with_errors.csv")
    assert [p.position for p in report.problems] == ["line 3", "line 4", "line 5", "line 6"]
    assert "no patient with MRN Z9999" in report.problems[2].reason
    assert "unknown appointment status" in report.problems[3].reason
    assert list(Appointment.objects.values_list("source_id", flat=True)) == ["V-9101"]


def test_patient_given_twice_with_different_details_is_rejected():
    data = (SAMPLES / "patients.csv").read_text().replace("A1002,Leo,Rivera", "A1001,Leo,Rivera")
    report = run("patients.csv", data=data.encode())
    assert report.problems[0].position == "line 4"
    assert "MRN A1001 is on line 2" in report.problems[0].reason


def test_fhir_bundle_with_invalid_resources():
    report = run("bundle_with_errors.json")
    reasons = {p.position: p.reason for p in report.problems}
    assert set(reasons) == {"entry 2", "entry 3", "entry 5", "entry 6", "entry 7", "entry 9"}
    assert reasons["entry 2"].startswith("invalid Patient: birthDate")
    assert reasons["entry 3"] == "missing MRN (an identifier of type MR)"
    assert reasons["entry 5"] == "unknown relationship 'NEIGHBOR'"
    assert reasons["entry 6"] == "malformed phone number '555'"
    assert reasons["entry 7"].startswith("invalid RelatedPerson: telecom")
    assert reasons["entry 9"].startswith("invalid Appointment")
    assert all(len(reason) < 220 for reason in reasons.values())
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["F4001"]
    assert list(FamilyContact.objects.values_list("source_id", flat=True)) == ["RP-81"]
    assert list(Appointment.objects.values_list("source_id", flat=True)) == ["FV-11"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"just some notes\nnothing here\n", "neither CSV"),
        ("other.csv", b"id,colour\n1,red\n", "neither the patient columns"),
        ("short.csv", b"mrn,date_of_birth\nA1,2020-01-01\n", r"lacks the column\(s\) patient_first_name"),
        ("obs.json", b'{"resourceType": "Observation"}', "only Observation"),
        ("list.json", b"[1, 2, 3]", "not FHIR R4"),
        ("book.csv", b"PK\x03\x04rest-of-a-zip", "spreadsheet"),
        ("latin1.csv", "mrn,patient_first_name\nA1,Jos\xe9\n".encode("latin-1"), "not UTF-8"),
        ("empty.csv", b"", "empty"),
    ],
)
def test_a_file_of_the_wrong_kind_gets_one_clear_error(name, data, message):
    with pytest.raises(ImportFileError, match=message):
        run(name, data=data)


def test_dry_run_writes_nothing_and_reports_what_a_real_run_would():
    dry = run("bundle.json", dry_run=True)
    assert dry.dry_run
    assert not Patient.objects.exists() and not FamilyContact.objects.exists()
    assert not Appointment.objects.exists() and not AuditEvent.objects.exists()
    real = run("bundle.json")
    assert dry.counts == real.counts
    assert "Dry run" in dry.summary() and "nothing was saved" in dry.summary()


def test_registration_state_is_never_touched(issue_pin, make_portal_account):
    run("patients.csv")
    link = PatientContact.objects.get(patient__mrn="A1001", contact__source_id="C-501")
    make_portal_account(link)
    issue_pin(PatientContact.objects.get(patient__mrn="A1002"))
    patient = Patient.objects.get(mrn="A1001")
    before = (
        list(Pin.objects.order_by("pk").values()),
        list(PortalAccess.objects.order_by("pk").values()),
        list(AuditEvent.objects.order_by("pk").values()),
    )
    changed = (SAMPLES / "patients.csv").read_text().replace("Maya,Rivera", "Maya,Rivera-Lopez")
    run("patients.csv", data=changed.encode())
    assert Patient.objects.get(mrn="A1001").last_name == "Rivera-Lopez"
    after = (
        list(Pin.objects.order_by("pk").values()),
        list(PortalAccess.objects.order_by("pk").values()),
        list(AuditEvent.objects.order_by("pk").values()),
    )
    assert before == after
    assert patient.pk == Patient.objects.get(mrn="A1001").pk


def test_command_prints_the_report_and_fails_on_a_wrong_file(tmp_path, capsys):
    call_command("import_ehr", str(SAMPLES / "patients.csv"), str(SAMPLES / "patients_with_errors.csv"))
    out = capsys.readouterr().out
    assert "patients.csv:" in out and "4 created" in out
    assert "line 5: unknown relationship 'neighbor'" in out
    wrong = tmp_path / "notes.txt"
    wrong.write_text("hello\n")
    with pytest.raises(CommandError, match=r"notes\.txt"):
        call_command("import_ehr", str(wrong), "--dry-run")
