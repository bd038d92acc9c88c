"""Read one HL7 v2 message (versions 2.3 to 2.8) into the records every import writes (`records.py`):

- ADT A04, A08, A28, A31 (register or update a patient or person): the patient from PID, the family
  contacts from NK1 (relationship from table 0063, phones and emails by use, language from NK1-20 or
  else PID-15, the relationship's period from NK1-8 and NK1-9);
- ADT A40 (merge patient): the surviving patient from PID and, from MRG-1, the chart merged into it;
- SIU S12, S13, S14, S15, S26 (new, rescheduled, modified, cancelled, no-show): the appointment.

Anything else is read as "not used" so the listener acknowledges it and counts it. `Unreadable` (the
ACK's AR) is a message that is not HL7 v2 we can read; `records.Rejected` (AE) is content refused.
docs/hl7.md lists every field read.
"""

from dataclasses import dataclass, field, replace
from datetime import date

import hl7
from django.conf import settings

from patients.importing import hl7_fields as f
from patients.importing import records as r
from patients.importing import relationships
from patients.importing.phones import phone
from patients.models import Appointment

ADT_UPDATES = {"A04", "A08", "A28", "A31"}
READ_SEGMENTS = {"MSH", "PID", "NK1", "MRG", "SCH", "TQ1", "AIS", "AIP", "AIL", "AIG"}
ADT_MERGES = {"A40"}
SIU_EVENTS = {"S12", "S13", "S14", "S15", "S26"}
# And their point releases (2.3.1, 2.5.1...). 2.2 and 2.9 put PID, NK1, MRG and SCH's fields where
# 2.3 to 2.8 do, and are still sent (athenahealth's older interfaces send 2.2).
VERSIONS = ("2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9")
CHARSETS = {
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",  # not in table 0211, but sent (Mirth, many European systems)
    "UTF8": "utf-8",
    "UNICODE": "utf-8",
    "8859/1": "latin-1",
    "8859/15": "iso8859-15",
    "ASCII": "ascii",
    "CP1252": "cp1252",  # not in table 0211, but sent
}
# SCH-25 filler status (table 0278) to ours; the event decides for S15 (cancelled) and S26 (no-show).
FILLER_STATUSES = {
    "BOOKED": Appointment.Status.SCHEDULED,
    "PENDING": Appointment.Status.SCHEDULED,
    "WAITLIST": Appointment.Status.SCHEDULED,
    "OVERBOOK": Appointment.Status.SCHEDULED,
    "STARTED": Appointment.Status.ARRIVED,
    "COMPLETE": Appointment.Status.COMPLETED,
    "CANCELLED": Appointment.Status.CANCELLED,
    "CANCELED": Appointment.Status.CANCELLED,  # US spelling
    "DELETED": Appointment.Status.CANCELLED,
    "DC": Appointment.Status.CANCELLED,
    "NOSHOW": Appointment.Status.NO_SHOW,
}
EVENT_STATUSES = {"S15": Appointment.Status.CANCELLED, "S26": Appointment.Status.NO_SHOW}
DEMOGRAPHICS = frozenset(
    {"first_name", "last_name", "date_of_birth", "sex", "active", "deceased", "deceased_on"}
)
# CX-5 types (table 0203) that are never a chart number: social security, national (NNxxx), driver's
# licence, passport, insurance, account and visit numbers.
NOT_CHART_NUMBERS = {"SS", "SB", "NH", "NI", "DL", "PPN", "MA", "MC", "MCD", "MCR", "HC", "AN", "VN"}
SEXES = {"F": "F", "M": "M", "O": "O", "U": "U", "A": "O", "N": "U", "X": "O"}  # table 0001


class Unreadable(Exception):
    """Not an HL7 v2 message we can read: answered AR. `code` is the ERR-3 code (table 0357)."""

    def __init__(self, reason: str, code: str = "102"):
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class Header:
    """What MSH says: who sent the message, what it is, and what the ACK must echo."""

    encoding_characters: str
    sending_application: str
    sending_facility: str
    control_id: str
    message_code: str  # "ADT", "SIU"
    event: str  # "A08", "S12"
    processing_id: str
    version: str

    @property
    def sender(self) -> str:
        return f"{self.sending_application}^{self.sending_facility}"[:255]

    @property
    def message_type(self) -> str:
        return f"{self.message_code}^{self.event}"[:20]

    @property
    def used(self) -> bool:
        """Whether the portal applies this kind of message; the rest are acknowledged and counted."""
        events = {"ADT": ADT_UPDATES | ADT_MERGES, "SIU": SIU_EVENTS}.get(self.message_code, set())
        return self.event in events


