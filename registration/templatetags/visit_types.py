"""Visit types as parents read them: the EHR writes them in English, the portal shows them in the
parent's language when it knows them (issue 13)."""

import re

from django import template
from django.utils.translation import pgettext

register = template.Library()

# The names, in English, that the catalog translates (context "visit type").
WELL_CHILD = "Well child"
SICK_VISIT = "Sick visit"
VACCINES = "Vaccines"
FOLLOW_UP = "Follow-up"
SPORTS_PHYSICAL = "Sports physical"
NEWBORN = "Newborn visit"
NEW_PATIENT = "New patient"
FLU_SHOT = "Flu shot"
VIDEO_VISIT = "Video visit"
NURSE_VISIT = "Nurse visit"
LAB_WORK = "Lab work"
BEHAVIORAL_HEALTH = "Behavioral health"
HEARING_VISION = "Hearing and vision screening"

# Each EHR names a visit its own way: the names practices use, as `_key` reads them.
VISIT_TYPES = {
    "well child": WELL_CHILD,
    "well child check": WELL_CHILD,
    "well child visit": WELL_CHILD,
    "well visit": WELL_CHILD,
    "checkup": WELL_CHILD,
    "check up": WELL_CHILD,
    "sick visit": SICK_VISIT,
    "sick": SICK_VISIT,
    "vaccines": VACCINES,
    "vaccine": VACCINES,
    "immunizations": VACCINES,
    "immunization": VACCINES,
    "shots": VACCINES,
    "follow up": FOLLOW_UP,
    "sports physical": SPORTS_PHYSICAL,
    "newborn": NEWBORN,
    "newborn visit": NEWBORN,
    "new patient": NEW_PATIENT,
    "new patient visit": NEW_PATIENT,
    "flu shot": FLU_SHOT,
    "flu vaccine": FLU_SHOT,
    "telehealth": VIDEO_VISIT,
    "video visit": VIDEO_VISIT,
    "nurse visit": NURSE_VISIT,
    "lab": LAB_WORK,
    "lab work": LAB_WORK,
    "behavioral health": BEHAVIORAL_HEALTH,
    "hearing and vision screening": HEARING_VISION,
}


def _key(text: str) -> str:
    """Read a visit type the same whatever its case, hyphens or spacing: "Well-Child  visit"."""
    return re.sub(r"[\s-]+", " ", text).strip().lower()


@register.filter
def visit_type(text: str) -> str:
    """Return the visit type in the page's language, or the EHR's text as it is: an unknown type, and
    any type on an English page, where the practice's own wording is the clearest."""
    name = VISIT_TYPES.get(_key(text))
    if name is None:
        return text
    translated = pgettext("visit type", name)
    return text if translated == name else translated
