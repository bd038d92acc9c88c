"""What the portal reads from an HL7 v2 message (docs/hl7.md), field by field, in the shapes EHRs and
interface engines send: v2.3 phone numbers as text and v2.5 ones in components, several identifiers in
PID-3, aliases in PID-5, escape sequences, Latin-1 bytes, SCH-11 timing beside AIS-4. The messages are
ours, written in the shapes of published examples.
"""

import datetime as dt

import pytest
from django.utils import timezone

from patients.importing import records as r
from patients.importing.hl7_messages import Message, Unreadable, decode, message_read, parse
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration.hl7_feed.services import message_receive
from registration.models import FeedMessage

TODAY = dt.date(2026, 6, 1)
PID = "PID|1||A1001^^^PEDS^MR||Rivera^Maya||20190412|F"
_ids = iter(range(1, 1_000_000))


def hl7(*segments: str, kind: str = "ADT^A08", version: str = "2.5.1", msh18: str = "", sender="EPIC|PEDS"):
    msh = f"MSH|^~\\&|{sender}|PORTALREG|PEDS|20260601120000||{kind}|CTRL{next(_ids)}|P|{version}"
    if msh18:
        msh += f"||||||{msh18}"
    return "\r".join([msh, *segments]) + "\r"


def read(*segments: str, encoding: str = "utf-8", **header) -> Message:
    text = hl7(*segments, **header)
    return message_read(*parse(decode(text.encode(encoding))), today=TODAY)


def field(segment: str, number: int, value: str) -> str:
    """`segment` with field `number` set (the segment is padded as needed)."""
    parts = segment.split("|")
    parts += [""] * (number + 1 - len(parts))
    parts[number] = value
    return "|".join(parts)


def patient(*segments: str, **header) -> r.PatientRecord:
    return read(*segments, **header).batch.patients[0]


def contact(nk1: str, *, pid: str = PID, **header) -> r.ContactRecord:
    message = read(pid, nk1, **header)
    assert len(message.batch.contacts) == 1, message.batch.warnings + message.batch.problems
    return message.batch.contacts[0]


def warnings(message: Message) -> list[str]:
    return [f"{p.position}: {p.reason}" for p in message.batch.problems + message.batch.warnings]


def appointment(sch: str, *resources: str, kind: str = "SIU^S12", **header) -> r.AppointmentRecord:
    return read(sch, PID, *resources, kind=kind, **header).batch.appointments[0]


def local(*args) -> dt.datetime:
    return timezone.make_aware(dt.datetime(*args))


# ------------------------------------------------------------------------------------ MSH


def test_msh_gives_the_sender_the_control_id_the_type_and_the_version():
    header, _ = parse(hl7(PID, kind="ADT^A08^ADT_A01", sender="EPIC^1.2.3^ISO|PEDS"))
    assert header.sender == "EPIC^PEDS"  # MSH-3 and MSH-4, first components: the duplicate key with MSH-10
    assert header.control_id.startswith("CTRL")
    assert header.message_type == "ADT^A08"
    assert header.version == "2.5.1"
    assert header.used


@pytest.mark.parametrize("kind", ["ADT^A01", "ADT^A03", "ORU^R01", "SIU^S17", "ADT^A34"])
def test_a_type_the_portal_does_not_use_reads_as_nothing(kind):
    message = read(PID, "NK1|1|Rivera^Elena|MTH^Mother", kind=kind)
    assert not message.batch.patients and not message.batch.contacts and not message.merges


@pytest.mark.parametrize(
    "text, code",
    [
        ("PID|1||A1001", "100"),  # no MSH
        ("MSH|^~\\&|EPIC|PEDS|||20260601||ADT^A08||P|2.5.1\rPID|1", "101"),  # no control id
        ("MSH|^~\\&|EPIC|PEDS|||20260601||ADT^A08|C1|P|2.1\rPID|1", "203"),  # v2.1 is not read
        ("MSH|^~\\&|EPIC|PEDS|||20260601||ADT^A08|C1|P|2.5\rPID|1||A\x001", "102"),  # NUL: no column holds it
        ("MSH|^^\\&|EPIC|PEDS|||20260601||ADT^A08|C1|P|2.5\rPID|1", "102"),  # encoding characters repeat
    ],
)
def test_what_cannot_be_read_says_why_with_its_error_code(text, code):
    with pytest.raises(Unreadable) as unreadable:
        parse(decode(text.encode()))
    assert unreadable.value.code == code