@dataclass(frozen=True)
class MergeRecord:
    """ADT A40: the chart with `prior_mrn` is merged into the one with `mrn`."""

    position: str
    mrn: str
    prior_mrn: str


@dataclass
class Message:
    header: Header
    batch: r.Batch
    merges: list[MergeRecord] = field(default_factory=list)


def decode(data: bytes) -> str:
    """The message's text, in the character set MSH-18 names; UTF-8, else Windows-1252, when none."""
    first = data.split(b"\r", 1)[0].split(b"\n", 1)[0]
    if not first.startswith(b"MSH") or len(first) < 8:
        raise Unreadable("the message does not start with an MSH segment", code="100")
    fields = first.split(first[3:4])
    _delimiters_check(first[3:4].decode("latin-1"), fields[1].decode("latin-1") if len(fields) > 1 else "")
    msh18 = fields[17].decode("ascii", "replace") if len(fields) > 17 else ""
    # The first repetition is the message's character set (later ones are ISO 2022 extensions).
    declared = msh18.split(first[5:6].decode("ascii", "replace") or "~")[0].split("^")[0].strip().upper()
    charset = CHARSETS.get(declared)
    if declared and charset is None:
        raise Unreadable(f"character set {declared!r} in MSH-18 is not one we read", code="102")
    try:
        return data.decode(charset or "utf-8")
    except UnicodeDecodeError:
        if charset:
            raise Unreadable(f"the message is not valid {declared} text (MSH-18)") from None
        return data.decode("cp1252", errors="replace")


def _delimiters_check(separator: str, encoding: str) -> None:
    """MSH-1 and MSH-2: four (or, from 2.7, five) distinct delimiters, none a letter, digit or space."""
    characters = set(encoding + separator)
    if (
        len(encoding) not in (4, 5)
        or len(characters) != len(encoding) + 1
        or any(c.isalnum() or c in "\r " for c in characters)
    ):
        if not encoding:
            raise Unreadable("MSH-2 (the encoding characters) is empty", code="101")
        shown = (separator + encoding)[:6]
        raise Unreadable(f"MSH-1 and MSH-2 {shown!r} are not valid encoding characters", code="102")


def parse(text: str) -> tuple[Header, hl7.Message]:
    """Check the MSH segment and parse the message; `Unreadable` says why it cannot be."""
    text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x00 \t")
    if not text.startswith("MSH") or len(text) < 8:
        raise Unreadable("the message does not start with an MSH segment", code="100")
    if "\x00" in text:  # never in HL7 text, and no database column may hold it
        raise Unreadable("the message contains NUL bytes", code="102")
    encoding = text[4:].split(text[3], 1)[0]
    _delimiters_check(text[3], encoding)
    # Only the segments read are parsed: an EHR's ADT carries PV1, GT1, IN1, AL1, OBX and Z-segments
    # (often most of the message), and parsing them took a third of a message's time.
    read = "\r".join(segment for segment in text.split("\r") if segment[:3].upper() in READ_SEGMENTS)
    try:
        message = hl7.parse(read)
        msh = message.segment("MSH")
    except Exception:  # the parser's errors are not one type; any of them means the same to the sender
        raise Unreadable("the message could not be parsed as HL7 v2") from None
    unescape = message.unescape
    header = Header(
        encoding_characters=encoding,
        sending_application=f.value(msh, 3, unescape)[:120],
        sending_facility=f.value(msh, 4, unescape)[:120],
        control_id=f.value(msh, 10, unescape)[:199],
        message_code=f.value(msh, 9, unescape, 1).upper()[:3],
        event=f.value(msh, 9, unescape, 2).upper()[:3],
        processing_id=f.value(msh, 11, unescape)[:3],
        version=f.value(msh, 12, unescape)[:10],
    )
    if not header.control_id:
        raise Unreadable("MSH-10 (message control id) is empty", code="101")
    if not header.message_code:
        raise Unreadable("MSH-9 (message type) is empty", code="101")
    if not header.version.startswith(VERSIONS):
        raise Unreadable(f"HL7 version {header.version!r} is not one we read (2.2 to 2.9)", code="203")
    return header, message


