"""FHIR Consent (R4, and R5's renamed elements) as restrictions: who may not see the patient, why, when.

Only a deny provision naming a RelatedPerson among its actors says something the portal acts on: that
person may not be given access to the child. Provisions about practitioners, organisations, data
classes or purposes are not read. The mapping, the defaults and what is ignored are in docs/import.md.
"""

import re
from datetime import date

from patients.importing import records as r
from patients.importing.fhir_elements import concept_codes, dicts, period_dates, string
from patients.importing.fhir_resources import patient_ref

IN_FORCE = {"active"}
# An earlier import's restriction from such a Consent is lifted; a new one is not recorded.
NOT_IN_FORCE = {"inactive", "rejected", "entered-in-error", "not-done"}
MAX_DEPTH = 10  # nested provisions read; deeper ones are not a consent any EHR writes

# The restriction's basis, from the words and codes of the Consent's category, policy, policyRule,
# regulatoryBasis and provision purposes; the first basis whose pattern matches wins (so a "court's
# protective order" is a protective order).
BASES = (
    (
        "protective_order",
        r"protective order|protection order|order of protection|restraining order|no[- ]contact order"
        r"|domestic violence",
    ),
    ("court_order", r"\bcourt\b|court[- ]ordered|custody|judicial|\bjudge\b"),
    (
        "clinician_judgement",
        r"clinician|physician|clinical judge?ment|professional judge?ment|provider judge?ment"
        r"|\bharm\b|endanger",
    ),
    # v3 ActReason PATRQT (patient requested), v3 ActCode OPTOUT/OPTOUTE (the patient opted out),
    # LOINC 59284-0 (Patient Consent): the patient's, or their representative's, own choice.
    (
        "patient_request",
        r"\bpatrqt\b|\boptoute?\b|opt[- ]out|patient request|requested by the patient|59284-0",
    ),
)
DEFAULT_BASIS = "patient_request"


def read_consent(resource: dict, position: str, patient_of: dict, person_of: dict, today: date, batch):
    """Return the Consent's denies of family contacts, or None when the portal has nothing to do with it.

    `person_of` maps "RelatedPerson/<id>" and fullUrls of this file's RelatedPersons to the position of
    the contact read from them.
    """
    status = string(resource.get("status")).lower()
    if status not in IN_FORCE | NOT_IN_FORCE:
        batch.warn(position, f"Consent with status {status or 'none'!r} is not in force: not imported")
        return None
    source_id = r.text(_source_id(resource), "Consent identifier or id", max_length=240)
    basis, recognised = consent_basis(resource)
    if status in NOT_IN_FORCE:  # only its id matters: what an earlier import recorded from it is lifted
        return r.ConsentRecord(position, source_id, "", "", in_force=False, basis=basis, status=status)
    system, mrn, patient_id = patient_ref(resource.get("patient") or resource.get("subject"), patient_of)
    denies = _denies(resource, position, person_of, today, batch)
    if denies and not recognised:
        batch.warn(
            position,
            "no court order, protective order, patient request or clinician judgement named in its "
            "category or policy: recorded as a patient request",
        )
    if not denies:
        batch.skip("Consent (no deny for a family contact)")
    return r.ConsentRecord(
        position=position,
        source_id=source_id,
        mrn=r.mrn(mrn) if mrn else "",
        mrn_system=system,
        patient_source_id=patient_id,
        in_force=True,
        basis=basis,
        denies=tuple(denies),
        status=status,
    )


def _source_id(resource: dict) -> str:
    """The Consent's first identifier ("system|value"), else "Consent/<id>": what finds it next time."""
    for identifier in dicts(resource.get("identifier")):
        if value := string(identifier.get("value")):
            system = string(identifier.get("system"))
            return f"{system}|{value}" if system else value
    return f"Consent/{string(resource.get('id'))}" if string(resource.get("id")) else ""


def consent_basis(resource: dict) -> tuple[str, bool]:
    """Return (basis, whether the Consent named it); the default is a patient request.

    A Consent is by definition the record of a patient's (or their representative's) choice, so that is
    the basis when nothing else is named: claiming a court order no document shows would mislead staff.
    """
    words = " ".join(_words(resource)).lower()
    for basis, pattern in BASES:
        if re.search(pattern, words):
            return basis, True
    return DEFAULT_BASIS, False


