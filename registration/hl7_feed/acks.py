"""HL7 v2 acknowledgements (original mode): MSH, MSA and, for what went wrong, ERR segments."""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from patients.importing.hl7_messages import Header

DEFAULT_ENCODING = "^~\\&"


@dataclass(frozen=True)
class Problem:
    """One ERR segment: an HL7 error code (table 0357), a severity (E error, W warning) and the words."""

    code: str
    text: str
    severity: str = "E"


CODE_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}


def ack_build(
    *,
    header: Header | None,
    code: str,
    ack_id: str,
    problems: list[Problem] = (),
    control_id: str = "",
) -> str:
    """The ACK for a message: `code` AA, AE or AR; `header` None when the MSH could not be read."""
    encoding = header.encoding_characters if header else DEFAULT_ENCODING
    event = header.event if header else ""
    version = header.version if header else "2.5.1"
    msh = [
        "MSH",
        encoding,
        _escaped(settings.HL7_APPLICATION, encoding),
        _escaped(settings.HL7_FACILITY, encoding),
        _escaped(header.sending_application, encoding) if header else "",
        _escaped(header.sending_facility, encoding) if header else "",
        timezone.localtime().strftime("%Y%m%d%H%M%S%z"),
        "",
        f"ACK{encoding[0]}{event}{encoding[0]}ACK" if event else "ACK",
        ack_id,
        (header.processing_id if header else "") or "P",
        version,
    ]
    first_words = problems[0].text if problems and code != "AA" else ""
    segments = [
        "|".join(msh),
        "|".join(
            [
                "MSA",
                code,
                _escaped(header.control_id if header else control_id, encoding),
                _escaped(first_words[:80], encoding),
            ]
        ),
    ]
    segments += [_err(problem, encoding, version) for problem in problems]
    return "\r".join(segments) + "\r"


def _err(problem: Problem, encoding: str, version: str) -> str:
    component, subcomponent = encoding[0], encoding[3]
    label = CODE_TEXT.get(problem.code, "Application error")
    text = _escaped(problem.text[:250], encoding)
    if version.startswith(("2.2", "2.3", "2.4")):  # ERR-1: error code and location; the code as a CE
        return f"ERR|{component * 3}{problem.code}{subcomponent}{label}{subcomponent}HL70357"
    # 2.5 and later: ERR-3 the code, ERR-4 severity, ERR-8 the words for a person.
    return "|".join(
        [
            "ERR",
            "",
            "",
            f"{problem.code}{component}{label}{component}HL70357",
            problem.severity,
            "",
            "",
            "",
            text,
        ]
    )


def _escaped(value: str, encoding: str) -> str:
    """Text with HL7's escape sequences for the delimiters it contains, on one line."""
    component, repetition, escape, subcomponent = encoding[:4]
    value = value.replace("\r", " ").replace("\n", " ")
    value = value.replace(escape, f"{escape}E{escape}")
    for char, letter in (("|", "F"), (component, "S"), (subcomponent, "T"), (repetition, "R")):
        value = value.replace(char, f"{escape}{letter}{escape}")
    return value