def message_read(header: Header, message: hl7.Message, *, today: date) -> Message:
    """The records a used message gives. `records.Rejected` refuses the whole message (the patient);
    a contact that cannot be read is left out with its reason in `batch.problems`."""
    read = Message(header=header, batch=r.Batch(kind="hl7"))
    if not header.used:
        return read
    unescape = message.unescape
    segments = [(str(segment[0]).upper(), segment) for segment in message]
    pids = [segment for name, segment in segments if name == "PID"]
    if not pids:
        raise r.Rejected("the message has no PID segment")
    patient, language = _patient(pids[0], unescape, today=today)
    if header.message_code == "SIU":
        # The ADT feed keeps the chart; a scheduling message's PID adds a chart only if there is none.
        patient = replace(patient, keeps=DEMOGRAPHICS)
    read.batch.add_patient(patient)
    if header.message_code == "ADT" and header.event in ADT_MERGES:
        read.merges = _merges(segments, unescape, today=today)
    elif header.message_code == "ADT":
        _contacts(segments, patient, language, unescape, read.batch)
    else:
        read.batch.appointments.append(_appointment(segments, header.event, patient, unescape))
    return read


def _patient(pid: hl7.Segment, unescape, *, today: date) -> tuple[r.PatientRecord, str]:
    """The patient of a PID segment, and the language PID-15 gives (the family's, for a child)."""
    given, family = f.person_name(f.repetitions(pid, 5, unescape))
    death_indicator = f.value(pid, 30, unescape).upper()
    died_on = f.a_date(f.value(pid, 29, unescape), "date of death")
    says_death = bool(death_indicator or died_on)
    language = r.language(f.value(pid, 15, unescape)) or r.language(f.value(pid, 15, unescape, 2))
    sex = SEXES.get(f.value(pid, 8, unescape).upper()[:1], "U")
    record = r.PatientRecord(
        position="PID",
        mrn=r.mrn(_chart_number(f.repetitions(pid, 3, unescape)) or f.value(pid, 2, unescape)),
        first_name=r.name(given, "patient first name"),
        last_name=r.name(family, "patient last name"),
        date_of_birth=f.birth_date(f.value(pid, 7, unescape), today=today),
        sex=sex,
        deceased=death_indicator == "Y" or died_on is not None,
        deceased_on=died_on,
        # PID does not say whether a chart is active; and a blank death field says nothing either.
        keeps=frozenset({"active"} if says_death else {"active", "deceased", "deceased_on"}),
    )
    return record, language


def _chart_number(identifiers: list[list[str]]) -> str:
    """The MRN among a CX list: the first of a type the practice names (EHR_MRN_TYPES), else the first
    that is not a national, insurance or account number (never stored, as in the FHIR import)."""
    types = [t.upper() for t in settings.EHR_MRN_TYPES]
    for wanted in types:
        for rep in identifiers:
            if f.component(rep, 5).upper() == wanted and f.component(rep, 1):
                return f.component(rep, 1)
    for rep in identifiers:
        kind = f.component(rep, 5).upper()
        if f.component(rep, 1) and kind not in NOT_CHART_NUMBERS and not kind.startswith("NN"):
            return f.component(rep, 1)
    return ""


def _contacts(segments, patient: r.PatientRecord, language: str, unescape, batch: r.Batch) -> None:
    for number, nk1 in enumerate((s for name, s in segments if name == "NK1"), start=1):
        position = f"NK1 {number}"
        try:
            contact = _contact(nk1, position, patient, language, unescape, batch)
        except r.Rejected as rejected:
            batch.reject("contacts", position, str(rejected))
            continue
        if contact is not None:
            batch.contacts.append(contact)


def _contact(nk1, position: str, patient: r.PatientRecord, language: str, unescape, batch: r.Batch):
    """A family contact from NK1; None (with a warning) for an organisation or the patient themself."""
    given, family = f.person_name(f.repetitions(nk1, 2, unescape))
    if not (given or family):
        batch.warn(position, "no person's name (an organisation?): not imported as a family contact")
        return None
    code, text = f.value(nk1, 3, unescape, 1), f.value(nk1, 3, unescape, 2)
    if code.upper() in ("SEL", "ONESELF"):
        batch.warn(position, "the patient themself: their own address is added by staff, not by the feed")
        return None
    found = (relationships.from_code(code) if code else None) or (
        relationships.from_text(text or code) if text or code else None
    )
    # Unknown or missing: "other", with the warning every import gives.
    relationship = found.value if found else r.relationship(text or code, batch=batch, position=position)
    phones = f.telecoms(f.repetitions(nk1, 5, unescape), f.repetitions(nk1, 6, unescape))
    starts, ends = f.value(nk1, 8, unescape), f.value(nk1, 9, unescape)
    identifier = f.repetitions(nk1, 33, unescape)
    return r.ContactRecord(
        position=position,
        mrn=patient.mrn,
        patient_source_id="",
        relationship=relationship,
        first_name=r.name(given, "contact first name"),
        last_name=r.name(family, "contact last name"),
        email=_first_good(phones["email"], r.email, position, batch),
        cell_phone=_first_good(phones["cell"], phone, position, batch),
        home_phone=_first_good(phones["home"], phone, position, batch),
        work_phone=_first_good(phones["work"], phone, position, batch),
        preferred_language=r.language(f.value(nk1, 20, unescape))
        or r.language(f.value(nk1, 20, unescape, 2))
        or language,
        source_id=_identifier(identifier[0]) if identifier else "",
        period_given=bool(starts or ends),
        valid_from=f.a_date(starts, "NK1-8 start date"),
        valid_until=f.a_date(ends, "NK1-9 end date"),
    )


