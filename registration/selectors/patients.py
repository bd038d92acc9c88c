"""The patient list and a patient's chart."""

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

from django.db.models import (
    Case,
    CharField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from phonenumber_field.phonenumber import to_python as phone_parse

from patients import names
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration.models import (
    AccessRestriction,
    AuditEvent,
    PortalAccess,
    PortalStatus,
    RegistrationPath,
    SelfRegistrationRequest,
    WelcomeMessage,
)
from registration.selectors.access import restrictions_in_effect
from registration.selectors.access_panel import with_restrictions
from registration.selectors.portal_status import patients_with_portal_status, pins_expired, pins_usable
from registration.selectors.self_registration import self_registration_requests_matching

# The patient list's filter beyond the three statuses: holding a PIN that ran out unused.
PIN_EXPIRED = "pin_expired"


def patient_search(text: str, *, status: str = "", now: datetime | None = None) -> QuerySet[Patient]:
    """Patients matching what staff typed: a name in parts and any order, an MRN, a date of birth,
    or a family contact's email or cell phone; optionally only those with one portal status, or
    `PIN_EXPIRED`."""
    now = now or timezone.now()
    queryset = patients_with_portal_status(now=now)
    text = " ".join(text.split())
    if status == PIN_EXPIRED:
        # Driven from the few expired PINs (an index-only scan), and whatever the status: asking for Not
        # registered too derived the status of every such patient, not of a page (126 ms at 100,000).
        queryset = queryset.filter(pk__in=pins_expired(now).values("patient_id"))
    elif status:
        queryset = queryset.filter(portal_status=status)
    if not text:
        # Every patient with a status: walking the name index in order stops after a page.
        return queryset.order_by("last_name", "first_name", "pk")
    # Sorted by the folded name, which has no index: PostgreSQL then always finds the matches through
    # their own indexes and sorts them, instead of walking all patients in name order (issue 11).
    return queryset.filter(patient_match(text)).order_by("sort_name", "pk")


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%m.%d.%Y")


def patient_match(text: str) -> Q:
    for fmt in _DATE_FORMATS:
        try:
            return Q(date_of_birth=datetime.strptime(text, fmt).date())
        except ValueError:
            continue
    if "@" in text:
        return Q(pk__in=PatientContact.objects.filter(contact__email__iexact=text).values("patient_id"))
    if sum(char.isdigit() for char in text) >= 7 and not any(char.isalpha() for char in text):
        number = phone_parse(text)
        if number and number.is_valid():
            return Q(
                pk__in=PatientContact.objects.filter(contact__cell_phone=number.as_e164).values("patient_id")
            )
    # Each word at the start of a word of the name, in any order, accents, case and apostrophes
    # ignored: "smi jo" finds Jordan Smith, "okeefe" O'Keefe, "lopez" María López-García.
    words = names.typed_words(text)
    if not words:
        return Q(mrn__iexact=text)
    by_name = Q()
    for word in words:
        by_name &= Q(search_name__contains=" " + word)
    return by_name | Q(mrn__iexact=text)


def contact_links_with_access(*, day: date | None = None) -> Prefetch:
    """Each listed patient's family contacts as a list, `contacts_with_access`, each link with the email
    of the enabled account that sees the patient through it (`access_email`) and the restriction in
    effect on `day` keeping the contact from the patient (`link_restriction`): for `patient_search`'s
    results. A list, not the related manager: a queryset made for each patient cost 0.1 ms apiece."""
    return Prefetch(
        "contact_links",
        queryset=_contact_links_with_access(PatientContact.objects.all(), day=day),
        to_attr="contacts_with_access",
    )


# A restriction as "id|basis|first day|last day" (ISO dates, the last one empty when open-ended).
_RESTRICTION_SAID = Concat(
    Cast("pk", CharField()),
    Value("|"),
    "basis",
    Value("|"),
    Cast("starts_on", CharField()),
    Value("|"),
    Coalesce(Cast("ends_on", CharField()), Value("")),
    output_field=CharField(),
)


def _contact_links_with_access(
    links: QuerySet[PatientContact], *, day: date | None
) -> QuerySet[PatientContact]:
    access = PortalAccess.objects.filter(
        patient=OuterRef("patient_id"), contact=OuterRef("contact_id"), account__disabled_at__isnull=True
    ).order_by("pk")
    # The restriction (the earliest) whose reason replaces Generate PIN, as subqueries of the same query:
    # a query of its own would put the chart over 8.
    restriction = (
        restrictions_in_effect(day or timezone.localdate())
        .filter(patient=OuterRef("patient_id"), contact=OuterRef("contact_id"))
        .order_by("starts_on", "pk")
    )
    return (
        links.select_related("contact")
        .annotate(
            access_email=Subquery(access.values("account__user__email")[:1]),
            # One subquery, not one per field: a busy day's list has hundreds of contact rows.
            restriction_said=Subquery(restriction.annotate(said=_RESTRICTION_SAID).values("said")[:1]),
        )
        .order_by("pk")
    )


def link_restriction(link: PatientContact) -> AccessRestriction | None:
    """The restriction `_contact_links_with_access` found for the link (enough of it to give its
    `reason`), if any."""
    said = getattr(link, "restriction_said", None)
    if not said:
        return None
    pk, basis, starts_on, ends_on = said.split("|")
    return AccessRestriction(
        pk=int(pk),
        patient_id=link.patient_id,
        contact=link.contact,
        basis=basis,
        starts_on=date.fromisoformat(starts_on),
        ends_on=date.fromisoformat(ends_on) if ends_on else None,
    )


@dataclass
class ContactRow:
    """One family contact on a chart, with where they stand on the portal for this patient."""

    link: PatientContact  # annotated by `patient_chart` with its usable PIN, enabled access, restriction

    @cached_property
    def restriction(self) -> AccessRestriction | None:
        """The restriction in effect today keeping this contact from the patient, if any."""
        return link_restriction(self.link)

    @property
    def contact(self) -> FamilyContact:
        return self.link.contact

    @property
    def registered_as(self) -> str | None:
        """The email of the enabled account that sees the patient through this contact."""
        return self.link.access_email

    @property
    def status(self) -> PortalStatus:
        """Registered (an account through this contact), Pending (a PIN for them), or Not registered."""
        if self.registered_as:
            return PortalStatus.REGISTERED
        if self.link.pin_expires_at is not None:
            return PortalStatus.PENDING
        return PortalStatus.NOT_REGISTERED

    @property
    def usable_pin(self) -> "UsablePin | None":
        link = self.link
        if link.pin_expires_at is None:
            return None
        return UsablePin(
            issued_at=link.pin_issued_at, expires_at=link.pin_expires_at, path=RegistrationPath(link.pin_path)
        )


@dataclass(frozen=True)
class UsablePin:
    issued_at: datetime
    expires_at: datetime
    path: RegistrationPath


@dataclass
class PatientChart:
    patient: Patient  # annotated with portal_status
    contacts: list[ContactRow]
    appointments: list[Appointment]
    messages: list[WelcomeMessage]
    history: list[AuditEvent]  # each from a chart merged into this one with its `merged_mrn`
    # Sign-ups waiting for staff that may be about this child or from a parent on the chart: shown
    # before anyone clicks Generate PIN, which would make that parent a second account.
    waiting_requests: list[SelfRegistrationRequest]


def patient_chart(
    patient_id: int, *, now: datetime | None = None, history_limit: int = 50, restrictions: bool = True
) -> PatientChart:
    """Everything the chart page shows, in six queries whatever the patient's history; with
    `restrictions`, the patient is read with them, for `access_panel`."""
    now = now or timezone.now()
    # A merged chart's banner names the chart it went into, and when: in the same query.
    merged = AuditEvent.objects.filter(patient=OuterRef("pk"), action=AuditEvent.Action.PATIENT_MERGED)
    patients = patients_with_portal_status(now=now)
    patient = (
        (with_restrictions(patients) if restrictions else patients)
        .select_related("merged_into")
        .annotate(
            merged_at=Case(
                When(merged_into__isnull=False, then=Subquery(merged.order_by("-at", "-pk").values("at")[:1]))
            )
        )
        .get(pk=patient_id)
    )
    # Each contact's usable PIN and enabled access as subqueries of the contacts' query: one query
    # where there were three.
    usable = pins_usable(now).filter(patient=patient, contact=OuterRef("contact_id")).order_by("-issued_at")
    links = _contact_links_with_access(
        PatientContact.objects.filter(patient=patient), day=timezone.localdate(now)
    ).annotate(
        pin_issued_at=Subquery(usable.values("issued_at")[:1]),
        pin_expires_at=Subquery(usable.values("expires_at")[:1]),
        pin_path=Subquery(usable.values("path")[:1]),
    )
    contacts = [ContactRow(link) for link in links]
    return PatientChart(
        patient=patient,
        contacts=contacts,
        appointments=list(patient.appointments.order_by("-starts_at")[:20]),
        messages=list(
            WelcomeMessage.objects.filter(pin__patient=patient)
            .select_related("pin__contact")
            .order_by("-queued_at")[:10]
        ),
        # The charts merged into this one are its history too (ADT A40): one query still. Their events
        # name their chart's MRN (`merged_mrn`), a subquery for those few rows: joining every event's
        # patient tripled the time PostgreSQL took to plan the query (~0.7 ms).
        history=list(
            AuditEvent.objects.filter(
                patient_id__in=Patient.objects.filter(Q(pk=patient.pk) | Q(merged_into=patient)).values("pk")
            )
            .select_related("actor", "contact")
            .annotate(
                merged_mrn=Case(
                    When(
                        ~Q(patient_id=patient.pk),
                        then=Subquery(Patient.objects.filter(pk=OuterRef("patient_id")).values("mrn")),
                    )
                )
            )
            .order_by("-at", "-pk")[:history_limit]
        ),
        waiting_requests=list(
            self_registration_requests_matching(patient=patient, contacts=[row.contact for row in contacts])
        ),
    )
