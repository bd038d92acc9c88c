"""What the feed refuses, and how it says so: AE (readable, content refused, nothing of it saved, the
message kept as refused), AR (not a message it can read), and AA for types the portal does not use."""

import pytest

from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration.models import FeedMessage
from tests.factories import PatientFactory
from tests.hl7 import messages as m
from tests.hl7.records import row_counts

pytestmark = pytest.mark.django_db(transaction=True)


def stored(control: str) -> FeedMessage:
    return FeedMessage.objects.get(control_id=control)


def nothing_applied() -> bool:
    return not (Patient.objects.exists() or FamilyContact.objects.exists() or Appointment.objects.exists())


# ------------------------------------------------------------------------------- AE: refused


@pytest.mark.parametrize("born", ["2019", "201903"])
def test_a_partial_birth_date_is_refused_and_nothing_is_saved(feed, born):
    control = m.control_id()
    contacts = (m.nk1(1, "López", "María", phones=("^PRN^CP^^1^312^5550123",)),)

    ack = feed.ack(m.adt("A04", control, mrn="MP-2001", born=born, contacts=contacts))

    assert (ack.code, ack.control_id) == ("AE", control)
    assert "not a whole date" in ack.text
    assert ack.error_codes == {"102"}
    assert "not a whole date" in ack.errors[0]
    assert nothing_applied()
    row = stored(control)
    assert (row.outcome, row.ack_code) == ("refused", "AE")
    assert "not a whole date" in row.error


def test_a_message_without_pid_is_refused(feed):
    control = m.control_id()
    message = "\r".join([m.msh("ADT^A08^ADT_A01", control), "EVN|A08|20250610120000", m.pv1()]) + "\r"

    ack = feed.ack(message)

    assert (ack.code, ack.control_id) == ("AE", control)
    assert "no PID segment" in ack.text
    assert nothing_applied()
    assert (stored(control).outcome, stored(control).error) == ("refused", "the message has no PID segment")


def test_an_appointment_without_a_start_time_is_refused_with_its_patient(feed):
    control = m.control_id()

    ack = feed.ack(m.siu("S12", control, mrn="MP-2002", appointment_id="A-2002", starts=None))

    assert (ack.code, ack.control_id) == ("AE", control)
    assert "no start time" in ack.text
    # The SIU's PID would have added the chart: refused with its appointment, it is not half saved.
    assert nothing_applied()
    assert stored(control).outcome == "refused"


def test_a_message_for_a_chart_merged_away_is_refused_and_the_chart_stays_merged(feed):
    survivor = PatientFactory(mrn="MP-2003")
    gone = PatientFactory(mrn="MP-2004", merged_into=survivor, active=False, first_name="Lucía")
    before = row_counts()
    control = m.control_id()
    contacts = (m.nk1(1, "Muñoz", "José", "FTH^Father^HL70063", phones=("^PRN^CP^^1^773^5550188",)),)

    ack = feed.ack(m.adt("A08", control, mrn="MP-2004", first="Lucia", contacts=contacts))

    assert (ack.code, ack.control_id) == ("AE", control)
    assert "MP-2004 was merged into MRN MP-2003" in ack.errors[0]
    gone.refresh_from_db()
    assert (gone.first_name, gone.active, gone.merged_into_id) == ("Lucía", False, survivor.pk)
    assert row_counts() == before | {"FeedMessage": before["FeedMessage"] + 1}
    assert stored(control).outcome == "refused"


def test_a_refused_contact_does_not_refuse_the_chart(feed):
    """A contact that cannot be read is left out with a warning; the chart and the others are saved."""
    control = m.control_id()
    contacts = (
        m.nk1(1, "López", "María", phones=("^PRN^CP^^1^312^5550123",)),
        m.nk1(2, "Muñoz", "José", "FTH^Father^HL70063", email="not an address"),
    )

    ack = feed.ack(m.adt("A08", control, mrn="MP-2005", contacts=contacts))

    assert ack.code == "AA"
    assert ack.errors and all("|W|" in err for err in ack.errors)  # warnings, not errors
    assert Patient.objects.filter(mrn="MP-2005").exists()
    assert FamilyContact.objects.get(last_name="Muñoz").email == ""
    assert stored(control).outcome == "applied"


# ------------------------------------------------------------------------------- AR: unreadable