def _first_good(values: list[str], check, position: str, batch: r.Batch) -> str:
    """The first value that passes `check`; each bad one is left out with a warning."""
    for raw in values:
        if good := r.optional(check, raw, batch=batch, position=position):
            return good
    return ""


def _identifier(rep: list[str]) -> str:
    """A CX as the contact's EHR identifier: "authority|id", or the id alone."""
    authority, number = f.component(rep, 4), f.component(rep, 1)
    return (f"{authority}|{number}" if authority else number)[:255]


def _merges(segments, unescape, *, today: date) -> list[MergeRecord]:
    """Each PID/MRG pair: the PID's chart survives, MRG-1's is merged into it."""
    merges, current = [], None
    for name, segment in segments:
        if name == "PID":
            current, _ = _patient(segment, unescape, today=today)
        elif name == "MRG" and current is not None:
            prior = _chart_number(f.repetitions(segment, 1, unescape))
            if not prior:
                raise r.Rejected("MRG-1 (the prior patient identifier) is empty")
            merges.append(MergeRecord(position=f"MRG {len(merges) + 1}", mrn=current.mrn, prior_mrn=prior))
    if not merges:
        raise r.Rejected("an A40 needs an MRG segment after its PID")
    return merges


def _appointment(segments, event: str, patient: r.PatientRecord, unescape) -> r.AppointmentRecord:
    sch = next((s for name, s in segments if name == "SCH"), None)
    if sch is None:
        raise r.Rejected("the message has no SCH segment")
    appointment_id = f.value(sch, 2, unescape) or f.value(sch, 1, unescape)  # filler's id, else placer's
    if not appointment_id:
        raise r.Rejected("SCH-2 and SCH-1 (the appointment's id) are empty")
    named = {name: s for name, s in reversed(segments)}  # the first of each resource segment
    starts = f.value(sch, 11, unescape, 4)
    for name, number in (("TQ1", 7), ("AIS", 4), ("AIP", 6), ("AIL", 6), ("AIG", 8)):
        if not starts and name in named:
            starts = f.value(named[name], number, unescape)
    provider = ""
    if "AIP" in named and (reps := f.repetitions(named["AIP"], 3, unescape)):
        provider = f.provider_name(reps[0])
    if not provider and "AIG" in named and (reps := f.repetitions(named["AIG"], 3, unescape)):
        provider = f.component(reps[0], 2) or f.component(reps[0], 1)  # a CE: the resource's text, else id
    for number in (16, 12):  # filler contact person, placer contact person
        if not provider and (reps := f.repetitions(sch, number, unescape)):
            provider = f.provider_name(reps[0])
    visit = ""
    if "AIS" in named:
        visit = f.value(named["AIS"], 3, unescape, 2) or f.value(named["AIS"], 3, unescape, 1)
    visit = visit or f.value(sch, 7, unescape, 2) or f.value(sch, 8, unescape, 2) or f.value(sch, 7, unescape)
    filler = f.value(sch, 25, unescape).upper().replace(" ", "")
    # A new visit without a status is scheduled; a change without one keeps the stored status.
    status = EVENT_STATUSES.get(event) or FILLER_STATUSES.get(filler, "")
    return r.AppointmentRecord(
        position="SCH",
        source_id=r.text(appointment_id, "appointment id", max_length=100),
        mrn=patient.mrn,
        patient_source_id="",
        starts_at=f.a_datetime(starts, "appointment start") if starts else _no_start(),
        provider=provider[:100],
        visit_type=(visit or "Visit")[:100],
        status=Appointment.Status(status).value if status else "",
    )


def _no_start():
    raise r.Rejected("no start time (SCH-11.4, AIS-4, AIP-6 or AIL-6)")