def _words(resource: dict) -> list[str]:
    concepts = [*dicts(resource.get("category")), *dicts(resource.get("regulatoryBasis"))]
    if isinstance(resource.get("policyRule"), dict):
        concepts.append(resource["policyRule"])
    words = [string(resource.get("policyRule"))]  # STU3 and some vendors: a URI
    for policy in [*dicts(resource.get("policy")), *dicts(resource.get("policyBasis"))]:
        words += [string(policy.get("uri")), string(policy.get("authority")), string(policy.get("url"))]
    for provision in _all_provisions(resource.get("provision"), 0):
        concepts += [{"coding": [purpose]} for purpose in dicts(provision.get("purpose"))]
    for concept in concepts:
        words.append(string(concept.get("text")))
        for _, code, display in concept_codes(concept):
            words += [code, display]
    return [w for w in words if w]


def _all_provisions(provisions, depth: int) -> list[dict]:
    if depth > MAX_DEPTH:
        return []
    found = []
    for provision in dicts(provisions):
        found += [provision, *_all_provisions(provision.get("provision"), depth + 1)]
    return found


def _root_type(resource: dict) -> str | None:
    """The effect of a top-level provision that does not say: R5's `decision`, else unknown.

    R4's base policy (policyRule opt-in or opt-out) is not read as one: HL7's own R4 examples use an
    untyped top-level provision under opt-in both to withhold (consent-example-notThem) and to
    permit (consent-example-signature), and a restriction is never guessed.
    """
    decision = string(resource.get("decision")).lower()
    return decision if decision in ("deny", "permit") else None


def _denies(resource: dict, position: str, person_of: dict, today: date, batch) -> list[r.DenyRecord]:
    """Every RelatedPerson named by a deny provision, with the provision's period (or the nearest
    enclosing one's, else the Consent's own period or date). A provision without a type is the
    exception to the one around it (R5), so it has the opposite effect."""
    consent_start, consent_end = period_dates(resource.get("period"), position, batch)  # R5
    signed = string(resource.get("dateTime") or resource.get("date"))[:10]
    if consent_start is None and signed:
        try:
            consent_start = date.fromisoformat(signed)
        except ValueError:
            batch.warn(position, f"date {signed!r} is not a whole date: left out")
    denies: list[r.DenyRecord] = []
    undated = False

    def walk(provisions, around: str | None, start, end, depth: int) -> None:
        nonlocal undated
        if depth > MAX_DEPTH:
            return
        for provision in dicts(provisions):
            given = string(provision.get("type")).lower()
            if given not in ("deny", "permit"):
                given = (
                    _root_type(resource) if depth == 0 else {"deny": "permit", "permit": "deny"}.get(around)
                )
            own_start, own_end = period_dates(provision.get("period"), position, batch)
            here_start, here_end = own_start or start, own_end or end
            if given == "deny":
                for actor in dicts(provision.get("actor")):
                    deny = _deny(actor, position, person_of, here_start or today, here_end)
                    if deny is not None:
                        denies.append(deny)
                        undated = undated or here_start is None
            walk(provision.get("provision"), given, here_start, here_end, depth + 1)

    walk(resource.get("provision"), None, consent_start, consent_end, 0)
    if undated:
        batch.warn(position, "no period or date: the restriction starts on the day of the import")
    for deny in denies:
        if deny.ends_on is not None and deny.ends_on < deny.starts_on:
            raise r.Rejected(
                f"the deny of {deny.actor} ends on {deny.ends_on} before it starts on {deny.starts_on}"
            )
    return denies


def _deny(actor: dict, position: str, person_of: dict, starts_on: date, ends_on) -> r.DenyRecord | None:
    """The family contact a deny names, or None for an actor that is not a RelatedPerson."""
    reference = actor.get("reference")
    if not isinstance(reference, dict):
        return None
    ref = string(reference.get("reference"))
    identifier = reference.get("identifier")
    is_person = "RelatedPerson/" in ref or string(reference.get("type")) == "RelatedPerson"
    if ref and ref in person_of:
        return r.DenyRecord(ref, person_of[ref], "", starts_on, ends_on)
    if "RelatedPerson/" in ref:
        short = "RelatedPerson/" + ref.rsplit("RelatedPerson/", 1)[1].split("/")[0]
        if short in person_of:
            return r.DenyRecord(ref, person_of[short], "", starts_on, ends_on)
    if is_person and isinstance(identifier, dict) and string(identifier.get("value")):
        system, value = string(identifier.get("system")), string(identifier["value"])
        return r.DenyRecord(ref or value, "", f"{system}|{value}" if system else value, starts_on, ends_on)
    if is_person:
        raise r.Rejected(
            f"{ref or 'a RelatedPerson'} is not a RelatedPerson imported from this file: export the Consent "
            "with its RelatedPersons (one Bundle or NDJSON file), or name the person by identifier"
        )
    return None
