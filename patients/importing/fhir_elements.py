"""The FHIR R4 elements every resource has: lists, strings, codings, periods, names, languages.

Read leniently: an element malformed in a way the portal does not care about is ignored, never fatal.
"""

from datetime import date

from patients.importing import records as r

# Identifiers that are never a chart number, and are never stored: national and insurance numbers.
NOT_MRN_SYSTEMS = {
    "http://hl7.org/fhir/sid/us-ssn",
    "urn:oid:2.16.840.1.113883.4.1",  # US SSN
    "http://hl7.org/fhir/sid/us-medicare",
    "http://hl7.org/fhir/sid/us-mbi",
    "urn:oid:2.16.840.1.113883.4.927",  # Medicare MBI
    "urn:oid:2.16.840.1.113883.4.3.25",
    "http://hl7.org/fhir/sid/us-npi",
    "http://hl7.org/fhir/sid/passport-usa",
}
NOT_MRN_TYPES = {
    *("SS", "SB", "SSN", "DL", "PPN", "TAX", "NI", "NNUS", "MC", "MA", "MB", "MI", "SN", "NPI", "DR", "BSN"),
    *("SOCIAL SECURITY NUMBER", "MILITARY ID", "DRIVER'S LICENSE", "PASSPORT NUMBER", "MEDICARE", "MEDICAID"),
}


def dicts(value) -> list[dict]:
    """Return the objects of a FHIR list element, ignoring anything malformed in it."""
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def string(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def concept_codes(concept: dict) -> list[tuple[str, str, str]]:
    """Return (system, code, display) of each coding of a CodeableConcept."""
    return [
        (string(c.get("system")), string(c.get("code")), string(c.get("display")))
        for c in dicts(concept.get("coding"))
    ]


def ended(element: dict, today: date) -> bool:
    """Whether an element's `period` ended before today, or starts after it."""
    period = element.get("period")
    if not isinstance(period, dict):
        return False
    end, start = string(period.get("end"))[:10], string(period.get("start"))[:10]
    return bool((end and end < today.isoformat()) or (start and start > today.isoformat()))


def period_dates(period, position: str, batch) -> tuple[date | None, date | None]:
    """Return a FHIR Period's first and last days (the date as written, any time dropped); a missing or
    unreadable end is None, with a warning when it was given but could not be read."""
    found = []
    for key in ("start", "end"):
        value = string(period.get(key))[:10] if isinstance(period, dict) else ""
        try:
            found.append(date.fromisoformat(value) if value else None)
        except ValueError:  # a partial date ("2026-03") says too little to act on
            batch.warn(position, f"period {key} {value!r} is not a whole date: left out")
            found.append(None)
    return found[0], found[1]


def type_labels(identifier: dict) -> set[str]:
    concept = identifier.get("type")
    if not isinstance(concept, dict):
        return set()
    labels = {code.upper() for _, code, _ in concept_codes(concept) if code}
    labels |= {display.upper() for _, _, display in concept_codes(concept) if display}
    if text := string(concept.get("text")):
        labels.add(text.upper())
    return labels


def human_name(names, today: date) -> tuple[str, str]:
    """Return (first, last): the official name, else usual, else another current one, else any."""
    every = dicts(names)
    current = [n for n in every if n.get("use") not in ("old", "maiden") and not ended(n, today)]
    ranked = sorted(current, key=lambda n: {"official": 0, "usual": 1}.get(n.get("use"), 2))
    ranked += [n for n in every if n not in current]  # a mother known only by her maiden name
    for name in ranked:
        given = [g.strip() for g in name.get("given") or [] if isinstance(g, str) and g.strip()]
        family = string(name.get("family"))
        if given or family:
            return r.name_tidy(given[0] if given else ""), r.name_tidy(family)
        text = string(name.get("text"))
        if "," in text:  # "Lindqvist,Erik" or "SMART, JOE", as Epic and Cerner write it
            family, _, given_text = text.partition(",")
            return r.name_tidy(given_text.strip()), r.name_tidy(family.strip())
        if text:
            *rest, family = text.split()
            return r.name_tidy(" ".join(rest)), r.name_tidy(family)
    return "", ""


def communication_language(communications) -> str:
    """Return "en" or "es" from a FHIR communication list (the preferred one first), else ""."""
    ordered = sorted(dicts(communications), key=lambda c: c.get("preferred") is not True)
    for communication in ordered:
        concept = communication.get("language")
        if not isinstance(concept, dict):
            continue
        for _, code, display in concept_codes(concept):
            if found := r.language(code) or r.language(display):
                return found
        if found := r.language(string(concept.get("text"))):
            return found
    return ""


def concept_text(concept) -> str:
    if not isinstance(concept, dict):
        return ""
    return string(concept.get("text")) or next((d or c for _, c, d in concept_codes(concept) if d or c), "")
