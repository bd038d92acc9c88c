"""Who may see a child, in the visible demo: a parent kept away by a court order and an adolescent's own
contact ready for a PIN, both through the services.

Each step looks for what it would make first, so a second run does nothing.
"""

from collections import Counter
from datetime import date, timedelta

from accounts.models import User
from patients.models import Patient, PatientContact
from registration.access_policy import access_policy, is_teen_on
from registration.demo.families import Family, Plan
from registration.models import AccessRestriction
from registration.services.errors import RegistrationError
from registration.services.restrictions import restriction_create
from registration.services.teen_accounts import teen_contact_add

ORDER_STARTED_DAYS_AGO = 40


def restriction_showcase(described: list[Family], *, admin: User, today: date) -> Counter:
    """The second parent of the first family where both registered is restricted by a court order: the
    chart's Access panel shows their access ended, and their row the reason instead of Generate PIN."""
    family = next((f for f in described if f.plan == Plan.BOTH_REGISTERED), None)
    if family is None:
        return Counter()
    patient = Patient.objects.filter(mrn=family.children[0].mrn).first()
    second = family.registering_contacts[1]
    link = (
        PatientContact.objects.filter(patient=patient, contact__email=second.email)
        .select_related("contact")
        .first()
        if patient
        else None
    )
    if link is None or AccessRestriction.objects.filter(patient=patient).exists():
        return Counter()
    restriction_create(
        patient=patient,
        contact=link.contact,
        basis=AccessRestriction.Basis.COURT_ORDER,
        starts_on=today - timedelta(days=ORDER_STARTED_DAYS_AGO),
        review_on=today + timedelta(days=180),
        note="Custody order (demo): sole legal custody to the other parent; review at the next hearing.",
        by=admin,
    )
    return Counter(restrictions=1)


def teen_showcase(described: list[Family], *, by: User, today: date) -> Counter:
    """The first adolescent of a registered family gets their own email on the chart, ready for staff to
    issue their own PIN; the policy narrows what their parents see."""
    policy = access_policy()
    for family in described:
        if family.plan not in (Plan.REGISTERED, Plan.BOTH_REGISTERED):
            continue
        for child in family.children:
            if not is_teen_on(child.date_of_birth, today, policy) or not policy.teen_own_account:
                continue
            patient = Patient.objects.get(mrn=child.mrn)
            if PatientContact.objects.filter(
                patient=patient, relationship=PatientContact.Relationship.SELF
            ).exists():
                return Counter()
            email = f"{child.first_name}.{child.last_name}.own@example.net".lower().replace(" ", "")
            try:
                teen_contact_add(patient=patient, email=email, cell_phone="", by=by)
            except RegistrationError:
                continue
            return Counter(own_contacts=1)
    return Counter()
