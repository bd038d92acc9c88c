"""Parents' own sign-ups: the requests waiting, their stages and counts, and the children they may name."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    Value,
    When,
)
from django.utils import timezone

from patients import names
from patients.models import FamilyContact, Patient, PatientContact
from registration.models import (
    EnrollmentCode,
    PortalAccess,
    PortalAccount,
    SelfRegistrationRequest,
)
from registration.selectors.access import restricted_contact_ids
from registration.selectors.portal_status import patients_with_portal_status


def self_registration_requests_matching(
    *, patient: Patient | None = None, contacts: Iterable[FamilyContact] = ()
) -> QuerySet[SelfRegistrationRequest]:
    """Waiting self-registration requests that may be from one of these contacts or about this patient:
    the rule behind the PIN's duplicate warning and the chart's "a parent asked" notice.

    A match is the child's date of birth with either name, or the parent's email or cell phone.
    """
    match = Q()
    if patient is not None:
        match |= _same_child(patient.date_of_birth, patient.last_name, patient.first_name)
    for contact in contacts:
        if contact.email:
            match |= Q(parent_email__iexact=contact.email)
        if contact.cell_phone:
            match |= Q(parent_cell_phone=contact.cell_phone)
    if not match:
        return SelfRegistrationRequest.objects.none()
    return _awaiting().filter(match).select_related("account__user").order_by("submitted_at")


def links_with_waiting_requests(link_ids: Iterable[int]) -> set[int]:
    """Of these chart links (patient and contact), those a waiting request may be from or about, by the
    rule of `self_registration_requests_matching`, in one query: what Register all skips up front.

    One semi-join per way of matching, in a UNION: an OR across them cannot be hashed, and compared every
    waiting request with every link (110 ms for a 300-appointment day)."""
    links = PatientContact.objects.filter(pk__in=list(link_ids))
    awaiting = _awaiting()
    ref = OuterRef
    about_the_child = links.filter(
        Exists(
            awaiting.filter(
                _same_child(
                    ref("patient__date_of_birth"), ref("patient__last_name"), ref("patient__first_name")
                )
            )
        )
    )
    from_the_email = links.exclude(contact__email="").filter(
        Exists(awaiting.filter(parent_email__iexact=ref("contact__email")))
    )
    from_the_phone = links.exclude(contact__cell_phone="").filter(
        Exists(awaiting.filter(parent_cell_phone=ref("contact__cell_phone")))
    )
    pks = about_the_child.values_list("pk", flat=True)
    return set(
        pks.union(from_the_email.values_list("pk", flat=True), from_the_phone.values_list("pk", flat=True))
    )


def _same_child(date_of_birth, last_name, first_name) -> Q:
    """A request about this child: the date of birth with either name, whatever the case."""
    return Q(child_date_of_birth=date_of_birth) & (
        Q(child_last_name__iexact=last_name) | Q(child_first_name__iexact=first_name)
    )


# Waiting for staff once the parent confirmed the email; before that, waiting for the parent.
_WAITING = Q(status=SelfRegistrationRequest.Status.AWAITING)
_CONFIRMED_WAITING = _WAITING & Q(account__email_verified_at__isnull=False)
_UNCONFIRMED = _WAITING & Q(account__email_verified_at__isnull=True)


def self_registrations_awaiting_count() -> int:
    return _awaiting().count()


def _awaiting() -> QuerySet[SelfRegistrationRequest]:
    """Requests staff can act on: waiting, from an account whose owner confirmed the email. Until then
    the request is anyone's typing and cannot be authenticated (issue 12), so it neither fills the
    queue nor holds up a PIN as a possible duplicate."""
    return SelfRegistrationRequest.objects.filter(_CONFIRMED_WAITING)


class RequestStage(TextChoices):
    """Where a self-registration request stands, as the request list filters it."""

    AWAITING = "awaiting", "Awaiting authentication"
    UNCONFIRMED = "unconfirmed", "Email not confirmed yet"
    AUTHENTICATED = "authenticated", "Authenticated"
    DECLINED = "declined", "Declined"


def self_registrations_in_stage(stage: str = RequestStage.AWAITING) -> QuerySet[SelfRegistrationRequest]:
    """The request list: waiting ones oldest first (the queue staff work through), decided ones most
    recently decided first; every stage when `stage` is empty, newest first."""
    requests = SelfRegistrationRequest.objects.select_related("decided_by")
    if stage == RequestStage.AWAITING:
        return requests.filter(_CONFIRMED_WAITING).order_by("submitted_at", "pk")
    if stage == RequestStage.UNCONFIRMED:
        return requests.filter(_UNCONFIRMED).order_by("submitted_at", "pk")
    if stage in (RequestStage.AUTHENTICATED, RequestStage.DECLINED):
        return requests.filter(status=stage).order_by("-decided_at", "-pk")
    return requests.order_by("-submitted_at", "-pk")


@dataclass(frozen=True)
class RequestCounts:
    asked: int
    unconfirmed: int
    awaiting: int
    authenticated: int
    declined: int


def self_registration_counts() -> RequestCounts:
    """Self-registration requests by stage, now, in one query (a few per patient at most, unlike the
    registration counts, which the statistics snapshot keeps)."""
    status = SelfRegistrationRequest.Status
    counts = SelfRegistrationRequest.objects.aggregate(
        asked=Count("pk"),
        unconfirmed=Count("pk", filter=_UNCONFIRMED),
        awaiting=Count("pk", filter=_CONFIRMED_WAITING),
        authenticated=Count("pk", filter=Q(status=status.AUTHENTICATED)),
        declined=Count("pk", filter=Q(status=status.DECLINED)),
    )
    return RequestCounts(**counts)


@dataclass
class Candidate:
    """A patient who may be the child a self-registration request names, and why."""

    patient: Patient  # annotated with portal_status, contact links prefetched
    score: int
    reasons: list[str]
    # The contact on this chart who entered the code sent to their phone or email on file.
    proved_contact_id: int | None = None
    # Contacts on this chart who already have a portal account (its email): authenticating the request
    # as one of them gives that parent a second account.
    accounts_of_contacts: dict[int, str] = field(default_factory=dict)
    # Contacts on this chart a restriction keeps from the child, with its reason: not offered at all.
    restricted: dict[int, str] = field(default_factory=dict)

    @property
    def restricted_links(self) -> list[tuple[PatientContact, str]]:
        """The chart's links to restricted contacts, each with the reason, for the page to say why."""
        return [
            (link, self.restricted[link.contact_id])
            for link in self.patient.contact_links.all()
            if link.contact_id in self.restricted
        ]