def test_segments_ended_by_newlines_as_files_and_some_engines_send_them_are_read():
    text = hl7(PID, "NK1|1|Rivera^Elena|MTH^Mother").replace("\r", "\r\n")
    message = message_read(*parse(decode(text.encode())), today=TODAY)
    assert [c.first_name for c in message.batch.contacts] == ["Elena"]


def test_msh18_8859_1_reads_latin_1_bytes():
    record = patient("PID|1||A1001^^^PEDS^MR||Ordóñez^Maya||20190412|F", msh18="8859/1", encoding="latin-1")
    assert record.last_name == "Ordóñez"


def test_latin_1_bytes_without_msh18_are_read_as_windows_1252():
    record = patient("PID|1||A1001^^^PEDS^MR||Ordóñez^Maya||20190412|F", encoding="latin-1")
    assert record.last_name == "Ordóñez"


def test_msh18_unicode_utf8_reads_utf8():
    assert (
        patient("PID|1||A1001^^^PEDS^MR||Nguyễn^Maya||20190412|F", msh18="UNICODE UTF-8").last_name
        == "Nguyễn"
    )


def test_a_character_set_we_do_not_know_is_unreadable():
    with pytest.raises(Unreadable, match="ISO IR87"):
        read(PID, msh18="ISO IR87")


def test_msh18_utf_8_as_many_systems_write_it_reads_utf8():
    assert patient("PID|1||A1001^^^PEDS^MR||Ordóñez^Maya||20190412|F", msh18="UTF-8").last_name == "Ordóñez"


# ------------------------------------------------------------------------------------ PID


def test_pid3_mrn_is_the_identifier_of_an_mrn_type_wherever_it_is_in_the_list():
    record = patient("PID|1||E4471^^^EPI^EPI~123-45-6789^^^USSSA^SS~A1001^^^PEDS^MR||Rivera^Maya||20190412|F")
    assert record.mrn == "A1001"  # MR comes before EPI in EHR_MRN_TYPES


def test_pid3_mrn_types_are_the_practices_to_choose(settings):
    settings.EHR_MRN_TYPES = ["PI"]
    record = patient("PID|1||7001^^^NHS^NH~A1001^^^PEDS&1.2.840.1&ISO^PI||Rivera^Maya||20190412|F")
    assert record.mrn == "A1001"  # an assigning authority with subcomponents is no obstacle


def test_pid3_without_a_type_the_first_identifier_is_the_mrn_and_pid2_when_pid3_is_empty():
    assert patient("PID|1||A1001~B2002||Rivera^Maya||20190412|F").mrn == "A1001"
    assert patient("PID|1|A1002|||Rivera^Maya||20190412|F").mrn == "A1002"  # v2.3's external id


def test_a_pid_without_an_identifier_is_rejected():
    with pytest.raises(r.Rejected, match="MRN"):
        read("PID|1||||Rivera^Maya||20190412|F")


def test_a_national_number_is_never_the_mrn():
    assert patient("PID|1||123-45-6789^^^USSSA^SS~A1001^^^PEDS^PI||Rivera^Maya||20190412|F").mrn == "A1001"


def test_pid5_the_legal_name_is_read_among_aliases():
    record = patient("PID|1||A1001^^^PEDS^MR||Sol^Mayita^^^^^A~Rivera^Maya^^^^^L||20190412|F")
    assert (record.first_name, record.last_name) == ("Maya", "Rivera")


