"""ADT A04, A08, A28 and A31 through the socket: the chart and its family contacts follow the EHR,
each change audited with the message's control id, and the sender gets AA once it is stored."""

import pytest

from patients.models import FamilyContact, Patient, PatientContact
from registration.models import AuditEvent, FeedMessage
from tests.hl7 import messages as m
from tests.hl7.records import events_of

pytestmark = pytest.mark.django_db(transaction=True)
Action = AuditEvent.Action
MOTHER_CELL, MOTHER_HOME = "^PRN^CP^^1^312^5550123", "^PRN^PH^^1^312^5550101"


def family(mrn_suffix: str = "") -> tuple[str, ...]:
    """Mother (cell, home and email; language from PID-15), father (Spanish by NK1-20), guardian."""
    return (
        m.nk1(1, "López", "María", phones=(MOTHER_CELL, MOTHER_HOME), email="maria.lopez@example.org"),
        m.nk1(2, "Muñoz", "José", "FTH^Father^HL70063", phones=("^PRN^CP^^1^773^5550188",), language="SPA"),
        m.nk1(3, "Peña", "Ramón", "GRD^Guardian^HL70063", phones=("^PRN^PH^^1^708^5550142",), language="ENG"),
    )


def contact(last: str) -> FamilyContact:
    return FamilyContact.objects.get(last_name=last)


@pytest.mark.parametrize("event", ["A04", "A08", "A28", "A31"])
def test_a_registration_or_update_creates_the_chart_and_its_family(feed, event):
    control = m.control_id()

    ack = feed.ack(m.adt(event, control, mrn="MP-1001", contacts=family()))

    assert (ack.code, ack.control_id, ack.errors) == ("AA", control, [])
    patient = Patient.objects.get(mrn="MP-1001")
    assert (patient.first_name, patient.last_name, str(patient.date_of_birth), patient.sex) == (
        "Sofía",
        "López",
        "2019-05-04",
        "F",
    )
    relationships = dict(
        PatientContact.objects.filter(patient=patient).values_list("contact__last_name", "relationship")
    )
    assert relationships == {"López": "mother", "Muñoz": "father", "Peña": "guardian"}
    mother, father, guardian = contact("López"), contact("Muñoz"), contact("Peña")
    # A CP (cellular) number is the cell phone, texted; a PH in the home field is the home phone, never.
    assert (str(mother.cell_phone), str(mother.home_phone)) == ("+13125550123", "+13125550101")
    assert mother.email == "maria.lopez@example.org"
    assert (str(father.cell_phone), father.home_phone) == ("+17735550188", "")
    assert (guardian.cell_phone, str(guardian.home_phone)) == ("", "+17085550142")
    # NK1-20 when given, else the family's language from PID-15.
    assert (mother.preferred_language, father.preferred_language, guardian.preferred_language) == (
        "es",
        "es",
        "en",
    )
    actions = sorted(action for action, _ in events_of(control))
    assert actions == sorted([Action.PATIENT_CREATED_BY_IMPORT] + [Action.CONTACT_ADDED_BY_IMPORT] * 3)
    assert all(details["hl7"] == control for _, details in events_of(control))
    stored = FeedMessage.objects.get(control_id=control)
    assert (stored.outcome, stored.ack_code, stored.message_type, stored.sender) == (
        "applied",
        "AA",
        f"ADT^{event}",
        "EPIC^MAPLEPEDS",
    )


def test_a_new_cell_phone_updates_the_contact_and_nothing_else(feed):
    feed.ack(m.adt("A04", m.control_id(), mrn="MP-1002", contacts=family()))
    before = {c.pk: (c.first_name, c.last_name, str(c.cell_phone)) for c in FamilyContact.objects.all()}
    control = m.control_id()
    contacts = list(family())
    contacts[0] = m.nk1(
        1, "López", "María", phones=("^PRN^CP^^1^312^5550177", MOTHER_HOME), email="maria.lopez@example.org"
    )

    ack = feed.ack(m.adt("A08", control, mrn="MP-1002", contacts=tuple(contacts)))

    assert (ack.code, ack.control_id) == ("AA", control)
    mother = contact("López")
    assert str(mother.cell_phone) == "+13125550177"
    assert FamilyContact.objects.count() == len(before) == 3  # the same people, not new ones
    assert PatientContact.objects.count() == 3
    assert events_of(control) == [
        (
            Action.CONTACT_UPDATED_BY_IMPORT,
            {"hl7": control, "type": "ADT^A08", "changed": {"cell_phone": ["+13125550123", "+13125550177"]}},
        )
    ]
    event = AuditEvent.objects.get(details__hl7=control)
    assert (event.patient.mrn, event.contact_id, event.actor_id) == ("MP-1002", mother.pk, None)


def test_an_update_of_the_childs_name_updates_the_chart_in_place(feed):
    feed.ack(m.adt("A04", m.control_id(), mrn="MP-1003", first="Sofia", last="Lopez"))
    control = m.control_id()

    ack = feed.ack(m.adt("A08", control, mrn="MP-1003", first="Sofía", last="López Muñoz"))

    assert ack.code == "AA"
    patient = Patient.objects.get(mrn="MP-1003")
    assert (patient.first_name, patient.last_name) == ("Sofía", "López Muñoz")
    assert [action for action, _ in events_of(control)] == [Action.PATIENT_UPDATED_BY_IMPORT]


def test_latin_1_bytes_named_in_msh_18_are_read_as_latin_1(feed):
    control = m.control_id()
    message = m.adt(
        "A04",
        control,
        mrn="MP-1004",
        first="Begoña",
        last="Muñoz",
        charset="8859/1",
        contacts=(m.nk1(1, "Muñoz", "Inés", phones=("^PRN^CP^^1^312^5550166",)),),
    )
    data = message.encode("latin-1")
    assert "ñ".encode("latin-1") in data and "ñ".encode() not in data

    ack = feed.ack(data)

    assert ack.code == "AA"
    patient = Patient.objects.get(mrn="MP-1004")
    assert (patient.first_name, patient.last_name) == ("Begoña", "Muñoz")
    assert contact("Muñoz").first_name == "Inés"


def test_utf_8_bytes_without_msh_18_are_read_as_utf_8(feed):
    message = m.adt("A04", m.control_id(), mrn="MP-1005", first="Ángela", last="Núñez", charset="")

    assert feed.ack(message.encode("utf-8")).code == "AA"
    patient = Patient.objects.get(mrn="MP-1005")
    assert (patient.first_name, patient.last_name) == ("Ángela", "Núñez")


@pytest.mark.parametrize("version", ["2.2", "2.3", "2.4", "2.5.1", "2.6", "2.7", "2.8", "2.9"])
def test_every_version_from_2_2_to_2_9_is_read(feed, version):
    control = m.control_id()

    ack = feed.ack(m.adt("A08", control, mrn=f"MP-V{version}", version=version, contacts=family()[:1]))

    assert (ack.code, ack.control_id) == ("AA", control)
    assert f"|{version}" in ack.raw.split("\r")[0]  # the ACK answers in the message's version
    assert PatientContact.objects.filter(patient__mrn=f"MP-V{version}", relationship="mother").exists()
