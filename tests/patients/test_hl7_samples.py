"""The sample messages in docs/samples/hl7/ (one per message type the portal reads, written by us in
the shapes EHRs send) read without a problem, and applied in order they do what docs/hl7.md says."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from patients.importing.hl7_messages import decode, message_read, parse
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration.hl7_feed.services import message_receive

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples" / "hl7"
# The order a feed would send them in: registration, updates, the duplicate chart and its merge, visits.
ORDER = [
    "adt_a04",
    "adt_a08",
    "adt_a28",
    "adt_a31",
    "adt_a40",
    "siu_s12",
    "siu_s13",
    "siu_s14",
    "siu_s15",
    "siu_s26",
]


def test_there_is_one_sample_per_message_type_read():
    assert sorted(path.stem for path in SAMPLES.glob("*.hl7")) == sorted(ORDER)


@pytest.mark.parametrize("name", ORDER)
def test_a_sample_reads_without_a_problem_or_a_warning(name):
    data = (SAMPLES / f"{name}.hl7").read_bytes()
    assert b"\n" not in data  # segments end with \r, as HL7 says
    header, parsed = parse(decode(data))
    assert header.used
    assert header.event == name.rsplit("_", 1)[1].upper()
    read = message_read(header, parsed, today=timezone.localdate())
    assert read.batch.problems == [] and read.batch.warnings == []
    assert read.batch.patients


@pytest.mark.django_db
def test_the_samples_applied_in_order_are_each_acknowledged_aa_and_leave_the_charts_the_ehr_has():
    for name in ORDER:
        receipt = message_receive((SAMPLES / f"{name}.hl7").read_bytes(), peer="127.0.0.1:50000")
        assert receipt.ack.split("\r")[1].startswith("MSA|AA|"), (name, receipt.ack)
        assert "ERR|" not in receipt.ack, (name, receipt.ack)

    maya, leo = Patient.objects.get(mrn="P8001"), Patient.objects.get(mrn="P8002")
    assert Patient.objects.get(mrn="P8003").merged_into == leo
    assert {
        link.contact.first_name: link.relationship for link in PatientContact.objects.filter(patient=maya)
    } == {
        "Elena": "mother",
        "Tomás": "father",
    }
    elena = FamilyContact.objects.get(first_name="Elena")
    assert str(elena.cell_phone) == "+14135550143"  # the A08's new number
    assert elena.email == "elena.rivera@example.org"
    assert elena.preferred_language == "es"
    assert elena.patient_links.filter(patient=leo).exists()  # one mother on both children's charts
    guardian = PatientContact.objects.get(patient=leo, relationship="guardian")
    assert guardian.valid_until == dt.date(2031, 12, 31)

    visit = Appointment.objects.get(source_id="V5001")
    assert (visit.patient, visit.status, visit.provider) == (maya, "no_show", "Dr. Wei Chen")
    assert visit.starts_at == dt.datetime(2026, 7, 9, 18, 0, tzinfo=dt.UTC)
    assert Appointment.objects.get(source_id="V5002").status == "cancelled"