def test_pid5_without_a_legal_name_the_first_is_read():
    record = patient("PID|1||A1001^^^PEDS^MR||Rivera^Maya^^^^^D~Sol^Mayita^^^^^N||20190412|F")
    assert (record.first_name, record.last_name) == ("Maya", "Rivera")


def test_escape_sequences_are_undone():
    record = patient("PID|1||A1001^^^PEDS^MR||Ríos\\T\\Vega^Ana\\S\\Sofía\\E\\||20190412|F")
    assert record.last_name == "Ríos&Vega"
    assert record.first_name == "Ana^Sofía\\"


def test_a_name_missing_its_given_part_is_rejected():
    with pytest.raises(r.Rejected, match="first name"):
        read("PID|1||A1001^^^PEDS^MR||Rivera||20190412|F")


def test_pid5_first_name_is_the_first_given_name_and_capitals_read_as_the_fhir_import_reads_them():
    record = patient("PID|1||A1001^^^PEDS^MR||O'BRIEN^MAYA^LUZ||20190412|F")
    assert (record.first_name, record.last_name) == ("Maya", "O'Brien")


@pytest.mark.parametrize(
    "born", ["20190412", "201904120830", "20190412083000.0000-0500", "201904120000+0000"]
)
def test_pid7_birth_date_is_the_day_whatever_time_and_offset_follow(born):
    assert patient(field(PID, 7, born)).date_of_birth == dt.date(2019, 4, 12)


@pytest.mark.parametrize(
    "born, reason", [("201904", "not a whole date"), ("20270101", "future"), ("", "date of birth")]
)
def test_pid7_a_partial_future_or_missing_birth_date_is_rejected(born, reason):
    with pytest.raises(r.Rejected, match=reason):
        read(field(PID, 7, born))


@pytest.mark.parametrize(
    "code, sex", [("F", "F"), ("m", "M"), ("O", "O"), ("A", "O"), ("N", "U"), ("", "U"), ("2", "U")]
)
def test_pid8_sex_from_table_0001(code, sex):
    assert patient(field(PID, 8, code)).sex == sex


def test_pid29_and_pid30_say_a_child_died_and_a_blank_says_nothing():
    died = patient(field(field(PID, 29, "20250301"), 30, "Y"))
    assert died.deceased and died.deceased_on == dt.date(2025, 3, 1)
    assert "deceased" not in died.keeps
    silent = patient(PID)
    assert {"deceased", "deceased_on", "active"} <= silent.keeps  # the stored values stay


def test_the_hl7_null_is_read_as_blank():
    record = patient(field(field(PID, 29, '""'), 30, '""'))
    assert not record.deceased and "deceased" in record.keeps


@pytest.mark.parametrize(
    "language, code",
    [
        ("SPA^Spanish^HL70296", "es"),
        ("13^Spanish", "es"),
        ("English", "en"),
        ("es-US", "es"),
        ("VIE^Vietnamese", ""),
    ],
)
def test_pid15_language_from_the_code_or_the_text_is_the_contacts_language(language, code):
    assert contact("NK1|1|Rivera^Elena|MTH^Mother", pid=field(PID, 15, language)).preferred_language == code


# ------------------------------------------------------------------------------------ NK1


@pytest.mark.parametrize(
    "nk1_3, relationship",
    [
        ("MTH^Mother^HL70063", "mother"),
        ("FTH^Father^HL70063", "father"),
        ("PAR^Parent^HL70063", "parent"),
        ("GRD^Guardian^HL70063", "guardian"),
        ("GRP^Grandparent^HL70063", "grandparent"),
        ("MOTHER^Mother", "mother"),  # a local code with the words beside it
        ("14^Stepfather", "stepparent"),
        ("^Madre", "mother"),
        ("Legal Guardian", "guardian"),
        ("FOSTERPRN", "foster_parent"),
        ("N^Next of Kin^HL70131", "other"),  # generic: read as other without a warning
    ],
)
def test_nk1_3_relationship_from_table_0063_codes_or_words(nk1_3, relationship):
    assert contact(f"NK1|1|Rivera^Elena|{nk1_3}").relationship == relationship


