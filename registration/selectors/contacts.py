"""Who a message reaches: the first contact of each chart a welcome reaches, the ones a code may go to."""

from operator import attrgetter

from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from patients import names
from patients.models import FamilyContact, PatientContact
from registration.models import SelfRegistrationRequest
from registration.selectors.access import restrictions_in_effect
from registration.welcome_addresses import welcome_route


def first_reachable_links(patient_ids) -> dict[int, PatientContact]:
    """For each patient, the first family contact on the chart a welcome message can reach and who may be
    invited: not the patient's own contact, no one whose relationship the EHR ended, and no one a
    restriction keeps from the child (one query)."""
    return _first_reachable(
        _links_may_be_invited(patient_ids).select_related("contact"), attrgetter("contact")
    )


def first_reachable_link_rows(patient_ids) -> dict[int, tuple]:
    """`first_reachable_links`' choice as rows of (pk, patient_id, email, cell_phone), no model loaded:
    what a count needs. Loading some 300 links with their contacts was 5 ms of the dashboard's ~40."""
    rows = (
        _links_may_be_invited(patient_ids)
        .annotate(email=F("contact__email"), cell_phone=F("contact__cell_phone"))
        .values_list("pk", "patient_id", "email", "cell_phone", named=True)
    )
    return _first_reachable(rows, lambda row: row)  # a row has the contact's email and cell_phone


def _links_may_be_invited(patient_ids) -> QuerySet[PatientContact]:
    """The patients' contacts a welcome may go to, as `links_invitable` but never the patient's own, in
    the chart's order (the first one reached wins)."""
    return (
        _links_not_kept_from(PatientContact.objects.filter(patient_id__in=patient_ids))
        .exclude(relationship=PatientContact.Relationship.SELF)
        .order_by("pk")
    )


def _first_reachable(links, contact_of) -> dict:
    """Each patient's first link whose contact a welcome message reaches (`welcome_route`)."""
    reachable = {}
    for link in links:
        if link.patient_id not in reachable and welcome_route(contact_of(link)):
            reachable[link.patient_id] = link
    return reachable


def links_invitable(patient_id: int) -> QuerySet[PatientContact]:
    """The chart's contacts staff may send a welcome to: not one a restriction keeps from the child or
    whose relationship the EHR ended (the chart's Access panel says why); the patient's own contact is."""
    links = PatientContact.objects.filter(patient_id=patient_id)
    return _links_not_kept_from(links).select_related("contact").order_by("pk")


def _links_not_kept_from(links: QuerySet[PatientContact]) -> QuerySet[PatientContact]:
    """Those of `links` whose relationship the EHR has not ended and no restriction keeps from the child."""
    today = timezone.localdate()
    restricted = restrictions_in_effect(today).filter(
        patient_id=OuterRef("patient_id"), contact_id=OuterRef("contact_id")
    )
    return links.exclude(valid_until__lt=today).exclude(Exists(restricted))


def enrollment_code_contacts(
    requests: list[SelfRegistrationRequest],
) -> dict[FamilyContact, list[SelfRegistrationRequest]]:
    """The family contacts on file that a sign-up's waiting requests name, each with the requests it
    matches: the child by folded name and birth date on an active chart, and the parent by name.

    Only these contacts' own phone or email may receive a code; what the parent typed never does. A
    contact a restriction keeps from the child is never matched: no code, as for a sign-up naming no one.
    """
    matched: dict[FamilyContact, list[SelfRegistrationRequest]] = {}
    for request in requests:
        named = PatientContact.objects.filter(
            patient__sort_name=names.sort_name(request.child_first_name, request.child_last_name),
            patient__date_of_birth=request.child_date_of_birth,
            patient__active=True,
            patient__deceased=False,
        )
        links = (
            _links_not_kept_from(named)
            .exclude(relationship=PatientContact.Relationship.SELF)
            .select_related("contact")
        )
        for link in links:
            if _same_parent(link.contact, request.parent_first_name, request.parent_last_name):
                matched.setdefault(link.contact, []).append(request)
    return matched


def _same_parent(contact: FamilyContact, first_name: str, last_name: str) -> bool:
    """The typed name is the contact's: the same first word of the first name, and last names where one
    holds every word of the other ("García" for "García López", as many Spanish speakers shorten it)."""
    typed_first, file_first = names.folded(first_name).split(), names.folded(contact.first_name).split()
    typed_last, file_last = set(names.folded(last_name).split()), set(names.folded(contact.last_name).split())
    if not typed_first or not file_first or not typed_last or not file_last:
        return False
    return typed_first[0] == file_first[0] and (typed_last <= file_last or file_last <= typed_last)
