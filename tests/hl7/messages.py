"""HL7 v2 messages as an EHR sends them, in the shape of Epic's and HL7's published v2 examples: ADT
(EVN, PID, NK1, PV1), SIU (SCH, PID, PV1, RGS, AIS, AIP) and the A40 merge (EVN, PID, MRG).

Segments are built from {field number: value}, so a field lands where the standard puts it.
"""

import itertools
from datetime import datetime

SENT_AT = "20250610120000"
_control_ids = itertools.count(1)


def control_id(prefix: str = "MSG") -> str:
    """A message control id (MSH-10) no other message of the test run uses."""
    return f"{prefix}{next(_control_ids):06d}"


def segment(name: str, fields: dict[int, str]) -> str:
    last = max(fields, default=0)
    return "|".join([name, *(fields.get(number, "") for number in range(1, last + 1))])


def msh(
    message_type: str,
    control: str,
    *,
    version: str = "2.5.1",
    charset: str = "UNICODE UTF-8",
    sender: tuple[str, str] = ("EPIC", "MAPLEPEDS"),
) -> str:
    """MSH; its fields are numbered from MSH-3, MSH-1 being the separator itself."""
    fields = {
        3: sender[0],
        4: sender[1],
        5: "PORTALREG",
        6: "MAPLEPEDS",
        7: SENT_AT,
        9: message_type,
        10: control,
        11: "P",
        12: version,
        15: "AL",
        16: "NE",
        17: "USA",
        18: charset,
    }
    return "MSH|^~\\&|" + "|".join(fields.get(number, "") for number in range(3, 19))


def pid(
    mrn: str,
    *,
    last: str = "López",
    first: str = "Sofía",
    born: str = "20190504",
    sex: str = "F",
    language: str = "SPA^Spanish^HL70296",
    home_phone: str = "^PRN^PH^^1^312^5550101",
) -> str:
    return segment(
        "PID",
        {
            1: "1",
            3: f"{mrn}^^^MAPLEPEDS^MR~999-12-3456^^^SSA^SS",
            5: f"{last}^{first}^^^^^L",
            7: born,
            8: sex,
            11: "1428 Calle Mayor^Apt 2^Chicago^IL^60608^USA^H",
            13: home_phone,
            15: language,
        },
    )


def nk1(
    number: int,
    last: str,
    first: str,
    relationship: str = "MTH^Mother^HL70063",
    *,
    phones: tuple[str, ...] = (),
    email: str = "",
    language: str = "",
) -> str:
    """NK1: phones are XTNs (`^PRN^CP^^1^312^5550123` a cell); `email` becomes a NET repetition."""
    telecoms = list(phones) + ([f"^NET^Internet^{email}"] if email else [])
    return segment(
        "NK1",
        {
            1: str(number),
            2: f"{last}^{first}^^^^^L",
            3: relationship,
            4: "1428 Calle Mayor^Apt 2^Chicago^IL^60608^USA^H",
            5: "~".join(telecoms),
            7: "N^Next-of-Kin^HL70131",
            20: language,
        },
    )


def pv1() -> str:
    return segment("PV1", {1: "1", 2: "O", 3: "PEDS^^^MAPLEPEDS", 7: "1234^Patel^Ana^^^Dr.", 19: "V8841"})


def adt(
    event: str,
    control: str,
    *,
    mrn: str,
    contacts: tuple[str, ...] = (),
    version: str = "2.5.1",
    charset: str = "UNICODE UTF-8",
    **patient,
) -> str:
    """ADT^A04/A08/A28/A31 (or any event): MSH, EVN, PID, the NK1s given, PV1."""
    structure = "ADT_A05" if event in ("A28", "A31") else "ADT_A01"
    segments = [
        msh(f"ADT^{event}^{structure}", control, version=version, charset=charset),
        segment("EVN", {1: event, 2: SENT_AT}),
        pid(mrn, **patient),
        *contacts,
        pv1(),
    ]
    return "\r".join(segments) + "\r"


def a40(control: str, *, mrn: str, prior_mrn: str, **patient) -> str:
    """ADT^A40: the PID is the surviving chart, MRG-1 the chart merged into it."""
    segments = [
        msh("ADT^A40^ADT_A39", control),
        segment("EVN", {1: "A40", 2: SENT_AT}),
        pid(mrn, **patient),
        segment("MRG", {1: f"{prior_mrn}^^^MAPLEPEDS^MR"}),
    ]
    return "\r".join(segments) + "\r"


def hl7_time(moment: datetime | str) -> str:
    """A TS as the EHR writes it: local time to the minute (a string is sent as it is)."""
    return moment if isinstance(moment, str) else moment.strftime("%Y%m%d%H%M")


def siu(
    event: str,
    control: str,
    *,
    mrn: str,
    appointment_id: str,
    starts: datetime | str | None,
    filler_status: str = "Booked",
    provider: str = "1234^Patel^Ana^^^Dr.",
    **patient,
) -> str:
    """SIU^S12..S26: SCH (the start in SCH-11.4), PID, PV1, RGS, AIS and AIP (their starts too)."""
    start = hl7_time(starts) if starts else ""
    segments = [
        msh(f"SIU^{event}^SIU_S12", control),
        segment(
            "SCH",
            {
                1: f"{appointment_id}P^EPIC",
                2: f"{appointment_id}^EPIC",
                6: "ROUTINE^Routine^HL70276",
                7: "WCC^Well child check",
                9: "20",
                10: "min",
                11: f"^^20^{start}^" if start else "",
                16: provider,
                25: filler_status,
            },
        ),
        pid(mrn, **patient),
        pv1(),
        segment("RGS", {1: "1", 2: "A"}),
        segment("AIS", {1: "1", 2: "A", 3: "WCC^Well child check^L", 4: start, 7: "20", 8: "min"}),
        segment("AIP", {1: "1", 2: "A", 3: provider, 4: "D^Doctor", 6: start}),
    ]
    return "\r".join(segments) + "\r"


def oru(control: str, *, mrn: str) -> str:
    """ORU^R01, a lab result: not a message the portal reads."""
    segments = [
        msh("ORU^R01^ORU_R01", control),
        pid(mrn),
        segment("OBR", {1: "1", 4: "718-7^Hemoglobin^LN", 7: SENT_AT}),
        segment("OBX", {1: "1", 2: "NM", 3: "718-7^Hemoglobin^LN", 5: "12.9", 6: "g/dL", 11: "F"}),
    ]
    return "\r".join(segments) + "\r"
