"""HL7 v2 data types as the portal reads them: a field of the `hl7` library's parse, turned into plain
strings (escape sequences undone), and the few types a demographic or scheduling message uses (CX,
XPN, XTN, CE/CWE, TS/DTM, EI, XCN). Versions 2.3 to 2.8 put the same things in the same components."""

from collections.abc import Callable
from datetime import date, datetime

import hl7
from django.utils import timezone
from hl7.containers import Repetition

from patients.importing import records as r

Unescape = Callable[[str], str]


def repetitions(segment: hl7.Segment, number: int, unescape: Unescape) -> list[list[str]]:
    """Field `number` of a segment: each repetition as its components (the first subcomponent of
    each), unescaped; [] when the segment is shorter or the field empty."""
    if number >= len(segment):
        return []
    field = segment(number) if number else segment[0]
    if isinstance(field, str):
        reps = [[field]]
    else:
        items = list(field)
        if items and all(isinstance(item, Repetition) for item in items):
            reps = [[_first(component) for component in rep] for rep in items]
        else:
            reps = [[_first(component) for component in items]]
    # HL7's explicit null ("") reads as blank: a blank never erases, and it is not text.
    out = [["" if value == '""' else unescape(value).strip() for value in rep] for rep in reps]
    return [rep for rep in out if any(rep)]


def _first(component) -> str:
    if isinstance(component, str):
        return component
    first = component[0] if len(component) else ""
    return first if isinstance(first, str) else _first(first)


def component(rep: list[str] | None, number: int) -> str:
    """Component `number` (1-based) of one repetition; "" when absent."""
    if not rep or number > len(rep):
        return ""
    return rep[number - 1]


def value(segment: hl7.Segment, number: int, unescape: Unescape, part: int = 1) -> str:
    """The first repetition's component `part` of field `number`."""
    reps = repetitions(segment, number, unescape)
    return component(reps[0], part) if reps else ""


# ------------------------------------------------------------------------------------ names


def person_name(reps: list[list[str]]) -> tuple[str, str]:
    """(given names, family name) from an XPN or XCN field: the legal name (type L) if one is marked."""
    if not reps:
        return "", ""
    legal = [rep for rep in reps if component(rep, 7).upper() == "L"]
    rep = (legal or reps)[0]
    # The first given name, as the FHIR import keeps it: contacts are matched by name across imports.
    return r.name_tidy(component(rep, 2)), r.name_tidy(component(rep, 1))


def provider_name(rep: list[str]) -> str:
    """An XCN (id^family^given^middle^suffix^prefix) as staff read it: "Dr. Ana Patel"."""
    family, given, prefix = component(rep, 2), component(rep, 3), component(rep, 6)
    name = " ".join(part for part in (prefix, given, family) if part)
    return name or component(rep, 1)


# ------------------------------------------------------------------------------ dates, times

TS_DIGITS = {4: "%Y", 6: "%Y%m", 8: "%Y%m%d", 10: "%Y%m%d%H", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}


def birth_date(text: str, *, today: date) -> date:
    """A TS or DT birth date, checked as every import checks it: "2019" or "201903" is not a whole date."""
    digits = text.split("+")[0].split("-")[0].split(".")[0]
    if len(digits) in (4, 6) and digits.isdigit():
        partial = digits[:4] if len(digits) == 4 else f"{digits[:4]}-{digits[4:]}"
        return r.birth_date(partial, today=today)  # rejected, with the reason every import gives
    if len(digits) < 8 or not digits[:8].isdigit():
        raise r.Rejected(f"unparseable date of birth {text!r} (HL7 dates are YYYYMMDD)")
    return r.birth_date(f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}", today=today)


def a_date(text: str, label: str) -> date | None:
    """A DT or the day of a TS; None when blank."""
    if not text:
        return None
    moment = a_datetime(text, label, aware=False)
    return moment.date()


def a_datetime(text: str, label: str, *, aware: bool = True) -> datetime:
    """A TS/DTM (YYYYMMDD[HHMM[SS[.S]]][+/-ZZZZ]); without an offset it is the practice's local time."""
    text = text.strip()
    body, offset = text, ""
    for sign in ("+", "-"):
        if sign in text[8:]:
            cut = text.index(sign, 8)
            body, offset = text[:cut], text[cut:]
    digits = body.split(".")[0]
    pattern = TS_DIGITS.get(len(digits))
    try:
        if pattern is None or not digits.isdigit():
            raise ValueError
        moment = datetime.strptime(digits, pattern)
        if offset:
            moment = moment.replace(tzinfo=datetime.strptime(offset, "%z").tzinfo)
    except ValueError:
        raise r.Rejected(f"unparseable {label} {text!r} (HL7 times are YYYYMMDDHHMM)") from None
    if not aware:
        return moment
    return moment if moment.tzinfo else timezone.make_aware(moment)


# ------------------------------------------------------------------------ phones and emails

CELL_EQUIPMENT = {"CP"}  # table 0202: cellular or mobile phone
EMAIL_USES = {"NET"}  # table 0201: network (email) address
WORK_USES = {"WPN"}


def telecoms(home: list[list[str]], work: list[list[str]]) -> dict[str, list[str]]:
    """Phones and emails of XTN fields by use: {"cell": [...], "home": [...], "work": [...], "email": [...]}.

    A cellular number (equipment CP) is a cell phone whatever its use; an email is a NET use or an
    Internet equipment type; an unlabelled number in the home field is a home phone (never texted).
    """
    found: dict[str, list[str]] = {"cell": [], "home": [], "work": [], "email": []}
    for reps, default in ((home, "home"), (work, "work")):
        for rep in reps:
            use, equipment = component(rep, 2).upper(), component(rep, 3).upper()
            if use in EMAIL_USES or equipment in ("INTERNET", "X.400") or "@" in component(rep, 4):
                if address := component(rep, 4) or component(rep, 1):
                    found["email"].append(address)
                continue
            if equipment in ("FX", "BP", "MD"):  # fax, beeper, modem: nobody answers
                continue
            number = _number(rep)
            if not number:
                continue
            kind = "cell" if equipment in CELL_EQUIPMENT else "work" if use in WORK_USES else default
            found[kind].append(number)
    return found


def _number(rep: list[str]) -> str:
    """The number of an XTN: its parts (country, area, local, extension) when given, else the text."""
    country, area, local = component(rep, 5), component(rep, 6), component(rep, 7)
    if local:
        return f"+{country} {area} {local}" if country else f"{area} {local}".strip()
    return component(rep, 12) or component(rep, 1)
