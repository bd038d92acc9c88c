"""Importing EHR exports: samples round-trip, repeat imports change nothing, bad rows are reported."""

import gc
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from patients.importing import ImportFileError, ImportReport
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration.ehr_import.importing import import_file
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
    linh = FamilyContact.objects.get(source_id="urn:oid:1.2.3.4.contact|RP-71")
    assert (linh.email, linh.cell_phone.as_e164) == ("linh.nguyen@example.org", "+12025550161")
    assert (
        PatientContact.objects.get(contact__source_id="urn:oid:1.2.3.4.contact|RP-72").relationship
        == "grandparent"
    )
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
        ("line 4", "date of birth '2019-02-30' is not a real date"),
    ]
    # A bad phone or email, or an unknown relationship, leaves out only itself, with a warning.
    assert [(p.position, p.reason) for p in report.warnings] == [
        ("line 6", "malformed phone number '12345': left out, the rest imported"),
        ("line 7", "malformed email 'not-an-email': left out, the rest imported"),
    ]
    # Valid rows are imported; a rejected row saves neither its patient nor its contact.
    assert set(Patient.objects.values_list("mrn", flat=True)) == {"B2001", "B2004", "B2005", "B2006", "B2007"}
    assert PatientContact.objects.get(patient__mrn="B2004").relationship == "other"
    lee = FamilyContact.objects.get(first_name="Lee")
    assert (lee.cell_phone, lee.email) == ("", "")
    jo = FamilyContact.objects.get(first_name="Jo")
    assert jo.email == ""
    assert report.counts["patients"]["rejected"] + report.counts["contacts"]["rejected"] == 2


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
    warnings = {p.position: p.reason for p in report.warnings}
    assert set(reasons) == {"entry 2", "entry 3", "entry 7", "entry 9"}, reasons
    assert reasons["entry 2"] == "date of birth '2018-13-40' is not a real date"
    assert reasons["entry 3"].startswith("no MRN among its identifiers (types: none)")
    neighbour = PatientContact.objects.get(contact__source_id="urn:oid:1.2.3.4.contact|RP-82")
    assert neighbour.relationship == "other"
    assert warnings["entry 6"] == "malformed phone number '555': left out, the rest imported"
    assert reasons["entry 7"] == "missing contact first name"  # no name at all
    assert reasons["entry 9"] == "unparseable start time 'not-a-time' (use YYYY-MM-DDTHH:MM)"
    assert all(len(reason) < 220 for reason in reasons.values())
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["F4001"]
    assert FamilyContact.objects.count() == 3  # the phone left out, Khan's father kept
    assert list(Appointment.objects.values_list("source_id", flat=True)) == ["FV-11"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"just some notes\nnothing here\n", "neither CSV"),
        ("other.csv", b"id,colour\n1,red\n", "neither the patient columns"),
        ("short.csv", b"mrn,date_of_birth\nA1,2020-01-01\n", r"lacks the column\(s\) patient_first_name"),
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
    registration_events = AuditEvent.objects.exclude(action__endswith="_by_import").order_by("pk")
    before = (
        list(Pin.objects.order_by("pk").values()),
        list(PortalAccess.objects.order_by("pk").values()),
        list(registration_events.values()),
    )
    changed = (SAMPLES / "patients.csv").read_text().replace("Maya,Rivera", "Maya,Rivera-Lopez")
    run("patients.csv", data=changed.encode())
    assert Patient.objects.get(mrn="A1001").last_name == "Rivera-Lopez"
    after = (
        list(Pin.objects.order_by("pk").values()),
        list(PortalAccess.objects.order_by("pk").values()),
        list(registration_events.values()),
    )
    assert before == after
    assert patient.pk == Patient.objects.get(mrn="A1001").pk
    # The rename itself is audited: the import's own events, not registration's.
    renamed = AuditEvent.objects.get(action=AuditEvent.Action.PATIENT_UPDATED_BY_IMPORT)
    assert renamed.patient == patient and renamed.details["changed"] == {
        "last_name": ["Rivera", "Rivera-Lopez"]
    }


def test_command_prints_the_report_and_fails_on_a_wrong_file(tmp_path, capsys):
    with pytest.raises(CommandError) as rejected:
        call_command("import_ehr", str(SAMPLES / "patients.csv"), str(SAMPLES / "patients_with_errors.csv"))
    assert rejected.value.returncode == 1  # some records rejected
    out = capsys.readouterr().out
    assert "patients.csv:" in out and "4 created" in out
    assert "line 6: malformed phone number '12345': left out, the rest imported" in out
    wrong = tmp_path / "notes.txt"
    wrong.write_text("hello\n")
    with pytest.raises(CommandError, match=r"notes\.txt") as unusable:
        call_command("import_ehr", str(wrong), "--dry-run")
    assert unusable.value.returncode == 2


def test_the_cycle_collector_is_paused_while_a_file_is_imported_and_back_on_after():
    """Full collections walked every parsed resource again: a third of a large FHIR import."""
    during = []
    data = (SAMPLES / "patients.csv").read_bytes()
    import_file(
        io.BytesIO(data), name="patients.csv", dry_run=True, progress=lambda *_: during.append(gc.isenabled())
    )
    print(f"collector on in {sum(during)} of {len(during)} progress calls; on after: {gc.isenabled()}")
    assert during and not any(during)
    assert gc.isenabled()
    with pytest.raises(ImportFileError):
        run("wrong.csv", data=b"when,what\n2026-01-01,flu shot\n")
    assert gc.isenabled(), "back on after a file that could not be read"