def test_nk1_3_unknown_or_missing_relationship_is_other_with_a_warning():
    message = read(PID, "NK1|1|Rivera^Elena|ZZ^Care giver", "NK1|2|Rivera^Tomás")
    assert [c.relationship for c in message.batch.contacts] == ["other", "other"]
    assert warnings(message) == [
        "NK1 1: relationship 'Care giver' is not one we know: imported as other",
        "NK1 2: no relationship given: imported as other",
    ]


def test_nk1_for_the_patient_themself_or_an_organisation_is_not_a_family_contact():
    message = read(PID, "NK1|1|Rivera^Maya|SEL^Self^HL70063", "NK1|2||EMR^Employer|||||||||||Acme Co")
    assert message.batch.contacts == []
    assert [w.split(":")[0] for w in warnings(message)] == ["NK1 1", "NK1 2"]


def test_nk1_2_name_as_pid5_legal_first():
    record = contact("NK1|1|Vega^Elena^^^^^M~Rivera^Elena^^^^^L|MTH^Mother")
    assert (record.first_name, record.last_name) == ("Elena", "Rivera")


def test_nk1_phones_in_v25_components_by_use_and_equipment():
    record = contact(
        "NK1|1|Rivera^Elena|MTH^Mother||^PRN^PH^^1^202^5550140~^PRN^CP^^1^202^5550141"
        "~^NET^Internet^elena@example.org|^WPN^PH^^1^202^5550180^204"
    )
    assert record.home_phone == "+12025550140"
    assert record.cell_phone == "+12025550141"  # CP: the only number texted
    assert record.work_phone == "+12025550180"
    assert record.email == "elena@example.org"


def test_nk1_phones_as_v23_text_with_codes_beside_them():
    record = contact(
        "NK1|1|Rivera^Elena|MTH^Mother||(202)555-0140~(202)555-0141^PRN^CP~elena@example.org^NET^X.400"
        "|(202)555-0180 X204^WPN^PH",
        version="2.3",
    )
    assert record.home_phone == "+12025550140"  # unlabelled in the home field: home, never texted
    assert record.cell_phone == "+12025550141"
    assert record.work_phone == "+12025550180"
    assert record.email == "elena@example.org"


def test_nk1_xtn12_unformatted_number_and_a_cell_in_the_business_field():
    record = contact("NK1|1|Rivera^Elena|MTH^Mother||^PRN^PH^^^^^^^^^2025550140|^WPN^CP^^1^202^5550141")
    assert (record.home_phone, record.cell_phone, record.work_phone) == ("+12025550140", "+12025550141", "")


def test_nk1_fax_and_beeper_are_skipped_and_a_bad_number_is_left_out_with_a_warning():
    message = read(
        PID,
        "NK1|1|Rivera^Elena|MTH^Mother||^PRN^FX^^1^202^5550150~^PRN^BP^^1^202^5550151~^PRN^CP^^^^12"
        "~^PRN^CP^^1^202^5550141~^NET^Internet^not-an-email~^NET^Internet^elena@example.org",
    )
    record = message.batch.contacts[0]
    assert (record.cell_phone, record.home_phone, record.email) == ("+12025550141", "", "elena@example.org")
    assert len(warnings(message)) == 2  # the bad cell and the bad email, each left out alone


def test_nk1_20_language_else_the_patients_pid15():
    own = contact("NK1|1|Rivera^Elena|MTH^Mother" + "|" * 17 + "SPA", pid=field(PID, 15, "ENG"))
    assert own.preferred_language == "es"
    theirs = contact("NK1|1|Rivera^Elena|MTH^Mother", pid=field(PID, 15, "SPA^Spanish"))
    assert theirs.preferred_language == "es"
    neither = contact("NK1|1|Rivera^Elena|MTH^Mother")
    assert neither.preferred_language == ""  # a blank never erases the stored language