# More than a birth date alone: a name, the parent's confirmed email, or a code entered.
STRONG_MATCH = 5
# A code sent to the contact on file and entered by the parent outranks anything typed.
PROVED_BY_CODE = 10
# What a candidate may match on, each an annotation of the patient: its points and, but for the code,
# whose reason names the contact, the reason staff read. Listed in the order staff read the reasons.
_MATCHES = [
    ("matches_proof", PROVED_BY_CODE, ""),
    ("matches_date_of_birth", 3, "date of birth"),
    ("matches_last_name", 2, "last name"),
    ("matches_first_name", 2, "first name"),
    ("matches_parent_email", 3, "parent's confirmed email"),
]


def reconcile_candidates(
    request: SelfRegistrationRequest, *, limit: int = 10, proofs: list[EnrollmentCode] | None = None
) -> list[Candidate]:
    """Patients that may match the request, best first: a code sent to a contact on file and entered
    (`proofs`, read here unless given),
    date of birth, names, the parent's email once confirmed.

    What the parent typed proves nothing: an email counts only once its owner confirmed it, a phone
    never (no code goes to a typed phone). Scored in SQL, once: the score ranks the patients, so only
    the best `limit` are loaded, and what each matched gives the reasons. A patient who shares only the
    birth date is shown only when nobody matches better: in a large practice dozens of children share
    each birthday.
    """
    # Names compare folded, as staff search does: a parent typing "Lopez" means López.
    child_first, child_last = request.child_first_name, request.child_last_name
    proofs = {
        code.contact_id: code for code in (enrollment_code_proofs(request) if proofs is None else proofs)
    }
    by_email = Q(contact__email__iexact=request.parent_email) if request.account.email_verified_at else None
    by_proof = Q(contact_id__in=list(proofs)) if proofs else None
    evidence = [q for q in (by_email, by_proof) if q is not None]
    # One index lookup each, united: OR-ed in one WHERE, they made PostgreSQL read every patient.
    ids = (
        Patient.objects.filter(date_of_birth=request.child_date_of_birth)
        .values_list("pk")
        .union(
            Patient.objects.filter(sort_name=names.sort_name(child_first, child_last)).values_list("pk"),
            *[PatientContact.objects.filter(q).values_list("patient_id") for q in evidence],
        )
    )
    links = PatientContact.objects.filter(patient=OuterRef("pk"))
    # The contact on the chart (first by link) who entered the code sent to them.
    proved_contact = links.filter(by_proof).order_by("pk").values("contact_id")[:1] if by_proof else None
    matches = {
        "matches_proof": Q(proved_contact_id__isnull=False),
        "matches_date_of_birth": Q(date_of_birth=request.child_date_of_birth),
        "matches_last_name": Q(sort_name__startswith=f"{names.folded(child_last)} "),
        "matches_first_name": Q(sort_name__endswith=f" {names.folded(child_first)}"),
        "matches_parent_email": Exists(links.filter(by_email)) if by_email else Value(False),
    }
    score = sum(
        (Case(When(**{match: True}, then=Value(points)), default=Value(0)) for match, points, _ in _MATCHES),
        Value(0),
    )
    patients = (
        patients_with_portal_status(Patient.objects.filter(pk__in=ids))
        .annotate(proved_contact_id=Subquery(proved_contact) if by_proof else Value(None, IntegerField()))
        .annotate(**{match: ExpressionWrapper(matches[match], BooleanField()) for match, _, _ in _MATCHES})
        .annotate(score=score)
        .order_by("-score", "last_name", "first_name", "pk")
        .prefetch_related(
            Prefetch("contact_links", PatientContact.objects.select_related("contact").order_by("pk"))
        )[:limit]
    )
    candidates = [_candidate(patient, proofs) for patient in patients]
    if candidates and candidates[0].score >= STRONG_MATCH:
        candidates = [c for c in candidates if c.score >= STRONG_MATCH]
    contact_ids = {link.contact_id for c in candidates for link in c.patient.contact_links.all()}
    accounts = dict(
        PortalAccess.objects.filter(contact_id__in=contact_ids, account__disabled_at__isnull=True)
        .exclude(account_id=request.account_id)
        .values_list("contact_id", "account__user__email")
    )
    restrictions = restricted_contact_ids([c.patient.pk for c in candidates], timezone.localdate())
    for candidate in candidates:
        candidate.restricted = {
            link.contact_id: restriction.reason
            for link in candidate.patient.contact_links.all()
            if (restriction := restrictions.get((candidate.patient.pk, link.contact_id))) is not None
        }
        candidate.accounts_of_contacts = {
            link.contact_id: accounts[link.contact_id]
            for link in candidate.patient.contact_links.all()
            if link.contact_id in accounts and link.contact_id not in candidate.restricted
        }
    return candidates