def test_binary_junk_is_answered_ar(feed):
    ack = feed.ack(b"\x00\xff\xfe\x01 not HL7 at all \x7f")

    assert (ack.code, ack.control_id) == ("AR", "")
    assert ack.error_codes == {"100"}
    assert nothing_applied()
    row = FeedMessage.objects.get()
    assert (row.outcome, row.ack_code, row.control_id) == ("unreadable", "AR", "")


@pytest.mark.parametrize(
    "header, reason",
    [
        ("MSH|^^\\&|", "encoding characters"),  # a character twice
        ("MSH|^~\\|", "encoding characters"),  # one missing
        ("MSH|A~\\&|", "encoding characters"),  # a letter
        ("MSH||~\\&|", "MSH-2"),  # MSH-2 empty: said before anything read from the shifted fields
    ],
)
def test_wrong_encoding_characters_are_answered_ar(feed, header, reason):
    control = m.control_id()
    message = m.adt("A08", control, mrn="MP-2010").replace("MSH|^~\\&|", header, 1)

    ack = feed.ack(message)

    assert ack.code == "AR"
    assert reason in ack.text
    assert nothing_applied()
    assert FeedMessage.objects.get().outcome == "unreadable"


def test_a_message_without_a_control_id_is_answered_ar(feed):
    message = m.adt("A08", "", mrn="MP-2011")

    ack = feed.ack(message)

    assert (ack.code, ack.control_id) == ("AR", "")
    assert ack.error_codes == {"101"}
    assert "MSH-10" in ack.text
    assert nothing_applied()


@pytest.mark.parametrize("version", ["2.1", "3.0", "251"])
def test_a_version_outside_2_2_to_2_9_is_answered_ar_with_its_control_id(feed, version):
    control = m.control_id()

    ack = feed.ack(m.adt("A08", control, mrn="MP-2012", version=version))

    assert (ack.code, ack.control_id) == ("AR", control)
    assert ack.error_codes == {"203"}
    assert nothing_applied()


def test_an_unknown_character_set_is_answered_ar(feed):
    ack = feed.ack(m.adt("A08", m.control_id(), mrn="MP-2013", charset="KLINGON"))

    assert ack.code == "AR"
    assert "MSH-18" in ack.text
    assert nothing_applied()


def test_bytes_that_are_not_the_declared_character_set_are_answered_ar(feed):
    data = m.adt("A08", m.control_id(), mrn="MP-2014", last="Muñoz").encode("latin-1")

    ack = feed.ack(data)  # MSH-18 says UTF-8; the ñ is one latin-1 byte

    assert ack.code == "AR"
    assert nothing_applied()


def test_a_message_over_the_size_limit_is_answered_ar_and_the_connection_goes_on(settings, listen, connect):
    settings.HL7_MAX_MESSAGE_BYTES = 4096
    client = connect(listen().port)
    huge = m.adt("A08", m.control_id(), mrn="MP-2015").replace("PV1|", "NTE|1||" + "x" * 20_000 + "\rPV1|")
    control = m.control_id()

    too_large = client.ack(huge)
    good = client.ack(m.adt("A08", control, mrn="MP-2016"))

    assert too_large.code == "AR"
    assert "larger than 4,096 bytes" in too_large.text
    assert (good.code, good.control_id) == ("AA", control)
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["MP-2016"]
    assert sorted(FeedMessage.objects.values_list("outcome", flat=True)) == ["applied", "unreadable"]


# ------------------------------------------------------------------------------- AA: not used


@pytest.mark.parametrize(
    "message",
    [
        lambda control: m.oru(control, mrn="MP-2020"),
        lambda control: m.adt("A01", control, mrn="MP-2020"),  # an admission: not the portal's business
        lambda control: m.adt("A03", control, mrn="MP-2020"),
    ],
    ids=["ORU^R01", "ADT^A01", "ADT^A03"],
)
def test_types_the_portal_does_not_use_are_acknowledged_and_counted_as_ignored(feed, message):
    control = m.control_id()

    ack = feed.ack(message(control))

    assert (ack.code, ack.control_id, ack.errors) == ("AA", control, [])
    assert nothing_applied()
    assert not PatientContact.objects.exists()
    assert (stored(control).outcome, stored(control).ack_code) == ("ignored", "AA")