def test_nk1_20_language_as_a_local_code_with_its_text():
    record = contact("NK1|1|Rivera^Elena|MTH^Mother" + "|" * 17 + "13^Spanish", pid=field(PID, 15, "ENG"))
    assert record.preferred_language == "es"


def test_nk1_8_and_9_the_relationships_period():
    record = contact("NK1|1|Okafor^Grace|GRD^Guardian|||||20250115|20311231")
    assert record.period_given
    assert (record.valid_from, record.valid_until) == (dt.date(2025, 1, 15), dt.date(2031, 12, 31))
    assert not contact("NK1|1|Rivera^Elena|MTH^Mother").period_given


def test_nk1_9_null_is_read_as_no_end():
    assert contact('NK1|1|Okafor^Grace|GRD^Guardian|||||20250115|""').valid_until is None


def test_nk1_33_is_the_contacts_ehr_identifier_with_its_authority():
    nk1 = "NK1|1|Rivera^Elena|MTH^Mother" + "|" * 30 + "E77120^^^EPI^PN~X9^^^OTHER"
    assert contact(nk1).source_id == "EPI|E77120"
    assert contact("NK1|1|Rivera^Elena|MTH^Mother" + "|" * 30 + "E77120").source_id == "E77120"


def test_contacts_are_read_only_from_adt_updates_not_from_a_merge_or_a_schedule():
    nk1 = "NK1|1|Rivera^Elena|MTH^Mother"
    assert read(PID, nk1, kind="ADT^A28").batch.contacts
    assert read(PID, nk1, kind="ADT^A31").batch.contacts
    assert not read(PID, "MRG|A0999^^^PEDS^MR", nk1, kind="ADT^A40").batch.contacts
    sch = "SCH||V1|||||||||^^^202607011000"
    assert not read(sch, PID, nk1, kind="SIU^S12").batch.contacts


# ------------------------------------------------------------------------------------ MRG


def test_a40_merges_mrg1s_chart_into_pid3s():
    message = read(
        "PID|1||A1001^^^PEDS^MR~E1^^^EPI^EPI||Rivera^Maya||20190412|F",
        "MRG|E2^^^EPI^EPI~A0999^^^PEDS^MR||||||Rivera^Maya",
        kind="ADT^A40^ADT_A39",
    )
    assert [(m.mrn, m.prior_mrn) for m in message.merges] == [("A1001", "A0999")]
    assert message.batch.patients[0].mrn == "A1001"


def test_a40_with_two_pid_mrg_pairs_gives_two_merges():
    message = read(
        PID,
        "MRG|A0998^^^PEDS^MR",
        "PID|1||B2001^^^PEDS^MR||Rivera^Leo||20210930|M",
        "MRG|B0999^^^PEDS^MR",
        kind="ADT^A40",
    )
    assert [(m.mrn, m.prior_mrn) for m in message.merges] == [("A1001", "A0998"), ("B2001", "B0999")]


@pytest.mark.parametrize("segments, reason", [((PID,), "MRG segment"), ((PID, "MRG|"), "MRG-1")])
def test_a40_without_a_prior_identifier_is_rejected(segments, reason):
    with pytest.raises(r.Rejected, match=reason):
        read(*segments, kind="ADT^A40")


# ----------------------------------------------------------------------------- SCH, AIS, AIP, AIL


def test_sch_v25_with_ais_and_aip():
    record = appointment(
        "SCH|9001^EPIC|V5001^EPIC|||||WCC^Well child check^L|OFFICE^Office visit^L|30|MIN"
        "|^^30^202607071030-0400||||||||||||||Booked",
        "RGS|1",
        "AIS|1||WCC4^Well child check, 4 years^L|202607071030-0400",
        "AIP|1||4410^Patel^Ana^^^Dr.|D^Doctor||202607071030-0400",
    )
    assert record.source_id == "V5001"  # SCH-2, the filler's id
    assert record.starts_at == dt.datetime(2026, 7, 7, 14, 30, tzinfo=dt.UTC)
    assert record.provider == "Dr. Ana Patel"
    assert record.visit_type == "Well child check, 4 years"  # AIS-3 text
    assert record.status == "scheduled"
    assert record.mrn == "A1001"


