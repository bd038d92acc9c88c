"""How an adult is related to a child, from whatever an EHR sends: codes of three tables, or words.

One mapping for every reader (CSV, FHIR, and later HL7 v2): HL7 v3 RoleCode (FHIR's RelatedPerson
value set), HL7 v2 tables 0063 (relationship) and 0131 (contact role), and display text in English or
Spanish ("Father", "Legal Guardian", "Madre"). Some codes say only that there is a relation
(next of kin, emergency contact, family member, guarantor): they read as "other" unless something
more specific is given beside them.
"""

import re
from functools import lru_cache

from patients.models import PatientContact

Rel = PatientContact.Relationship

# Codes of v3 RoleCode and v2 table 0063 (the tables share several codes, with the same meaning).
CODES: dict[str, Rel] = {
    # v3 RoleCode
    "MTH": Rel.MOTHER,
    "NMTH": Rel.MOTHER,
    "ADOPTM": Rel.MOTHER,
    "GESTM": Rel.MOTHER,
    "FTH": Rel.FATHER,
    "NFTH": Rel.FATHER,
    "ADOPTF": Rel.FATHER,
    "NFTHF": Rel.FATHER,
    "PRN": Rel.PARENT,
    "NPRN": Rel.PARENT,
    "ADOPTP": Rel.PARENT,
    "GUARD": Rel.GUARDIAN,
    "GUADLTM": Rel.GUARDIAN,
    "POWATT": Rel.GUARDIAN,
    "GRPRN": Rel.GRANDPARENT,
    "GRMTH": Rel.GRANDPARENT,
    "GRFTH": Rel.GRANDPARENT,
    "MGRMTH": Rel.GRANDPARENT,
    "MGRFTH": Rel.GRANDPARENT,
    "PGRMTH": Rel.GRANDPARENT,
    "PGRFTH": Rel.GRANDPARENT,
    "MGRPRN": Rel.GRANDPARENT,
    "PGRPRN": Rel.GRANDPARENT,
    "STPPRN": Rel.STEPPARENT,
    "STPMTH": Rel.STEPPARENT,
    "STPFTH": Rel.STEPPARENT,
    "FOSTERPRN": Rel.FOSTER_PARENT,
    "PRNFOST": Rel.FOSTER_PARENT,
    "FMTH": Rel.FOSTER_PARENT,
    "FFTH": Rel.FOSTER_PARENT,
    "FTHFOST": Rel.FOSTER_PARENT,
    "MTHFOST": Rel.FOSTER_PARENT,
    # v2 table 0063
    "PAR": Rel.PARENT,
    "GRD": Rel.GUARDIAN,
    "GRP": Rel.GRANDPARENT,
    "FCH": Rel.OTHER,  # foster child: the child's role, not the adult's
}
# Codes that say "some relation": next of kin, emergency contact, family member, guarantor, other.
GENERIC_CODES = {
    "N",  # v2-0131 next of kin
    "C",  # v2-0131 emergency contact
    "O",  # v2-0131 other
    "U",  # v2-0131 unknown
    "NOK",
    "ECON",
    "EMC",
    "FAMMEMB",
    "FAMDEP",
    "GT",  # guarantor (Cerner), who pays
    "GUAR",
    "GUARANTOR",
    "OTH",
    "UNK",
    "EXF",  # v2-0063 extended family
    "DOM",
    "FND",
    "FRND",
    "NBOR",
    "ROOM",
    "SIB",
    "BRO",
    "SIS",
    "AUNT",
    "UNCLE",
    "CAREGIVER",
    "CGV",  # v2-0063 care giver
    "SPO",  # v2-0063 spouse (of an adult patient)
}

# Words, in any case, with spaces, hyphens and underscores alike.
WORDS: dict[str, Rel] = {
    "mother": Rel.MOTHER,
    "mom": Rel.MOTHER,
    "mum": Rel.MOTHER,
    "natural mother": Rel.MOTHER,
    "birth mother": Rel.MOTHER,
    "biological mother": Rel.MOTHER,
    "adoptive mother": Rel.MOTHER,
    "madre": Rel.MOTHER,
    "mama": Rel.MOTHER,
    "father": Rel.FATHER,
    "dad": Rel.FATHER,
    "natural father": Rel.FATHER,
    "birth father": Rel.FATHER,
    "biological father": Rel.FATHER,
    "adoptive father": Rel.FATHER,
    "padre": Rel.FATHER,
    "papa": Rel.FATHER,
    "parent": Rel.PARENT,
    "natural parent": Rel.PARENT,
    "adoptive parent": Rel.PARENT,
    "parents": Rel.PARENT,
    "guardian": Rel.GUARDIAN,
    "legal guardian": Rel.GUARDIAN,
    "court appointed guardian": Rel.GUARDIAN,
    "tutor legal": Rel.GUARDIAN,
    "tutora legal": Rel.GUARDIAN,
    "grandparent": Rel.GRANDPARENT,
    "grandmother": Rel.GRANDPARENT,
    "grandfather": Rel.GRANDPARENT,
    "grandma": Rel.GRANDPARENT,
    "grandpa": Rel.GRANDPARENT,
    "maternal grandmother": Rel.GRANDPARENT,
    "maternal grandfather": Rel.GRANDPARENT,
    "paternal grandmother": Rel.GRANDPARENT,
    "paternal grandfather": Rel.GRANDPARENT,
    "abuela": Rel.GRANDPARENT,
    "abuelo": Rel.GRANDPARENT,
    "stepparent": Rel.STEPPARENT,
    "step parent": Rel.STEPPARENT,
    "stepmother": Rel.STEPPARENT,
    "step mother": Rel.STEPPARENT,
    "stepfather": Rel.STEPPARENT,
    "step father": Rel.STEPPARENT,
    "madrastra": Rel.STEPPARENT,
    "padrastro": Rel.STEPPARENT,
    "foster parent": Rel.FOSTER_PARENT,
    "foster mother": Rel.FOSTER_PARENT,
    "foster father": Rel.FOSTER_PARENT,
    "other": Rel.OTHER,
}
GENERIC_WORDS = {
    "next of kin",
    "emergency contact",
    "emergency",
    "family member",
    "guarantor",
    "unknown",
    "contact person",
    "contact",
    "friend",
    "neighbor",
    "sibling",
    "brother",
    "sister",
    "aunt",
    "uncle",
    "other relative",
    "relative",
    "caregiver",
}
# Our own values and labels ("foster_parent", "Foster parent") read as themselves.
WORDS.update({choice.value.replace("_", " "): choice for choice in Rel})
WORDS.update({str(choice.label).lower(): choice for choice in Rel})


def _words(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


@lru_cache(maxsize=4096)  # an export says "Mother" or "MTH" a hundred thousand times
def from_code(code: str) -> Rel | None:
    """Return the relationship a table code names, OTHER for a generic one, None if unknown."""
    code = code.strip().upper()
    if code in CODES:
        return CODES[code]
    if code in GENERIC_CODES:
        return Rel.OTHER
    return None


@lru_cache(maxsize=4096)
def from_text(text: str) -> Rel | None:
    """Return the relationship a word names ("Father", "legal guardian", "Madre"), None if unknown."""
    words = _words(text)
    if words in WORDS:
        return WORDS[words]
    if words in GENERIC_WORDS:
        return Rel.OTHER
    return None


def most_specific(found: list[Rel]) -> Rel | None:
    """Return the first relationship that is more than "other", else OTHER if any was found."""
    specific = [rel for rel in found if rel != Rel.OTHER]
    if specific:
        return specific[0]
    return Rel.OTHER if found else None