def enrollment_code_wanted(account: PortalAccount) -> bool:
    """Whether to offer the account the sign-up code form: it has a waiting request, and no code it
    entered covers them all. Offered whether or not a code was sent, which is never said."""
    waiting = account.self_registrations.filter(status=SelfRegistrationRequest.Status.AWAITING)
    proved = EnrollmentCode.objects.filter(account=account, status=EnrollmentCode.Status.PROVED)
    return waiting.exclude(enrollment_codes__in=proved).exists()


def enrollment_code_proofs(request: SelfRegistrationRequest) -> list[EnrollmentCode]:
    """The codes sent to contacts on file that the parent entered, covering this request."""
    proved = request.enrollment_codes.filter(status=EnrollmentCode.Status.PROVED)
    return list(proved.select_related("contact").order_by("pk"))


_PROVED_BY = {
    EnrollmentCode.Channel.SMS: "proved by a code sent to the {who}'s phone on file",
    EnrollmentCode.Channel.EMAIL: "proved by a code sent to the {who}'s email on file",
}


def _candidate(patient: Patient, proofs: dict[int, EnrollmentCode]) -> Candidate:
    """The candidate as SQL scored it: the reasons are the matches its score counted."""
    reasons = []
    for match, _, reason in _MATCHES:
        if not getattr(patient, match):
            continue
        if match == "matches_proof":
            link = next(
                link for link in patient.contact_links.all() if link.contact_id == patient.proved_contact_id
            )
            who = link.get_relationship_display().lower()
            reason = _PROVED_BY[proofs[link.contact_id].channel].format(who=who)
        reasons.append(reason)
    return Candidate(
        patient=patient, score=patient.score, reasons=reasons, proved_contact_id=patient.proved_contact_id
    )