def test_sch_v23_start_in_sch11s_timing_without_offset_is_the_practices_local_time():
    record = appointment(
        "SCH|1209|13030|||1209|OV15^OFFICE VISIT-15|OV^Office visit|OV15|15|m|^^15^20260707140000"
    )
    assert record.starts_at == local(2026, 7, 7, 14, 0)
    assert record.visit_type == "Office visit"  # SCH-7 text, with no AIS
    assert record.source_id == "13030"


def test_sch1_placer_id_when_there_is_no_filler_id():
    assert appointment("SCH|9001||||||||||^^^202607071030").source_id == "9001"


@pytest.mark.parametrize(
    "resource",
    ["AIS|1||WCC|202607071030", "AIP|1||4410^Patel^Ana|D||202607071030", "AIL|1||PEDS|||202607071030"],
)
def test_start_from_ais4_aip6_or_ail6_when_sch11_has_none(resource):
    assert appointment("SCH||V1", resource).starts_at == local(2026, 7, 7, 10, 30)


def test_sch11_comes_before_ais4():
    record = appointment("SCH||V1|||||||||^^^202607071030", "AIS|1||WCC|202607071100")
    assert record.starts_at == local(2026, 7, 7, 10, 30)


def test_provider_from_sch16_or_sch12_when_there_is_no_aip():
    assert appointment("SCH||V1|||||||||^^^202607071030|4410^Patel^Ana").provider == "Ana Patel"
    assert appointment("SCH||V1|||||||||^^^202607071030" + "|" * 5 + "4420^Chen^Wei").provider == "Wei Chen"
    assert appointment("SCH||V1|||||||||^^^202607071030").provider == ""


def test_visit_type_from_sch8_when_ais_and_sch7_say_nothing_and_visit_otherwise():
    assert appointment("SCH||V1||||||OFFICE^Office visit|||^^^202607071030").visit_type == "Office visit"
    assert appointment("SCH||V1|||||||||^^^202607071030").visit_type == "Visit"


@pytest.mark.parametrize(
    "kind, filler, status",
    [
        ("SIU^S12", "Booked", "scheduled"),
        ("SIU^S13", "Pending", "scheduled"),
        ("SIU^S14", "Started", "arrived"),
        ("SIU^S14", "Complete", "completed"),
        ("SIU^S14", "Cancelled", "cancelled"),
        ("SIU^S14", "No Show", "no_show"),
        ("SIU^S15", "Booked", "cancelled"),  # the event decides
        ("SIU^S26", "", "no_show"),
        ("SIU^S14", "Scheduled^^CSI", ""),  # a local word: the stored status stays (scheduled if new)
    ],
)
def test_status_from_the_event_else_sch25(kind, filler, status):
    sch = field("SCH||V1|||||||||^^^202607071030", 25, filler)
    assert appointment(sch, kind=kind).status == status


def test_sch25_canceled_us_spelling():
    sch = field("SCH||V1|||||||||^^^202607071030", 25, "Canceled")
    assert appointment(sch, kind="SIU^S14").status == "cancelled"


def test_provider_from_aig3_before_the_schedulers_sch16():
    # athenahealth's shape: SCH-16 the user who booked, AIG-3 the provider's user name, no AIP.
    record = appointment(
        "SCH|34|34||||visit|visit|ov^office visit|10|minutes|^^^202607071540|||||emorales",
        "AIG|||mdickinson2|||||202607071540",
    )
    assert record.provider == "mdickinson2"


def test_start_from_tq1_7():
    assert appointment("SCH||V1", "TQ1|1||||||202607071030", version="2.7").starts_at == local(
        2026, 7, 7, 10, 30
    )


@pytest.mark.parametrize(
    "segments, reason",
    [
        ((PID, "AIS|1||WCC|202607071030"), "no SCH"),
        (("SCH|||||||||||^^^202607071030", PID), "appointment's id"),
        (("SCH||V1", PID), "no start time"),
        (("SCH||V1|||||||||^^^2026070", PID), "unparseable appointment start"),
    ],
)
def test_an_appointment_without_an_id_or_a_start_is_rejected(segments, reason):
    with pytest.raises(r.Rejected, match=reason):
        read(*segments, kind="SIU^S12")


def test_a_schedules_pid_adds_a_missing_chart_but_changes_no_demographics():
    record = read("SCH||V1|||||||||^^^202607071030", PID, kind="SIU^S12").batch.patients[0]
    assert {"first_name", "last_name", "date_of_birth", "sex"} <= record.keeps


# ---------------------------------------------------------------- applied (the database's rules)


def receive(*segments: str, **header):
    return message_receive(hl7(*segments, **header).encode())


@pytest.mark.django_db
def test_a_blank_never_erases_a_stored_email_phone_or_language():
    nk1 = "NK1|1|Rivera^Elena|MTH^Mother||^PRN^CP^^1^202^5550141~^NET^Internet^elena@example.org"
    assert "MSA|AA" in receive(field(PID, 15, "SPA"), nk1).ack
    assert "MSA|AA" in receive(PID, "NK1|1|Rivera^Elena|MTH^Mother").ack
    elena = FamilyContact.objects.get()
    assert (elena.email, str(elena.cell_phone), elena.preferred_language) == (
        "elena@example.org",
        "+12025550141",
        "es",
    )


@pytest.mark.django_db
def test_a_schedules_pid_creates_a_missing_chart_and_leaves_an_existing_one():
    sch = "SCH||V1|||||||||^^^202607071030"
    receive(sch, "PID|1||A1001^^^PEDS^MR||Rivera^Maya||20190412|F", kind="SIU^S12")
    receive(sch.replace("V1", "V2"), "PID|1||A1001^^^PEDS^MR||Rivers^May||20190413|F", kind="SIU^S12")
    maya = Patient.objects.get(mrn="A1001")
    assert (maya.first_name, maya.last_name, maya.date_of_birth) == ("Maya", "Rivera", dt.date(2019, 4, 12))
    assert Appointment.objects.filter(patient=maya).count() == 2


@pytest.mark.django_db
def test_a_change_that_does_not_say_the_status_keeps_the_stored_one():
    sch = "SCH||V1|||||||||^^^202607071030"
    receive(sch, PID, kind="SIU^S12")
    assert Appointment.objects.get().status == "scheduled"  # new, without a status
    receive(field(sch, 25, "Started"), PID, kind="SIU^S14")
    receive(field(sch.replace("1030", "1045"), 25, ""), PID, kind="SIU^S14")
    visit = Appointment.objects.get()
    assert (visit.status, timezone.localtime(visit.starts_at).minute) == ("arrived", 45)


@pytest.mark.django_db
def test_the_duplicate_key_is_sender_and_control_id():
    text = hl7(PID, "NK1|1|Rivera^Elena|MTH^Mother")
    first, again = message_receive(text.encode()), message_receive(text.encode())
    assert again.duplicate and not first.duplicate
    other_sender = text.replace("EPIC|PEDS", "EPIC|CLINIC2")
    assert not message_receive(other_sender.encode()).duplicate
    assert FeedMessage.objects.count() == 2
    assert PatientContact.objects.count() == 1


@pytest.mark.django_db
def test_a_message_for_a_merged_chart_is_refused():
    receive("PID|1||A0999^^^PEDS^MR||Rivera^Maya||20190412|F")
    receive(PID)
    assert "MSA|AA" in receive(PID, "MRG|A0999^^^PEDS^MR", kind="ADT^A40").ack
    refused = receive("PID|1||A0999^^^PEDS^MR||Rivera^Maya||20190412|F")
    assert refused.outcome == FeedMessage.Outcome.REFUSED
    assert "MSA|AE" in refused.ack and "merged into MRN A1001" in refused.ack
